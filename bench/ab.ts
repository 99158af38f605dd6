/**
 * A/B of two aigw builds on the same box at the same time (a development aid, not part of `npm run bench`):
 * both gateways run side by side and take turns under the same closed loop, so a noisy minute hits both.
 *   npx tsx bench/ab.ts --a ../base/dist/cli.js [--b dist/cli.js] [--rounds 6] [--seconds 3] [--cache] [--redis] [--c1]
 * (--redis: the config of `bench/run.ts --only shared`, a client rpm limit, a daily budget and prices kept
 * in one redis-server started for the run, each side under its own key prefix; the server's CPU is counted
 * per side over that side's turns. --c1: each round also measures p50 at 1 connection.)
 * Prints CPU µs per request and req/s of each, per round and as medians.
 */
import { parseArgs } from "node:util";
import { startRedis } from "../test/services.js";
import { chatBody, closedLoop } from "./load.js";
import { cpuMicros, installCleanup, prepareCli, startFakeUpstream, startGateway } from "./procs.js";
import { fmt, median } from "./report.js";

const { values: a } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "dist/cli.js" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    cache: { type: "boolean", default: false },
    redis: { type: "boolean", default: false },
    c1: { type: "boolean", default: false },
  },
});
if (!a.a) {
  process.stderr.write(
    "usage: tsx bench/ab.ts --a OLD/dist/cli.js [--b dist/cli.js] [--rounds N] [--seconds S] [--cache] [--redis] [--c1]\n",
  );
  process.exit(2);
}
installCleanup();
const upstream = await startFakeUpstream();
const redis = a.redis ? await startRedis() : null;
const extraConfig = (prefix: string) =>
  redis
    ? "default_client_limits: { rpm: 100000000 }\nbudgets: { daily_usd: 1000000000 }\n" +
      `pricing: { "fake/*": { input: 1, output: 1 } }\nshared: { redis: "${redis.url}", prefix: ${prefix} }\n`
    : "";
const sides = [] as {
  name: string;
  gw: Awaited<ReturnType<typeof startGateway>>;
  cpu: number[];
  rps: number[];
  redisUs: number[];
  p50: number[];
}[];
for (const [name, path] of [
  ["A", a.a],
  ["B", a.b],
] as const) {
  process.env.AIGW_BENCH_CLI = path;
  prepareCli();
  const gw = await startGateway(upstream.url, {
    cache: a.cache,
    extraConfig: extraConfig(`ab_${name.toLowerCase()}`),
  });
  sides.push({ name, gw, cpu: [], rps: [], redisUs: [], p50: [] });
}
const body = chatBody(false);
const connections = Number(a.connections);
const redisCpu = () => {
  const pid = redis?.pid();
  return pid ? cpuMicros(pid) : Number.NaN;
};
for (const s of sides)
  await closedLoop({ url: `${s.gw.url}/v1/chat/completions`, body, connections, seconds: 1 });
for (let round = 0; round < Number(a.rounds); round++) {
  for (const s of round % 2 ? [...sides].reverse() : sides) {
    const url = `${s.gw.url}/v1/chat/completions`;
    if (a.c1) s.p50.push((await closedLoop({ url, body, connections: 1, seconds: Number(a.seconds) })).p50);
    const before = await s.gw.probe(true);
    const redisBefore = redisCpu();
    const r = await closedLoop({ url, body, connections, seconds: Number(a.seconds) });
    const after = await s.gw.probe(true);
    s.redisUs.push((redisCpu() - redisBefore) / (r.ok + r.non2xx));
    s.cpu.push((after.cpuUs - before.cpuUs) / (r.ok + r.non2xx));
    s.rps.push(r.reqPerSec);
  }
  const extra = (s: (typeof sides)[number]) =>
    (redis ? ` +${fmt(s.redisUs.at(-1), 0)} redis` : "") + (a.c1 ? ` p50 c1 ${fmt(s.p50.at(-1))} ms` : "");
  process.stderr.write(
    `round ${round + 1}: ${sides.map((s) => `${s.name} ${fmt(s.cpu.at(-1), 0)} µs/req${extra(s)} ${fmt(s.rps.at(-1), 0)} req/s`).join(" | ")}\n`,
  );
}
for (const s of sides)
  process.stdout.write(
    `${s.name}: median ${fmt(median(s.cpu), 0)} µs/req${redis ? ` (+${fmt(median(s.redisUs), 0)} in redis-server)` : ""}, ` +
      `${fmt(median(s.rps), 0)} req/s${a.c1 ? `, p50 c1 ${fmt(median(s.p50))} ms` : ""} (${s.name === "A" ? a.a : a.b})\n`,
  );
await Promise.all([...sides.map((s) => s.gw.stop()), upstream.stop()]);
await redis?.close();
process.exit(0);
