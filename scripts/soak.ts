/**
 * Soak: minutes of mixed traffic through a real gateway process, then the books are checked.
 *
 *   npm run soak                       2 minutes
 *   npm run soak -- --seconds 60       any length (10 to 3600 s)
 *
 * The fake upstream and the gateway run as child processes on 127.0.0.1; nothing else is contacted.
 * Traffic: plain and streamed chat, Anthropic messages translated to the fake, streams the client
 * aborts, upstream failures (mock/error-503, a provider nobody listens on), bad JSON, unknown models.
 * Fails (exit 1) unless usage rows = requests sent, every status is the one its kind expects, and the
 * gateway's RSS after warm-up stays flat. Prints a table of figures either way.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { freePort, installCleanup, memoryMB, prepareCli, startFakeUpstream } from "../bench/procs.js";
import { median, percentile } from "../bench/report.js";
import { openDb } from "../src/store/db.js";
import { createUsageLog } from "../src/store/usage-log.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "120" },
    concurrency: { type: "string", default: "6" },
    rate: { type: "string", default: "60" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write("usage: tsx scripts/soak.ts [--seconds 120] [--concurrency 6] [--rate 60 (req/s)]\n");
  process.exit(0);
}
const bounded = (name: string, value: string, min: number, max: number): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name}: expected a whole number from ${min} to ${max}, got "${value}"\n`);
    process.exit(2);
  }
  return n;
};
const SECONDS = bounded("seconds", args.seconds, 10, 3600);
const CONCURRENCY = bounded("concurrency", args.concurrency, 1, 64);
const RATE = bounded("rate", args.rate, 1, 2000);
const REQUEST_TIMEOUT_MS = 15_000;
/** RSS may grow this much from the early to the late part of the run (MB, or a share of early). */
const RSS_TOLERANCE_MB = 16;
const RSS_TOLERANCE_SHARE = 0.15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------- processes

installCleanup();
const cli = prepareCli();
const fake = await startFakeUpstream();
const dir = mkdtempSync(join(tmpdir(), "aigw-soak-"));
const deadPort = await freePort(); // nothing listens there: connection refused, an upstream failure
writeFileSync(
  join(dir, "soak.yaml"),
  `providers:\n` +
    `  fake: { type: openai-compatible, base_url: ${fake.url}/v1 }\n` +
    `  dead: { type: openai-compatible, base_url: "http://127.0.0.1:${deadPort}/v1" }\n` +
    `cache: { enabled: false }\n`,
);
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const home = join(dir, "home");
const gateway: ChildProcess = spawn(
  process.execPath,
  [cli, "start", "--port", String(port), "--config", join(dir, "soak.yaml"), "--home", home],
  { cwd: dir, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "ignore", "pipe"] },
);
let gatewayErr = "";
gateway.stderr?.on("data", (d: Buffer) => {
  gatewayErr = (gatewayErr + d.toString("utf8")).slice(-4000);
});
const gatewayExit = new Promise<number | null>((r) => gateway.once("exit", (code) => r(code)));
process.on("exit", () => {
  if (gateway.exitCode === null) gateway.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});
for (let i = 0; ; i++) {
  if (gateway.exitCode !== null) throw new Error(`aigw exited (${gateway.exitCode})\n${gatewayErr}`);
  const ok = await fetch(`${url}/aigw/health`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (i > 300) throw new Error(`aigw did not answer /aigw/health in 15 s\n${gatewayErr}`);
  await sleep(50);
}

// ---------------------------------------------------------------------------------- traffic

interface Kind {
  name: string;
  weight: number;
  /** The statuses this kind may get; anything else is a failure of the run. */
  expect: number[];
  send(signal: AbortSignal): Promise<number>;
}

const chat = (model: string, stream: boolean) =>
  JSON.stringify({ model, stream, messages: [{ role: "user", content: `soak ${Math.random()}` }] });
const post = (path: string, body: string, signal: AbortSignal) =>
  fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body, signal });
