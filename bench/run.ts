/**
 * aigw benchmark: direct-to-upstream vs through aigw, against the fake upstream in its own process.
 *
 *   npm run bench                      full run (~1.5 min)
 *   npx tsx bench/run.ts --quick       ~1 s phases, a smoke run
 *   npx tsx bench/run.ts --only cpu    one phase (or a comma list): chat, rate, stream, cpu, rss, startup
 *
 * Uses dist/ (via bin/aigw; AIGW_BENCH_CLI=path/to/cli.js picks another build). Prints a table and writes
 * bench/results/latest.json. Only 127.0.0.1 is contacted; every child process is killed on exit.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import {
  type ClosedLoopResult,
  chatBody,
  closedLoop,
  openLoop,
  postOnce,
  type StreamSample,
  streamOnce,
} from "./load.js";
import {
  cpuMicros,
  cpuTimes,
  type GatewayProc,
  installCleanup,
  machineCpu,
  memoryMB,
  prepareCli,
  startFakeUpstream,
  startGateway,
  startReferenceProxy,
} from "./procs.js";
import { fmt, median } from "./report.js";
import { PHASES, type Phase, RATE, type Results, report, type StreamStats } from "./summary.js";
import { generateUsageLog } from "./usage-log-gen.js";

const CONNECTIONS = [1, 16, 64];
const PATH = "/v1/chat/completions";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});
if (args.help) {
  process.stdout.write(`usage: tsx bench/run.ts [--quick] [--only ${PHASES.join(",")}]\n`);
  process.exit(0);
}
const selected = (args.only?.split(",").map((s) => s.trim()) ?? [...PHASES]) as Phase[];
for (const p of selected) {
  if (!PHASES.includes(p)) {
    process.stderr.write(`--only: unknown phase "${p}" (one of ${PHASES.join(", ")})\n`);
    process.exit(2);
  }
}
const run = (p: Phase) => selected.includes(p);
const S = args.quick
  ? { chatSeconds: 1, warmup: 0.5, rateSeconds: 1, streamN: 30, cpuAmount: 2000, launches: 3 }
  : { chatSeconds: 5, warmup: 1, rateSeconds: 5, streamN: 200, cpuAmount: 20_000, launches: 5 };

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const failures = (r: { non2xx: number; errors: number }) => r.non2xx + r.errors;

const results: Results = {
  startedAt: new Date().toISOString(),
  quick: args.quick ?? false,
  phases: selected,
  node: process.version,
  cpus: os.cpus().length,
  loadavg: { start: os.loadavg() },
  cli: "",
};

async function streamPhase(direct: string, aigw: string): Promise<NonNullable<typeof results.stream>> {
  const body = chatBody(true);
  const pools = [new Pool(direct, { connections: 1 }), new Pool(aigw, { connections: 1 })] as const;
  const samples: [StreamSample[], StreamSample[]] = [[], []];
  const errors = [0, 0];
  const deadline = Date.now() + 60_000;
  try {
    for (let i = -10; i < S.streamN && Date.now() < deadline; i++) {
      for (const side of [0, 1] as const) {
        try {
          const s = await streamOnce(pools[side], PATH, body);
          if (i >= 0) samples[side].push(s); // the first 10 are warm-up
        } catch {
          errors[side]!++;
        }
      }
    }
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
  const stats = (side: 0 | 1): StreamStats => {
    const ok = samples[side].filter((s) => s.status === 200);
    return {
      headers: median(ok.map((s) => s.headers)),
      firstToken: median(ok.map((s) => s.firstToken)),
      total: median(ok.map((s) => s.total)),
      non200: samples[side].length - ok.length,
      errors: errors[side]!,
    };
  };
  return { requests: samples[1].length, direct: stats(0), aigw: stats(1) };
}

async function main(): Promise<void> {
  installCleanup();
  const t0 = Date.now();
  const box0 = machineCpu();
  if (results.loadavg.start[0]! > 0.5)
    log(
      `note: load average ${results.loadavg.start.map((l) => l.toFixed(2)).join(" ")}: other work is running`,
    );
  results.cli = prepareCli();
  log(`aigw: ${process.env.AIGW_BENCH_CLI ? results.cli : `snapshot of bin/ + dist/ in ${results.cli}`}`);
  const upstream = await startFakeUpstream();
  log(`fake upstream ${upstream.url} (pid ${upstream.pid})`);
  const direct = upstream.url;

  if (run("startup")) {
    const healthy: number[] = [];
    const banner: number[] = [];
    for (let i = 0; i < S.launches; i++) {
      const gw = await startGateway(upstream.url);
      healthy.push(gw.healthyMs);
      banner.push(gw.bannerMs);
      await gw.stop();
      log(`startup #${i + 1}: healthy ${fmt(gw.healthyMs, 1)} ms, banner ${fmt(gw.bannerMs, 1)} ms`);
    }
    results.startup = {
      launches: S.launches,
      healthyMs: healthy,
      bannerMs: banner,
      medianHealthyMs: median(healthy),
      medianBannerMs: median(banner),
    };
  }

  if (run("stats")) {
    const home = mkdtempSync(join(os.tmpdir(), "aigw-bench-stats-"));
    try {
      const rows = args.quick ? 100_000 : 1_000_000;
      let t = performance.now();
      generateUsageLog(home, rows);
      const generateMs = performance.now() - t;
      const stats = () => {
        const t0 = performance.now();
        execFileSync(process.execPath, [results.cli, "stats", "--since", "31d", "--home", home], {
          stdio: "ignore",
        });
        return performance.now() - t0;
      };
      t = performance.now();
      const firstMs = stats();
      const warmMs = [stats(), stats(), stats()];
      results.stats = { rows, generateMs, firstMs, warmMs, medianWarmMs: median(warmMs) };
      log(
        `stats: ${rows} rows generated in ${fmt(generateMs, 0)} ms; first ${fmt(firstMs, 0)} ms, then ${warmMs.map((m) => fmt(m, 0)).join(", ")} ms`,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }

  if (run("chat") || run("rate") || run("stream") || run("cpu")) {
    const gw: GatewayProc = await startGateway(upstream.url);
    log(`aigw ${gw.url} (pid ${gw.pid}), healthy after ${fmt(gw.healthyMs, 1)} ms`);
    try {
      const [d, a] = [
        await postOnce(direct + PATH, chatBody(false)),
        await postOnce(gw.url + PATH, chatBody(false)),
      ];
      results.preflight = { direct: d.status, aigw: a.status };
      if (a.status !== 200) {
        results.preflight.aigwBody = a.text.slice(0, 500);
        log(`WARNING: aigw answered ${a.status} to a plain chat request: ${a.text.slice(0, 300)}`);
      }
      if (d.status !== 200) log(`WARNING: the fake upstream answered ${d.status}: ${d.text.slice(0, 300)}`);

      if (run("chat")) {
        results.chat = [];
        for (const connections of CONNECTIONS) {
          const opts = {
            body: chatBody(false),
            connections,
            seconds: S.chatSeconds,
            warmupSeconds: S.warmup,
          };
          const rd = await closedLoop({ url: direct + PATH, ...opts });
          const ra = await closedLoop({ url: gw.url + PATH, ...opts });
          results.chat.push({ connections, direct: rd, aigw: ra });
          for (const [name, r] of [
            ["direct", rd],
            ["aigw", ra],
          ] as const)
            log(
              `chat c=${connections} ${name}: ${fmt(r.reqPerSec, 0)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms` +
                (failures(r)
                  ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors`
                  : ""),
            );
        }
      }

      if (run("rate")) {
        const opts = { path: PATH, body: chatBody(false), rate: RATE };
        await openLoop({ origin: direct, ...opts, seconds: S.warmup });
        const rd = await openLoop({ origin: direct, ...opts, seconds: S.rateSeconds });
        await openLoop({ origin: gw.url, ...opts, seconds: S.warmup });
        const cpu0 = cpuMicros(gw.pid);
        const ra = await openLoop({ origin: gw.url, ...opts, seconds: S.rateSeconds });
        const aigwCpuUsPerRequest = (cpuMicros(gw.pid) - cpu0) / ra.sent;
        results.rate = { direct: rd, aigw: ra, aigwCpuUsPerRequest };
        for (const [name, r] of [
          ["direct", rd],
          ["aigw", ra],
        ] as const)
          log(
            `${RATE} req/s ${name}: p50 ${fmt(r.p50)} p90 ${fmt(r.p90)} p99 ${fmt(r.p99)} max ${fmt(r.max)} ms ` +
              `(send lag p99 ${fmt(r.lagP99)} ms; ${r.ok} ok, ${r.non2xx} non-2xx, ${r.errors} errors)`,
          );
      }

      if (run("stream")) {
        results.stream = await streamPhase(direct, gw.url);
        const { direct: sd, aigw: sa } = results.stream;
        log(
          `stream direct: headers ${fmt(sd.headers)} first token ${fmt(sd.firstToken)} total ${fmt(sd.total)} ms; ` +
            `aigw: ${fmt(sa.headers)} / ${fmt(sa.firstToken)} / ${fmt(sa.total)} ms` +
            (sa.non200 + sa.errors ? ` (${sa.non200} non-200, ${sa.errors} errors)` : ""),
        );
      }

      if (run("cpu")) {
        // Warm (JIT, pools) first, so that `--only cpu` measures the same steady state as a full run.
        await closedLoop({ url: gw.url + PATH, body: chatBody(false), connections: 16, seconds: S.warmup });
        const [gw0, up0] = [cpuTimes(gw.pid), cpuMicros(upstream.pid)];
        const r = await closedLoop({
          url: gw.url + PATH,
          body: chatBody(false),
          connections: 16,
          amount: S.cpuAmount,
        });
        const n = r.ok + r.non2xx;
        const gw1 = cpuTimes(gw.pid);
        results.cpu = {
          requests: n,
          connections: 16,
          aigwUsPerRequest: (gw1.user + gw1.system - gw0.user - gw0.system) / n,
          aigwSystemUsPerRequest: (gw1.system - gw0.system) / n,
          upstreamUsPerRequest: (cpuMicros(upstream.pid) - up0) / n,
        };
        // The same load through the minimal Hono + undici proxy: what this box charges any proxy.
        const ref = await startReferenceProxy(upstream.url);
        try {
          await closedLoop({
            url: ref.url + PATH,
            body: chatBody(false),
            connections: 16,
            seconds: S.warmup,
          });
          const ref0 = cpuMicros(ref.pid);
          const rr = await closedLoop({
            url: ref.url + PATH,
            body: chatBody(false),
            connections: 16,
            amount: S.cpuAmount,
          });
          results.cpu.referenceUsPerRequest = (cpuMicros(ref.pid) - ref0) / (rr.ok + rr.non2xx);
        } finally {
          await ref.stop();
        }
        log(
          `cpu: ${n} requests at c=16: aigw ${fmt(results.cpu.aigwUsPerRequest, 0)} µs/request, ` +
            `minimal Hono+undici proxy ${fmt(results.cpu.referenceUsPerRequest ?? 0, 0)} µs/request ` +
            `(fake upstream ${fmt(results.cpu.upstreamUsPerRequest, 0)} µs/request)` +
            (failures(r) ? `, ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors` : ""),
        );
      }
    } finally {
      await gw.stop();
    }
  }

  // CPU per request of a gateway under a fixed closed-loop load (after a warm-up).
  const cpuUnderLoad = async (
    gw: GatewayProc,
    body: string,
    warmupSeconds = S.warmup,
  ): Promise<{ load: ClosedLoopResult; us: number }> => {
    await closedLoop({ url: gw.url + PATH, body, connections: 16, seconds: warmupSeconds });
    const t0 = cpuTimes(gw.pid);
    const load = await closedLoop({ url: gw.url + PATH, body, connections: 16, seconds: S.chatSeconds });
    const t1 = cpuTimes(gw.pid);
    const n = load.ok + load.non2xx;
    return { load, us: n ? (t1.user + t1.system - t0.user - t0.system) / n : Number.NaN };
  };

  if (run("cache")) {
    const cached = await startGateway(upstream.url, { cache: true });
    const plain = await startGateway(upstream.url);
    try {
      const hit = await cpuUnderLoad(cached, chatBody(false));
      const miss = await cpuUnderLoad(plain, chatBody(false));
      results.cache = { hit: hit.load, miss: miss.load, hitCpuUs: hit.us, missCpuUs: miss.us };
      log(
        `cache: hit ${fmt(hit.load.reqPerSec, 0)} req/s p50 ${fmt(hit.load.p50)} ms ${fmt(hit.us, 0)} µs/req; miss ${fmt(miss.load.reqPerSec, 0)} req/s p50 ${fmt(miss.load.p50)} ms ${fmt(miss.us, 0)} µs/req`,
      );
    } finally {
      await Promise.all([cached.stop(), plain.stop()]);
    }
  }

  if (run("limiter")) {
    // Limits far above the load: every request goes through the limiter, none ever waits.
    const limited = await startGateway(upstream.url, {
      limits: "{ rpm: 100000000, tpm: 1000000000, concurrency: 10000 }",
    });
    const plain = await startGateway(upstream.url);
    try {
      const a = await cpuUnderLoad(plain, chatBody(false));
      // A tpm limit loads the tokenizer (a 2.7 MB module) after start: let that settle first.
      const b = await cpuUnderLoad(limited, chatBody(false), Math.max(3, S.warmup));
      results.limiter = { unlimitedUs: a.us, limitedUs: b.us };
      log(
        `limiter: ${fmt(a.us, 0)} µs/req without limits, ${fmt(b.us, 0)} µs/req with limits that never bind`,
      );
    } finally {
      await Promise.all([limited.stop(), plain.stop()]);
    }
  }

  if (run("rss")) {
    const gw = await startGateway(upstream.url);
    try {
      const cpu0 = cpuMicros(gw.pid);
      const load = await openLoop({
        origin: gw.url,
        path: PATH,
        body: chatBody(false),
        rate: RATE,
        seconds: S.rateSeconds,
      });
      const mem = memoryMB(gw.pid);
      const cpuUsPerRequest = (cpuMicros(gw.pid) - cpu0) / load.sent;
      results.rss = {
        seconds: S.rateSeconds,
        peakMB: mem.peak,
        currentMB: mem.current,
        load,
        cpuUsPerRequest,
      };
      log(
        `rss (fresh aigw, ${RATE} req/s for ${S.rateSeconds} s): peak ${fmt(mem.peak, 1)} MB, now ${fmt(mem.current, 1)} MB`,
      );
    } finally {
      await gw.stop();
    }
  }
  await upstream.stop();
  results.loadavg.end = os.loadavg();
  const box1 = machineCpu();
  const total = box1.busy + box1.idle + box1.steal - (box0.busy + box0.idle + box0.steal);
  results.machine = {
    busyPct: ((box1.busy - box0.busy) / total) * 100,
    stealPct: ((box1.steal - box0.steal) / total) * 100,
  };
  results.seconds = (Date.now() - t0) / 1000;
  report(results);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
