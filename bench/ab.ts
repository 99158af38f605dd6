/**
 * A/B of two aigw builds on the same box at the same time (a development aid, not part of `npm run bench`):
 * both gateways run side by side and take turns under the same closed loop, so a noisy minute hits both.
 *   npx tsx bench/ab.ts --a ../base/dist/cli.js [--b dist/cli.js] [--rounds 6] [--seconds 3] [--cache]
 * Prints CPU µs per request and req/s of each, per round and as medians.
 */
import { parseArgs } from "node:util";
import { chatBody, closedLoop } from "./load.js";
import { installCleanup, prepareCli, startFakeUpstream, startGateway } from "./procs.js";
import { fmt, median } from "./report.js";

const { values: a } = parseArgs({
  options: {
    a: { type: "string" },
    b: { type: "string", default: "dist/cli.js" },
    rounds: { type: "string", default: "6" },
    seconds: { type: "string", default: "3" },
    connections: { type: "string", default: "16" },
    cache: { type: "boolean", default: false },
  },
});
if (!a.a) {
  process.stderr.write(
    "usage: tsx bench/ab.ts --a OLD/dist/cli.js [--b dist/cli.js] [--rounds N] [--seconds S]\n",
  );
  process.exit(2);
}
installCleanup();
const upstream = await startFakeUpstream();
const sides = [] as {
  name: string;
  gw: Awaited<ReturnType<typeof startGateway>>;
  cpu: number[];
  rps: number[];
}[];
for (const [name, path] of [
  ["A", a.a],
  ["B", a.b],
] as const) {
  process.env.AIGW_BENCH_CLI = path;
  prepareCli();
  sides.push({ name, gw: await startGateway(upstream.url, { cache: a.cache }), cpu: [], rps: [] });
}
const body = chatBody(false);
const connections = Number(a.connections);
for (const s of sides)
  await closedLoop({ url: `${s.gw.url}/v1/chat/completions`, body, connections, seconds: 1 });
for (let round = 0; round < Number(a.rounds); round++) {
  for (const s of round % 2 ? [...sides].reverse() : sides) {
    const before = await s.gw.probe(true);
    const r = await closedLoop({
      url: `${s.gw.url}/v1/chat/completions`,
      body,
      connections,
      seconds: Number(a.seconds),
    });
    const after = await s.gw.probe(true);
    s.cpu.push((after.cpuUs - before.cpuUs) / (r.ok + r.non2xx));
    s.rps.push(r.reqPerSec);
  }
  process.stderr.write(
    `round ${round + 1}: ${sides.map((s) => `${s.name} ${fmt(s.cpu.at(-1), 0)} µs/req ${fmt(s.rps.at(-1), 0)} req/s`).join(" | ")}\n`,
  );
}
for (const s of sides)
  process.stdout.write(
    `${s.name}: median ${fmt(median(s.cpu), 0)} µs/req, ${fmt(median(s.rps), 0)} req/s (${s.name === "A" ? a.a : a.b})\n`,
  );
await Promise.all([...sides.map((s) => s.gw.stop()), upstream.stop()]);
process.exit(0);