/** Reads the whole body, as a client does; a stream that ends without its last frame is a failure. */
const drained = async (res: Response, last?: string) => {
  const text = await res.text();
  if (res.ok && last && !text.includes(last)) throw new Error(`stream ended without ${last}`);
  return res.status;
};

const KINDS: Kind[] = [
  {
    name: "chat",
    weight: 30,
    expect: [200],
    send: async (s) => drained(await post("/v1/chat/completions", chat("fake/gpt-4o-mini", false), s)),
  },
  {
    name: "chat stream",
    weight: 25,
    expect: [200],
    send: async (s) =>
      drained(await post("/v1/chat/completions", chat("fake/gpt-4o-mini", true), s), "data: [DONE]"),
  },
  {
    name: "messages stream",
    weight: 10,
    expect: [200],
    send: async (s) => {
      const body = JSON.stringify({ ...JSON.parse(chat("fake/gpt-4o-mini", true)), max_tokens: 64 });
      return drained(await post("/v1/messages", body, s), "event: message_stop");
    },
  },
  {
    name: "aborted stream",
    weight: 10,
    expect: [200],
    send: async (s) => {
      const own = new AbortController();
      const res = await post(
        "/v1/chat/completions",
        chat("fake/gpt-4o-mini", true),
        AbortSignal.any([s, own.signal]),
      );
      // Gone after the first chunk: the gateway must still write the row and free the upstream call.
      const reader = res.body!.getReader();
      await reader.read();
      own.abort();
      await reader.cancel().catch(() => {});
      return res.status;
    },
  },
  {
    name: "upstream 503",
    weight: 8,
    expect: [502],
    send: async (s) => drained(await post("/v1/chat/completions", chat("mock/error-503", false), s)),
  },
  {
    name: "upstream down",
    weight: 5,
    expect: [502],
    send: async (s) => drained(await post("/v1/chat/completions", chat("dead/gpt-4o-mini", false), s)),
  },
  {
    name: "bad json",
    weight: 6,
    expect: [400],
    send: async (s) => drained(await post("/v1/messages", '{"model": "fake/x", "messages": [', s)),
  },
  {
    name: "unknown model",
    weight: 6,
    expect: [404],
    send: async (s) => drained(await post("/v1/chat/completions", chat("nobody/none", false), s)),
  },
];
const totalWeight = KINDS.reduce((sum, k) => sum + k.weight, 0);
const pick = (): Kind => {
  let r = Math.random() * totalWeight;
  for (const k of KINDS) {
    r -= k.weight;
    if (r < 0) return k;
  }
  return KINDS[0]!;
};

interface Tally {
  sent: number;
  statuses: Map<number | string, number>;
  unexpected: number;
  latencies: number[];
}
const tallies = new Map<string, Tally>(
  KINDS.map((k) => [k.name, { sent: 0, statuses: new Map(), unexpected: 0, latencies: [] }]),
);
const rss: { at: number; mb: number }[] = [];
const t0 = Date.now();
const end = t0 + SECONDS * 1000;
const gapMs = (1000 * CONCURRENCY) / RATE;

async function worker(): Promise<void> {
  while (Date.now() < end) {
    const kind = pick();
    const tally = tallies.get(kind.name)!;
    const started = performance.now();
    let outcome: number | string;
    tally.sent++;
    try {
      outcome = await kind.send(AbortSignal.timeout(REQUEST_TIMEOUT_MS));
    } catch (err) {
      outcome = err instanceof Error ? err.name : "error";
    }
    const ms = performance.now() - started;
    tally.latencies.push(ms);
    tally.statuses.set(outcome, (tally.statuses.get(outcome) ?? 0) + 1);
    if (typeof outcome !== "number" || !kind.expect.includes(outcome)) tally.unexpected++;
    await sleep(Math.max(0, gapMs - ms));
  }
}

