/**
 * aigw benchmark: the same load direct to the fake upstream, through the framework-free yardstick
 * (node:http + undici), through the minimal Hono + undici proxy, and through aigw, in one run.
 *
 *   npm run bench                      full run (about 3 min)
 *   npx tsx bench/run.ts --quick       ~1 s phases, a smoke run (about 1 min)
 *   npx tsx bench/run.ts --only closed,rate   some phases: closed, rate, stream, memory, startup, cache, limiter, shared, stats
 *
 * Every server runs with bench/hook.mjs preloaded, which reports its own CPU time and event-loop delay
 * over IPC. Uses dist/ (via bin/aigw; AIGW_BENCH_CLI=path/to/cli.js picks another build). Prints a table
 * and writes bench/results/latest.json. Only 127.0.0.1 is contacted; every child is killed on exit.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { startRedis } from "../test/services.js";
import { chatBody, closedLoop, openLoop, type StreamSample, streamOnce } from "./load.js";
import {
  cpuMicros,
  gatewayDir,
  installCleanup,
  machineCpu,
  memoryMB,
  prepareCli,
  prepareYardsticks,
  type ServerKind,
  type ServerProc,
  startFakeUpstream,
  startGateway,
  startYardstick,
} from "./procs.js";
import { fmt, median } from "./report.js";
import {
  type Closed,
  type Cost,
  type Open,
  PHASES,
  type Phase,
  RATE,
  type Results,
  report,
  SERVERS,
  type Side,
  type StreamStats,
} from "./summary.js";
import { generateUsageLog } from "./usage-log-gen.js";

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
  ? {
      rounds: 1,
      c1Seconds: 1,
      c16Seconds: 1,
      warmup: 0.5,
      rateSeconds: 1,
      streamN: 30,
      launches: 3,
      idleMs: 1000,
      statsRows: 100_000,
    }
  : {
      rounds: 3,
      c1Seconds: 2,
      c16Seconds: 3,
      warmup: 1,
      rateSeconds: 4,
      streamN: 150,
      launches: 5,
      idleMs: 2000,
      statsRows: 1_000_000,
    };

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const results: Results = {
  startedAt: new Date().toISOString(),
  quick: args.quick ?? false,
  phases: selected,
  node: process.version,
  cpus: os.cpus().length,
  loadavg: { start: os.loadavg() },
  cli: "",
};

/** Runs `load` against a server and adds what it cost the server (CPU per answered request, loop delay). */
async function costed<T extends { ok: number; non2xx: number }>(
  server: ServerProc | undefined,
  load: () => Promise<T>,
): Promise<T & Partial<Cost>> {
  if (!server) return load();
  const before = await server.probe(true);
  const r = await load();
  const after = await server.probe(true);
  const n = r.ok + r.non2xx;
  return { ...r, cpuUs: n ? (after.cpuUs - before.cpuUs) / n : Number.NaN, loop: after.loop };
}

/** Median of each numeric field over rounds (other fields from the last round). */
function medianOf<T extends object>(rounds: T[]): T {
  const last = { ...rounds[rounds.length - 1]! } as Record<string, unknown>;
  for (const key of Object.keys(last)) {
    if (typeof last[key] === "number")
      last[key] = median(rounds.map((r) => (r as Record<string, number>)[key]!));
  }
  const loops = rounds.map((r) => (r as { loop?: Cost["loop"] }).loop).filter((l) => l !== undefined);
  if (loops.length)
    last.loop = {
      p50: median(loops.map((l) => l.p50)),
      p99: median(loops.map((l) => l.p99)),
      max: Math.max(...loops.map((l) => l.max)),
    };
  return last as T;
}

async function closedPhase(
  origin: Record<Side, string>,
  servers: Partial<Record<ServerKind, ServerProc>>,
): Promise<void> {
  const body = chatBody(false);
  const sides: Side[] = ["direct", "bare", "hono", "aigw"];
  for (const side of sides)
    await closedLoop({ url: origin[side] + PATH, body, connections: 16, seconds: S.warmup });
  const acc: Record<"c1" | "c16", Record<Side, Closed[]>> = {
    c1: { direct: [], bare: [], hono: [], aigw: [] },
    c16: { direct: [], bare: [], hono: [], aigw: [] },
  };
  for (let round = 0; round < S.rounds; round++) {
    // Rotate the order each round, so no side always runs first (or last) in a noisy minute.
    const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
    for (const side of order) {
      const server = side === "direct" ? undefined : servers[side];
      for (const [key, connections, seconds] of [
        ["c1", 1, S.c1Seconds],
        ["c16", 16, S.c16Seconds],
      ] as const) {
        const r = await costed(server, () =>
          closedLoop({ url: origin[side] + PATH, body, connections, seconds }),
        );
        acc[key][side].push(r);
        log(
          `closed ${key} ${side}: ${fmt(r.reqPerSec, 0)} req/s, p50 ${fmt(r.p50)} ms` +
            (r.cpuUs ? `, ${fmt(r.cpuUs, 0)} µs/req` : ""),
        );
      }
    }
  }
  const pick = (key: "c1" | "c16") =>
    Object.fromEntries(sides.map((s) => [s, medianOf(acc[key][s])])) as Record<Side, Closed>;
  results.closed = { c1: pick("c1"), c16: pick("c16"), rounds: S.rounds };
}

