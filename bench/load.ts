/**
 * Load generators: closed loop (autocannon), open loop at a fixed rate (evenly spaced sends, latency from
 * the scheduled send time), and single streamed requests timed to headers / first token / end.
 * Every loop is bounded in count and in time.
 */
import autocannon from "autocannon";
import { Pool } from "undici";
import { percentile } from "./report.js";

const JSON_HEADERS = { "content-type": "application/json" };
const now = (): bigint => process.hrtime.bigint();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const immediate = () => new Promise<void>((r) => setImmediate(r));

export function chatBody(stream: boolean): string {
  return JSON.stringify({
    model: "fake/gpt-4o-mini",
    messages: [{ role: "user", content: "hello" }],
    ...(stream ? { stream: true } : {}),
  });
}

export interface Outcome {
  ok: number;
  non2xx: number;
  errors: number;
  /** Status code → count, non-2xx only. */
  statuses: Record<string, number>;
}

export interface ClosedLoopResult extends Outcome {
  connections: number;
  seconds: number;
  reqPerSec: number;
  /** ms, 2xx responses only, from autocannon's per-request hrtime (not its 1 ms histogram). */
  p50: number;
  p99: number;
}

function runAutocannon(
  opts: autocannon.Options,
  onResponse?: (status: number, ms: number) => void,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)));
    if (onResponse) instance.on("response", (_client, status, _bytes, ms) => onResponse(status, ms));
    // Bounded in time even with `amount` (then `duration` is only this guard's hint): 2× + 5 s, at most 90 s.
    const guard = setTimeout(
      () => instance.stop(),
      Math.min(90_000, Number(opts.duration ?? 30) * 2000 + 5000),
    );
    instance.once("done", () => clearTimeout(guard));
  });
}

/** Closed loop: `connections` clients, each sending its next request when the previous one ends. */
export async function closedLoop(o: {
  url: string;
  body: string;
  connections: number;
  seconds?: number;
  amount?: number;
  warmupSeconds?: number;
}): Promise<ClosedLoopResult> {
  const base: autocannon.Options = {
    url: o.url,
    method: "POST",
    headers: JSON_HEADERS,
    body: o.body,
    connections: o.connections,
    pipelining: 1,
    timeout: 10,
  };
  if (o.warmupSeconds) await runAutocannon({ ...base, duration: o.warmupSeconds });
  const latencies: number[] = [];
  const result = await runAutocannon(
    o.amount ? { ...base, amount: o.amount, duration: 12 } : { ...base, duration: o.seconds ?? 5 },
    (status, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    },
  );
  const sorted = Float64Array.from(latencies).sort();
  const statuses: Record<string, number> = {};
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {})) {
    if (!code.startsWith("2")) statuses[code] = s.count ?? 0;
  }
  return {
    connections: o.connections,
    seconds: result.duration,
    reqPerSec: result["2xx"] / result.duration,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    ok: result["2xx"],
    non2xx: result.non2xx,
    errors: result.errors,
    statuses,
  };
}

export interface OpenLoopResult extends Outcome {
  rate: number;
  sent: number;
  /** ms from each request's scheduled send time to the end of its response body (2xx only). */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** How late sends left vs their schedule (ms): the sender's own jitter. */
  lagP50: number;
  lagP99: number;
}

/** Waits until `t` (hrtime ns): timers while far away, then yielding spins (I/O still runs). */
async function waitUntil(t: bigint): Promise<void> {
  for (;;) {
    const left = t - now();
    if (left <= 0n) return;
    if (left > 1_300_000n) await sleep(1);
    else await immediate();
  }
}

