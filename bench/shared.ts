/**
 * Added latency of the shared path (Redis hot state) vs a single process, same run, interleaved:
 *   npx tsx bench/shared.ts [--requests 1500]
 * Two in-process gateways in front of one in-process fake upstream; one keeps its hot state in memory,
 * the other in a redis-server this script starts on a free loopback port (and stops by PID). Both
 * have a client rpm limit, a gateway budget and the cache on (every prompt distinct: a lookup, then a
 * MISS), so the shared one pays its round trip (Lua bucket, budget totals, cache lookup with its
 * single-flight mark, pipelined) and its writes after the answer (spend, end of the lead). Only 127.0.0.1 is contacted.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { parseConfig } from "../src/config/load.js";
import { createGateway, type HotState } from "../src/gateway/index.js";
import { RedisHotState } from "../src/gateway/shared/redis-hot-state.js";
import { createApp } from "../src/server/app.js";
import { serve } from "../src/server/serve.js";
import { openDb } from "../src/store/db.js";
import { createResponseCache } from "../src/store/response-cache.js";
import { createUsageLog } from "../src/store/usage-log.js";
import { startFakeUpstream } from "../test/fake-upstream.js";
import { startRedis } from "../test/services.js";

const { values } = parseArgs({ options: { requests: { type: "string", default: "1500" } } });
const N = Math.max(100, Number(values.requests));

const fake = await startFakeUpstream({ record: false });
const redis = await startRedis();
const home = mkdtempSync(join(tmpdir(), "aigw-bench-shared-"));
const config = parseConfig(
  {
    port: 0,
    providers: { up: { type: "openai-compatible", base_url: fake.openaiBaseUrl } },
    default_client_limits: { rpm: 10_000_000 },
    // A budget and prices: the shared path also reads the fleet's spend and adds to it.
    budgets: { daily_usd: 1_000_000_000 },
    pricing: { "up/*": { input: 1, output: 1 } },
  },
  "bench",
);

async function gateway(name: string, hot?: HotState) {
  const db = openDb(join(home, `${name}.db`));
  const gw = createGateway({
    config,
    usage: createUsageLog(db),
    responseCache: createResponseCache(db, { maxBytes: 64 * 1024 * 1024 }),
    ...(hot ? { hot } : {}),
    log: () => {},
  });
  const app = createApp({ gateway: gw, adminToken: "bench", requireClientAuth: false, debug: false });
  const server = await serve(app, { host: "127.0.0.1", port: 0, requestTimeout: 30_000 });
  await gw.warmUp();
  return { gw, server, db, pool: new Pool(server.url, { connections: 1 }) };
}

const hot = new RedisHotState(redis.url, "bench", () => {});
await hot.ready();
const single = await gateway("single");
const shared = await gateway("shared", hot);

async function once(pool: Pool, i: number): Promise<number> {
  const body = JSON.stringify({ model: "up/m", messages: [{ role: "user", content: `q${i}` }] });
  const t0 = performance.now();
  const res = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    body,
    headers: { "content-type": "application/json" },
  });
  await res.body.text();
  if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
  return performance.now() - t0;
}

const times = { single: [] as number[], shared: [] as number[] };
for (let i = 0; i < N + 200; i++) {
  // Interleaved, so drift in machine load hits both paths alike; the first 200 warm up.
  const a = await once(single.pool, i);
  const b = await once(shared.pool, i);
  if (i >= 200) {
    times.single.push(a);
    times.shared.push(b);
  }
}
const pct = (xs: number[], q: number) => [...xs].sort((x, y) => x - y)[Math.floor(q * (xs.length - 1))]!;
const row = (name: string, xs: number[]) =>
  `${name.padEnd(8)} p50 ${pct(xs, 0.5).toFixed(3)} ms  p95 ${pct(xs, 0.95).toFixed(3)} ms`;
process.stdout.write(
  [
    `${N} sequential chat requests per path, interleaved (loopback fake upstream, loopback redis-server)`,
    row("single", times.single),
    row("shared", times.shared),
    `added    p50 ${(pct(times.shared, 0.5) - pct(times.single, 0.5)).toFixed(3)} ms  p95 ${(pct(times.shared, 0.95) - pct(times.single, 0.95)).toFixed(3)} ms`,
    `shared status at the end: ${shared.gw.shared()}`,
    "",
  ].join("\n"),
);

for (const g of [single, shared]) {
  await g.pool.close();
  await g.server.close(1000);
  await g.gw.close();
  g.db.close();
}
await fake.close();
await redis.close();
rmSync(home, { recursive: true, force: true });
