/**
 * CPU profile of aigw under a closed loop at 16 connections (a profiling aid, not part of `npm run bench`):
 *   npx tsx bench/profile.ts [--cache] [--redis] [--seconds 5] [--dir /tmp/prof]
 * or of its start (`--startup [--by-function]`): samples every 250 µs from launch to 1.2 s after the
 * first answer, summed per file (or function) in three spans: before listening, listening → first
 * answer, and after.
 * (--redis: a client rpm limit, a daily budget and prices, kept in a redis-server started for the run)
 * Writes a .cpuprofile of the gateway (open it in Chrome DevTools, or summarise it with
 * `npx tsx bench/profile.ts --summary FILE`).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startRedis } from "../test/services.js";
import { chatBody, closedLoop } from "./load.js";
import { installCleanup, prepareCli, startFakeUpstream, startGateway } from "./procs.js";

const { values: a } = parseArgs({
  options: {
    cache: { type: "boolean", default: false },
    redis: { type: "boolean", default: false },
    seconds: { type: "string", default: "5" },
    dir: { type: "string", default: "/tmp/prof" },
    summary: { type: "string" },
    startup: { type: "boolean", default: false },
    "by-function": { type: "boolean", default: false },
  },
});

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

if (a.summary) {
  // Self time per function, and total (inclusive) time for the top frames.
  const p = JSON.parse(readFileSync(a.summary, "utf8")) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
  };
  const self = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++)
    self.set(p.samples[i]!, (self.get(p.samples[i]!) ?? 0) + (p.timeDeltas[i] ?? 0));
  const total = p.timeDeltas.reduce((s, d) => s + d, 0);
  const byFn = new Map<string, number>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const key = `${f.functionName || "(anon)"} ${f.url.split("/").slice(-2).join("/")}:${f.lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + (self.get(n.id) ?? 0));
  }
  const rows = [...byFn].sort((x, y) => y[1] - x[1]).slice(0, 45);
  for (const [k, v] of rows) process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}\n`);
  process.exit(0);
}

installCleanup();
prepareCli();
if (a.startup) {
  await startupProfile(a.dir, a["by-function"] ?? false);
  process.exit(0);
}
const upstream = await startFakeUpstream();
const redis = a.redis ? await startRedis() : null;
const extraConfig = redis
  ? "default_client_limits: { rpm: 100000000 }\nbudgets: { daily_usd: 1000000000 }\n" +
    `pricing: { "fake/*": { input: 1, output: 1 } }\nshared: { redis: "${redis.url}" }\n`
  : "";
process.env.AIGW_BENCH_NODE_FLAGS = `--cpu-prof --cpu-prof-dir=${a.dir}`;
const gw = await startGateway(upstream.url, { cache: a.cache, extraConfig });
delete process.env.AIGW_BENCH_NODE_FLAGS;
const url = `${gw.url}/v1/chat/completions`;
await closedLoop({ url, body: chatBody(false), connections: 16, seconds: 1 });
const r = await closedLoop({ url, body: chatBody(false), connections: 16, seconds: Number(a.seconds) });
process.stderr.write(`${r.reqPerSec.toFixed(0)} req/s, p50 ${r.p50} ms\n`);
await gw.stop();
await upstream.stop();
await redis?.close();
process.exit(0);

/** Profiles one launch of the gateway (a new home) and prints where its CPU went before and after listening. */
async function startupProfile(dir: string, byFunction: boolean): Promise<void> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const upstream = await startFakeUpstream();
  process.env.AIGW_BENCH_NODE_FLAGS = `--cpu-prof --cpu-prof-interval=250 --cpu-prof-dir=${dir}`;
  const spawnedUs = Number(process.hrtime.bigint() / 1000n);
  const gw = await startGateway(upstream.url);
  delete process.env.AIGW_BENCH_NODE_FLAGS;
  await new Promise((r) => setTimeout(r, 1200));
  await gw.stop();
  await upstream.stop();
  const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
  if (!file) throw new Error(`no profile written in ${dir}`);
  const p = JSON.parse(readFileSync(join(dir, file), "utf8")) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
    startTime: number;
  };
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const spans = ["before listening", "listening → first answer", "the 1.2 s after"] as const;
  const sums = spans.map(() => new Map<string, number>());
  // Sample times and the launch are both on the monotonic clock (µs).
  let t = p.startTime;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i] ?? 0;
    const ms = (t - spawnedUs) / 1000;
    const span = ms < gw.listeningMs ? 0 : ms < gw.firstAnswerMs ? 1 : 2;
    const f = byId.get(p.samples[i]!)!.callFrame;
    const where = f.url
      ? f.url.replace(/.*node_modules\//, "").replace(/.*\/dist\//, "dist/")
      : `(${f.functionName})`;
    const key = byFunction ? `${f.functionName || "(anon)"} ${where}` : where;
    sums[span]!.set(key, (sums[span]!.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
  }
  process.stdout.write(
    `listening ${gw.listeningMs.toFixed(0)} ms, first answer ${gw.firstAnswerMs.toFixed(0)} ms after launch (profiling slows both)\n`,
  );
  spans.forEach((name, i) => {
    const m = sums[i]!;
    const total = [...m.values()].reduce((x, y) => x + y, 0);
    process.stdout.write(`\n== ${name}: ${(total / 1000).toFixed(1)} ms sampled\n`);
    for (const [k, v] of [...m].sort((x, y) => y[1] - x[1]).slice(0, 20))
      process.stdout.write(`${(v / 1000).toFixed(1).padStart(7)}  ${k}\n`);
  });
  process.stdout.write(`\n${join(dir, file)}\n`);
}