async function ratePhase(
  origin: Record<Side, string>,
  servers: Partial<Record<ServerKind, ServerProc>>,
): Promise<void> {
  const opts = { path: PATH, body: chatBody(false), rate: RATE };
  const out: Partial<Record<Side, Open>> = {};
  for (const side of ["direct", "bare", "hono", "aigw"] as const) {
    await openLoop({ origin: origin[side], ...opts, seconds: S.warmup });
    const server = side === "direct" ? undefined : servers[side];
    const r = await costed(server, async () => {
      const o = await openLoop({ origin: origin[side], ...opts, seconds: S.rateSeconds });
      return { ...o, ok: o.ok, non2xx: o.non2xx + o.errors };
    });
    out[side] = r;
    log(
      `${RATE} req/s ${side}: p50 ${fmt(r.p50)} p99 ${fmt(r.p99)} ms` +
        (r.loop ? `, loop p99 ${fmt(r.loop.p99, 1)} ms` : ""),
    );
  }
  results.rate = out;
}

async function streamPhase(
  origin: Record<Side, string>,
  servers: Partial<Record<ServerKind, ServerProc>>,
): Promise<void> {
  const body = chatBody(true);
  const sides = ["direct", "bare", "hono", "aigw"] as const;
  const pools = sides.map((s) => new Pool(origin[s], { connections: 1 }));
  const samples: StreamSample[][] = sides.map(() => []);
  const failures = sides.map(() => 0);
  for (const s of SERVERS) await servers[s]?.probe(true);
  const deadline = Date.now() + 60_000;
  try {
    for (let i = -10; i < S.streamN && Date.now() < deadline; i++) {
      for (let k = 0; k < sides.length; k++) {
        try {
          const sample = await streamOnce(pools[k]!, PATH, body);
          if (sample.status !== 200) failures[k]!++;
          else if (i >= 0) samples[k]!.push(sample); // the first 10 are warm-up
        } catch {
          failures[k]!++;
        }
      }
    }
  } finally {
    await Promise.all(pools.map((p) => p.destroy()));
  }
  const out: NonNullable<Results["stream"]> = { requests: S.streamN };
  for (let k = 0; k < sides.length; k++) {
    const side = sides[k]!;
    const ok = samples[k]!;
    const stats: StreamStats = {
      headers: median(ok.map((s) => s.headers)),
      firstToken: median(ok.map((s) => s.firstToken)),
      total: median(ok.map((s) => s.total)),
      failures: failures[k]!,
    };
    if (side !== "direct") stats.loop = (await servers[side]?.probe(true))?.loop;
    out[side] = stats;
    log(`stream ${side}: first token ${fmt(stats.firstToken)} ms, total ${fmt(stats.total)} ms`);
  }
  results.stream = out;
}

/** Fresh servers: RSS once settled, then VmHWM after RATE req/s. */
async function memoryPhase(upstream: string): Promise<void> {
  const out: NonNullable<Results["memory"]> = {};
  for (const kind of SERVERS) {
    const server = kind === "aigw" ? await startGateway(upstream) : await startYardstick(kind, upstream);
    try {
      await sleep(S.idleMs);
      const idleMB = memoryMB(server.pid).current;
      const load = await openLoop({
        origin: server.url,
        path: PATH,
        body: chatBody(false),
        rate: RATE,
        seconds: S.rateSeconds,
      });
      out[kind] = { idleMB, peakMB: memoryMB(server.pid).peak, failures: load.non2xx + load.errors };
      log(`memory ${kind}: idle ${fmt(idleMB, 1)} MiB, peak ${fmt(out[kind]!.peakMB, 1)} MiB`);
    } finally {
      await server.stop();
    }
  }
  results.memory = out;
}