const sampler = setInterval(() => {
  if (gateway.pid) rss.push({ at: Date.now() - t0, mb: memoryMB(gateway.pid).current });
}, 1000);
const progress = setInterval(() => {
  const sent = [...tallies.values()].reduce((s, t) => s + t.sent, 0);
  const last = rss.at(-1)?.mb.toFixed(1) ?? "?";
  process.stderr.write(
    `  ${Math.round((Date.now() - t0) / 1000)}s: ${sent} requests, gateway RSS ${last} MB\n`,
  );
}, 15_000);
process.stderr.write(
  `soak: ${SECONDS}s, ${CONCURRENCY} clients, ~${RATE} req/s, gateway pid ${gateway.pid} at ${url}\n`,
);
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
clearInterval(sampler);
clearInterval(progress);

// ------------------------------------------------------------------------------ the books

// Graceful stop: in-flight rows land, then the log is read from the file, as `aigw stats` would.
gateway.kill("SIGTERM");
const code = await Promise.race([gatewayExit, sleep(15_000).then(() => "timeout" as const)]);
await fake.stop();
const db = openDb(join(home, "aigw.db"));
const rows = createUsageLog(db).count();
db.close();

const sent = [...tallies.values()].reduce((s, t) => s + t.sent, 0);
const unexpected = [...tallies.values()].reduce((s, t) => s + t.unexpected, 0);
const warm = SECONDS * 1000 * 0.25;
const window = (from: number, to: number) =>
  median(rss.filter((s) => s.at >= from * SECONDS * 1000 && s.at < to * SECONDS * 1000).map((s) => s.mb));
const early = window(0.25, 0.5);
const late = window(0.75, 1.01);
const peak = Math.max(...rss.map((s) => s.mb));
const allowed = Math.max(RSS_TOLERANCE_MB, early * RSS_TOLERANCE_SHARE);
const checks = [
  { name: "usage rows = requests sent", ok: rows === sent, detail: `${rows} rows, ${sent} sent` },
  { name: "no unexpected status", ok: unexpected === 0, detail: `${unexpected} unexpected` },
  {
    name: "RSS flat after warm-up",
    ok: late - early <= allowed,
    detail: `${early.toFixed(1)} → ${late.toFixed(1)} MB (allowed +${allowed.toFixed(1)})`,
  },
  { name: "gateway stopped cleanly", ok: code === 0, detail: `exit ${code}` },
];

const pad = (s: string | number, n: number) => String(s).padEnd(n);
const lines = [
  "",
  `${pad("kind", 16)}${pad("sent", 8)}${pad("p50 ms", 9)}${pad("p99 ms", 9)}statuses`,
  ...KINDS.map((k) => {
    const t = tallies.get(k.name)!;
    const sorted = Float64Array.from(t.latencies).sort();
    const statuses = [...t.statuses].map(([s, n]) => `${s}×${n}`).join(" ");
    return `${pad(k.name, 16)}${pad(t.sent, 8)}${pad(percentile(sorted, 50).toFixed(1), 9)}${pad(percentile(sorted, 99).toFixed(1), 9)}${statuses}${t.unexpected ? `  (${t.unexpected} unexpected)` : ""}`;
  }),
  "",
  `duration ${SECONDS}s · ${sent} requests · ${(sent / SECONDS).toFixed(1)} req/s · warm-up ${(warm / 1000).toFixed(0)}s`,
  `gateway RSS: early ${early.toFixed(1)} MB · late ${late.toFixed(1)} MB · peak ${peak.toFixed(1)} MB · ${rss.length} samples`,
  "",
  ...checks.map((c) => `${c.ok ? "✓" : "✗"} ${pad(c.name, 28)}${c.detail}`),
  "",
];
process.stdout.write(lines.join("\n"));
if (code !== 0 && gatewayErr) process.stderr.write(`gateway stderr:\n${gatewayErr}\n`);
process.exit(checks.every((c) => c.ok) ? 0 : 1);
