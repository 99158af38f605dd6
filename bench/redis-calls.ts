/**
 * What one request of the shared path costs Redis (a development aid, not part of `npm run bench`):
 *   npx tsx bench/redis-calls.ts [--requests 2000] [--connections 1]
 * The config of `bench/run.ts --only shared` over a redis-server started for the run; prints the
 * commands per request (by name, from INFO commandstats) and the server's CPU per request.
 */
import { parseArgs } from "node:util";
import { createClient } from "redis";
import { startRedis } from "../test/services.js";
import { chatBody, closedLoop } from "./load.js";
import { cpuMicros, installCleanup, prepareCli, startFakeUpstream, startGateway } from "./procs.js";

const { values: a } = parseArgs({
  options: {
    seconds: { type: "string", default: "4" },
    connections: { type: "string", default: "1" },
  },
});
installCleanup();
prepareCli();
const upstream = await startFakeUpstream();
const redis = await startRedis();
const gw = await startGateway(upstream.url, {
  extraConfig:
    "default_client_limits: { rpm: 100000000 }\nbudgets: { daily_usd: 1000000000 }\n" +
    `pricing: { "fake/*": { input: 1, output: 1 } }\nshared: { redis: "${redis.url}" }\n`,
});
const admin = createClient({ url: redis.url });
await admin.connect();
const url = `${gw.url}/v1/chat/completions`;
const body = chatBody(false);
await closedLoop({ url, body, connections: 4, seconds: 1 });
const stats = async () => {
  const out = new Map<string, number>();
  for (const line of (await admin.info("commandstats")).split("\n")) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  const s = await admin.info("stats");
  const num = (k: string) => Number(new RegExp(`${k}:(\\d+)`).exec(s)?.[1]);
  return { out, reads: num("total_reads_processed"), bytesIn: num("total_net_input_bytes") };
};
const before = await stats();
const cpu0 = cpuMicros(redis.pid()!);
const r = await closedLoop({ url, body, connections: Number(a.connections), seconds: Number(a.seconds) });
const cpu1 = cpuMicros(redis.pid()!);
const after = await stats();
const n = r.ok + r.non2xx;
for (const [k, v] of after.out) {
  const d = v - (before.out.get(k) ?? 0) - (k === "info" ? 2 : 0);
  if (d > 0) process.stdout.write(`${k.padEnd(12)} ${(d / n).toFixed(3)} per request\n`);
}
process.stdout.write(
  `${n} requests at ${a.connections} connection(s): socket reads ${((after.reads - before.reads) / n).toFixed(2)}/req, ` +
    `${((after.bytesIn - before.bytesIn) / n).toFixed(0)} bytes in/req, redis-server CPU ${((cpu1 - cpu0) / n).toFixed(1)} µs/req, p50 ${r.p50.toFixed(2)} ms\n`,
);
await admin.destroy();
await gw.stop();
await upstream.stop();
await redis.close();
process.exit(0);