/** Open loop: `rate` requests/s evenly spaced for `seconds`, on a keep-alive undici Pool. */
export async function openLoop(o: {
  origin: string;
  path: string;
  body: string;
  rate: number;
  seconds: number;
  connections?: number;
}): Promise<OpenLoopResult> {
  const pool = new Pool(o.origin, {
    connections: o.connections ?? 64,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const total = Math.max(1, Math.round(o.rate * o.seconds));
  const interval = BigInt(Math.round(1e9 / o.rate));
  const latencyUs = new Float64Array(total).fill(Number.NaN);
  const lagUs = new Float64Array(total);
  const out: Outcome = { ok: 0, non2xx: 0, errors: 0, statuses: {} };
  let finished = 0;
  let abandoned = false;
  let allDone: () => void = () => {};
  const done = new Promise<void>((r) => {
    allDone = r;
  });
  const settle = () => {
    if (++finished === total) allDone();
  };

  const start = now() + 2_000_000n;
  for (let i = 0; i < total; i++) {
    const scheduled = start + BigInt(i) * interval;
    await waitUntil(scheduled);
    lagUs[i] = Number(now() - scheduled) / 1000;
    pool
      .request({ path: o.path, method: "POST", headers: JSON_HEADERS, body: o.body })
      .then(async (res) => {
        await res.body.text();
        if (abandoned) return;
        if (res.statusCode >= 200 && res.statusCode < 300) {
          out.ok++;
          latencyUs[i] = Number(now() - scheduled) / 1000;
        } else {
          out.non2xx++;
          out.statuses[res.statusCode] = (out.statuses[res.statusCode] ?? 0) + 1;
        }
      })
      .catch(() => {
        if (!abandoned) out.errors++;
      })
      .finally(settle);
  }
  const timedOut = await Promise.race([done.then(() => false), sleep(15_000).then(() => true)]);
  // Requests still unanswered 15 s after the last send count as errors.
  const unfinished = total - finished;
  abandoned = true;
  if (timedOut) await pool.destroy();
  else await pool.close();
  const ok = latencyUs.filter((v) => !Number.isNaN(v)).sort();
  const lag = lagUs.sort();
  return {
    rate: o.rate,
    sent: total,
    p50: percentile(ok, 50) / 1000,
    p90: percentile(ok, 90) / 1000,
    p99: percentile(ok, 99) / 1000,
    max: (ok.length ? ok[ok.length - 1]! : Number.NaN) / 1000,
    lagP50: percentile(lag, 50) / 1000,
    lagP99: percentile(lag, 99) / 1000,
    ...out,
    errors: out.errors + unfinished,
  };
}

export interface StreamSample {
  status: number;
  /** ms from send to response headers, to the first `data:` frame with delta content, to the end. */
  headers: number;
  firstToken: number;
  total: number;
}

function hasContent(frame: string): boolean {
  for (const line of frame.split("\n")) {
    if (!line.startsWith("data:")) continue;
    const data = line.slice(5).trim();
    if (data === "[DONE]") return false;
    try {
      const content = (JSON.parse(data) as { choices?: Array<{ delta?: { content?: unknown } }> })
        .choices?.[0]?.delta?.content;
      return typeof content === "string" && content.length > 0;
    } catch {
      return false;
    }
  }
  return false;
}

/** One streamed chat completion, timed. */
export async function streamOnce(pool: Pool, path: string, body: string): Promise<StreamSample> {
  const t0 = now();
  const ms = () => Number(now() - t0) / 1e6;
  const res = await pool.request({ path, method: "POST", headers: JSON_HEADERS, body });
  const headers = ms();
  let firstToken = Number.NaN;
  let buf = "";
  for await (const chunk of res.body) {
    if (!Number.isNaN(firstToken)) continue;
    buf += (chunk as Buffer).toString("utf8").replaceAll("\r\n", "\n");
    for (let end = buf.indexOf("\n\n"); end >= 0; end = buf.indexOf("\n\n")) {
      const frame = buf.slice(0, end);
      buf = buf.slice(end + 2);
      if (hasContent(frame)) {
        firstToken = ms();
        break;
      }
    }
  }
  return { status: res.statusCode, headers, firstToken, total: ms() };
}

/** One non-streamed request: status and body, for the pre-flight check. */
export async function postOnce(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    headers: JSON_HEADERS,
    body,
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, text: await res.text() };
}