async function startupPhase(upstream: string): Promise<void> {
  const out: NonNullable<Results["startup"]> = {};
  const acc = Object.fromEntries(
    SERVERS.map((k) => [k, { listening: [] as number[], first: [] as number[], loop: [] as number[] }]),
  );
  // aigw's launches share one home, as a user's starts do; the first one, on a new home (the database
  // created), is reported apart.
  const home = gatewayDir();
  let firstStart: { listeningMs: number; firstAnswerMs: number } | undefined;
  for (let i = -1; i < S.launches; i++) {
    for (const kind of i < 0 ? (["aigw"] as const) : SERVERS) {
      const server =
        kind === "aigw"
          ? await startGateway(upstream, { dir: home.dir })
          : await startYardstick(kind, upstream);
      try {
        await sleep(1000);
        const p = await server.probe();
        if (i < 0) {
          firstStart = { listeningMs: server.listeningMs, firstAnswerMs: server.firstAnswerMs };
          log(
            `startup aigw on a new home: listening ${fmt(server.listeningMs, 0)} ms, first answer ${fmt(server.firstAnswerMs, 0)} ms`,
          );
          continue;
        }
        const a = acc[kind]!;
        a.listening.push(server.listeningMs);
        a.first.push(server.firstAnswerMs);
        a.loop.push(Math.max(server.loopToFirstAnswer, p.loop.max));
        log(
          `startup ${kind} #${i + 1}: listening ${fmt(server.listeningMs, 0)} ms, first answer ${fmt(server.firstAnswerMs, 0)} ms, loop max ${fmt(p.loop.max, 1)} ms`,
        );
      } finally {
        await server.stop();
      }
    }
  }
  home.remove();
  for (const kind of SERVERS) {
    const a = acc[kind]!;
    out[kind] = {
      launches: S.launches,
      listeningMs: median(a.listening),
      firstAnswerMs: median(a.first),
      loopMax: median(a.loop),
    };
  }
  results.startup = { ...out, aigwNewHome: firstStart };
}

async function cpuAtC16(server: ServerProc, seconds = S.c16Seconds): Promise<Closed> {
  await closedLoop({ url: server.url + PATH, body: chatBody(false), connections: 16, seconds: S.warmup });
  return costed(server, () =>
    closedLoop({ url: server.url + PATH, body: chatBody(false), connections: 16, seconds }),
  );
}

async function cachePhase(upstream: string): Promise<void> {
  const cached = await startGateway(upstream, { cache: true });
  const plain = await startGateway(upstream);
  try {
    const body = chatBody(false);
    const d = await closedLoop({
      url: upstream + PATH,
      body,
      connections: 1,
      seconds: S.c1Seconds,
      warmupSeconds: S.warmup,
    });
    const h = await closedLoop({
      url: cached.url + PATH,
      body,
      connections: 1,
      seconds: S.c1Seconds,
      warmupSeconds: S.warmup,
    });
    const hit = await cpuAtC16(cached);
    const miss = await cpuAtC16(plain);
    results.cache = {
      hitP50: h.p50,
      directP50: d.p50,
      hitCpuUs: hit.cpuUs ?? Number.NaN,
      missCpuUs: miss.cpuUs ?? Number.NaN,
      failures: h.non2xx + h.errors + hit.non2xx + hit.errors,
    };
    log(
      `cache: hit p50 ${fmt(h.p50)} ms vs direct ${fmt(d.p50)} ms; hit ${fmt(hit.cpuUs, 0)} µs/req vs miss ${fmt(miss.cpuUs, 0)} µs/req`,
    );
  } finally {
    await Promise.all([cached.stop(), plain.stop()]);
  }
}

/** The Redis path beside the same config alone (a fleet of one: every limit, budget and cooldown in Redis). */
async function sharedPhase(upstream: string): Promise<void> {
  const redis = await startRedis();
  const extra =
    "default_client_limits: { rpm: 100000000 }\nbudgets: { daily_usd: 1000000000 }\n" +
    'pricing: { "fake/*": { input: 1, output: 1 } }\n';
  const single = await startGateway(upstream, { extraConfig: extra });
  const shared = await startGateway(upstream, {
    extraConfig: `${extra}shared: { redis: "${redis.url}" }\n`,
  });
  try {
    const body = chatBody(false);
    const c1 = (url: string) =>
      closedLoop({ url: url + PATH, body, connections: 1, seconds: S.c1Seconds, warmupSeconds: S.warmup });
    const p50s = { direct: [] as number[], single: [] as number[], redis: [] as number[] };
    let failures = 0;
    for (let round = 0; round < S.rounds; round++) {
      for (const [key, url] of [
        ["direct", upstream],
        ["single", single.url],
        ["redis", shared.url],
      ] as const) {
        const r = await c1(url);
        p50s[key].push(r.p50);
        failures += r.non2xx + r.errors;
      }
    }
    const alone = await cpuAtC16(single);
    const redisPid = redis.pid();
    const redisBefore = redisPid ? cpuMicros(redisPid) : Number.NaN;
    const withRedis = await cpuAtC16(shared);
    const redisUs =
      ((redisPid ? cpuMicros(redisPid) : Number.NaN) - redisBefore) / (withRedis.ok + withRedis.non2xx);
    failures += alone.non2xx + alone.errors + withRedis.non2xx + withRedis.errors;
    results.shared = {
      directP50: median(p50s.direct),
      single: { p50: median(p50s.single), cpuUs: alone.cpuUs ?? Number.NaN },
      redis: { p50: median(p50s.redis), cpuUs: withRedis.cpuUs ?? Number.NaN, redisCpuUs: redisUs },
      failures,
    };
    log(
      `shared: p50 c1 direct ${fmt(median(p50s.direct))} / alone ${fmt(median(p50s.single))} / redis ${fmt(median(p50s.redis))} ms; ` +
        `c16 ${fmt(alone.cpuUs, 0)} → ${fmt(withRedis.cpuUs, 0)} µs/req (+${fmt(redisUs, 0)} in redis-server)`,
    );
  } finally {
    await Promise.all([single.stop(), shared.stop()]);
    await redis.close();
  }
}

async function limiterPhase(upstream: string): Promise<void> {
  // Load right after the start: whatever the tpm limit loads must not stall these requests. The same
  // start without limits is the baseline (GC and JIT of a new process under load are in both).
  const startLoad = (server: ServerProc) =>
    costed(server, () =>
      closedLoop({ url: server.url + PATH, body: chatBody(false), connections: 4, seconds: 2 }),
    );
  const plain = await startGateway(upstream);
  let unlimited: Closed;
  let plainStart: Awaited<ReturnType<typeof startLoad>>;
  try {
    plainStart = await startLoad(plain);
    unlimited = await cpuAtC16(plain);
  } finally {
    await plain.stop();
  }
  // Limits far above the load: every request goes through the limiter (tpm: token estimates), none waits.
  const limited = await startGateway(upstream, {
    limits: "{ rpm: 100000000, tpm: 1000000000, concurrency: 10000 }",
  });
  try {
    const first = await startLoad(limited);
    const steady = await cpuAtC16(limited);
    results.limiter = {
      unlimitedUs: unlimited.cpuUs ?? Number.NaN,
      limitedUs: steady.cpuUs ?? Number.NaN,
      loopMaxAtStart: Math.max(limited.loopToFirstAnswer, first.loop?.max ?? Number.NaN),
      loopP99AtStart: first.loop?.p99 ?? Number.NaN,
      plainLoopMaxAtStart: Math.max(plain.loopToFirstAnswer, plainStart.loop?.max ?? Number.NaN),
      plainLoopP99AtStart: plainStart.loop?.p99 ?? Number.NaN,
    };
    log(
      `limiter: ${fmt(unlimited.cpuUs, 0)} → ${fmt(steady.cpuUs, 0)} µs/req; loop after start p99 ${fmt(first.loop?.p99, 1)} max ${fmt(first.loop?.max, 1)} ms (no limits: p99 ${fmt(plainStart.loop?.p99, 1)} max ${fmt(plainStart.loop?.max, 1)} ms)`,
    );
  } finally {
    await limited.stop();
  }
}

function statsPhase(): void {
  const home = mkdtempSync(join(os.tmpdir(), "aigw-bench-stats-"));
  try {
    const rows = S.statsRows;
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
      `stats: ${rows} rows in ${fmt(generateMs, 0)} ms; first ${fmt(firstMs, 0)} ms, then ${warmMs.map((m) => fmt(m, 0)).join(", ")} ms`,
    );
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
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
  await prepareYardsticks();
  const upstream = await startFakeUpstream();
  log(`fake upstream ${upstream.url} (pid ${upstream.pid})`);
  try {
    if (run("closed") || run("rate") || run("stream")) {
      const servers: Partial<Record<ServerKind, ServerProc>> = {};
      try {
        servers.bare = await startYardstick("bare", upstream.url);
        servers.hono = await startYardstick("hono", upstream.url);
        servers.aigw = await startGateway(upstream.url);
        const origin: Record<Side, string> = {
          direct: upstream.url,
          bare: servers.bare.url,
          hono: servers.hono.url,
          aigw: servers.aigw.url,
        };
        if (run("closed")) await closedPhase(origin, servers);
        if (run("rate")) await ratePhase(origin, servers);
        if (run("stream")) await streamPhase(origin, servers);
      } finally {
        await Promise.all(Object.values(servers).map((s) => s.stop()));
      }
    }
    if (run("memory")) await memoryPhase(upstream.url);
    if (run("startup")) await startupPhase(upstream.url);
    if (run("cache")) await cachePhase(upstream.url);
    if (run("limiter")) await limiterPhase(upstream.url);
    if (run("shared")) await sharedPhase(upstream.url);
    if (run("stats")) statsPhase();
  } finally {
    await upstream.stop();
  }
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
