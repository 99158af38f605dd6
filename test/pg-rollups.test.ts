/**
 * PostgreSQL usage rollups: two shippers (two gateways' local logs) ship to one real PostgreSQL at
 * once; summarizePg (rollups for whole hours, raw rows for the edges) gives what the SQLite store
 * gives over the same rows, totals equal the raw sums, and a batch shipped twice is counted once.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Db, openDb } from "../src/store/db.js";
import { openPg } from "../src/store/pg/schema.js";
import { summarizePg } from "../src/store/pg/stats.js";
import type { SyncPg } from "../src/store/pg/sync-pg.js";
import { startUsageShipper } from "../src/store/pg/usage-shipper.js";
import { createUsageLog, type UsageRecord } from "../src/store/usage-log.js";
import { createUsageStats, type StatsRow, statsGroupings } from "../src/store/usage-stats.js";
import { runCli, tempHome } from "./helpers.js";
import { type PostgresService, startPostgres } from "./services.js";

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 5, 10, 12, 34, 56, 789);
const N = 3000;
let postgres: PostgresService;
let dir: string;

beforeAll(async () => {
  postgres = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), "aigw-pgroll-"));
}, 60_000);
afterAll(async () => {
  await postgres?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A deterministic mix: errors, cache hits, unpriced and free rows, latencies over four decades. */
function record(i: number): UsageRecord {
  let seed = i + 1;
  const rnd = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) / 2 ** 24;
  };
  const status = rnd() < 0.05 ? 502 : 200;
  const cache = rnd() < 0.1 ? "HIT" : "MISS";
  return {
    id: `req_${i}`,
    started_at: NOW - 3 * 86_400_000 + Math.floor(rnd() * 3 * 86_400_000),
    client: [null, "web", "ci"][i % 3] ?? null,
    route: "chat",
    requested_model: ["gpt-4o", "haiku", "llama"][i % 3 === 0 ? 0 : (i >> 1) % 3]!,
    provider: ["openai", "anthropic", null][i % 3] ?? null,
    upstream_model: "m",
    key_id: i % 4 === 0 ? null : `key_${i % 2}`,
    status,
    error_type: status === 502 ? "upstream_error" : rnd() < 0.02 ? "stream_error" : null,
    stream: i % 2 === 0,
    cache,
    attempts: 1,
    fallback_from: null,
    queue_wait_ms: null,
    ttfb_ms: null,
    latency_ms: Math.round(10 ** (1 + rnd() * 4) * 1000) / 1000,
    input_tokens: status === 200 ? 10 + (i % 500) : null,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    output_tokens: status === 200 ? i % 300 : null,
    cost_usd: status === 200 && cache === "MISS" && i % 11 !== 0 ? (i % 97) / 1e5 : null,
    saved_usd: cache === "HIT" ? 0.00125 : null,
    tags: null,
    aborted: false,
    coalesced: false,
    response_id: i % 5 === 0 ? `resp_${i}` : null,
  };
}

function sqlite(name: string, records: UsageRecord[]): Db {
  const db = openDb(join(dir, `${name}.db`));
  const log = createUsageLog(db);
  db.transaction(() => {
    for (const r of records) log.insert(r);
  })();
  return db;
}

describe("PostgreSQL usage rollups", () => {
  it("ship from two gateways at once and summarize as the SQLite store does", async () => {
    const all = Array.from({ length: N }, (_, i) => record(i));
    const reference = sqlite("all", all);
    const dbs = [
      sqlite(
        "a",
        all.filter((_, i) => i % 2 === 0),
      ),
      sqlite(
        "b",
        all.filter((_, i) => i % 2 === 1),
      ),
    ];
    const { db: pg, schema } = openPg(postgres.url, "roll");
    const shippers = dbs.map((db, i) =>
      startUsageShipper({ db, url: postgres.url, schema, instance: `gw${i}`, intervalMs: 60_000 }),
    );
    // Bounded: each flush drains up to 20 batches of 500; the logs hold 1500 rows each.
    await Promise.all(shippers.map((s) => s.flush()));
    await Promise.all(shippers.map((s) => s.close()));
    expect(count(pg, schema, "usage")).toBe(N);

    const stats = createUsageStats(reference);
    const windows = [
      { since: NOW - 4 * 86_400_000, until: NOW + 1 },
      { since: NOW - 2 * 86_400_000 - 1234, until: NOW - 5 * HOUR + 999 },
      { since: NOW - 30 * 60_000, until: NOW + 1 }, // inside one hour: raw rows only
    ];
    for (const window of windows) {
      for (const by of statsGroupings) {
        const opts = { ...window, by, timeZone: "Europe/Berlin" };
        const got = summarizePg(pg, schema, opts);
        const want = stats.summarize(opts);
        expect(got.rows.map((r) => r.group)).toEqual(want.rows.map((r) => r.group));
        expect(got).toEqual(want);
      }
    }
    // The rollups agree with plain sums over the raw rows.
    const [raw] = pg.query(
      `SELECT COUNT(*)::int AS requests, SUM(input_tokens)::bigint AS input, SUM(cost_usd) AS cost FROM ${schema}.usage`,
    );
    const total = summarizePg(pg, schema, { ...windows[0]!, by: "model" }).total;
    expect(total.requests).toBe(raw!.requests);
    expect(total.input_tokens).toBe(raw!.input);
    expect(total.cost_usd).toBeCloseTo(Number(raw!.cost), 8);
    expect(count(pg, schema, "usage WHERE response_id = 'resp_5'")).toBe(1);

    // The real CLI from a third home reads the same rollups: its totals are the raw sums.
    const home = tempHome();
    writeFileSync(join(home.dir, "config.yaml"), `shared:\n  postgres: ${postgres.url}\n  prefix: roll\n`);
    const [since, until] = [new Date(NOW - 2 * 86_400_000).toISOString(), new Date(NOW).toISOString()];
    const cli = await runCli(["stats", "--json", "--since", since, "--until", until], { home: home.dir });
    home.cleanup();
    expect(cli.code, cli.stderr).toBe(0);
    const [sums] = pg.query(
      `SELECT COUNT(*)::int AS requests, SUM(output_tokens)::bigint AS output, SUM(cost_usd) AS cost FROM ${schema}.usage
       WHERE started_at >= $1 AND started_at < $2`,
      [NOW - 2 * 86_400_000, NOW],
    );
    const { total: cliTotal } = JSON.parse(cli.stdout) as { total: StatsRow };
    expect(cliTotal.requests).toBe(sums!.requests);
    expect(cliTotal.requests).toBeGreaterThan(N / 2);
    expect(cliTotal.output_tokens).toBe(sums!.output);
    expect(cliTotal.cost_usd).toBeCloseTo(Number(sums!.cost), 8);

    // A batch sent again (its reply lost before the watermark moved) adds nothing to the rollups.
    const before = pg.query(`SELECT SUM(requests)::int AS n FROM ${schema}.usage_hourly WHERE dim = 'all'`);
    dbs[0]!.prepare("DELETE FROM meta WHERE name = 'pg_shipped_rowid'").run();
    const again = startUsageShipper({
      db: dbs[0]!,
      url: postgres.url,
      schema,
      instance: "gw0",
      intervalMs: 60_000,
    });
    await again.flush();
    await again.close();
    expect(pg.query(`SELECT SUM(requests)::int AS n FROM ${schema}.usage_hourly WHERE dim = 'all'`)).toEqual(
      before,
    );
    expect(before[0]!.n).toBe(N);
    pg.close();
    for (const db of [reference, ...dbs]) db.close();
  }, 60_000);

  it("rolls up rows shipped before the rollups existed, once", () => {
    const { db: pg, schema } = openPg(postgres.url, "legacy");
    pg.exec(`DROP TABLE ${schema}.usage_hourly; DELETE FROM ${schema}.meta WHERE name = 'rollups'`);
    pg.exec(
      `INSERT INTO ${schema}.usage (id, started_at, route, status, stream, cache, attempts, latency_ms, aborted, coalesced)
       SELECT 'old' || g, ${NOW - 10 * HOUR} + g * 1000, 'chat', 200, false, 'MISS', 1, g, false, false
       FROM generate_series(1, 50) g`,
    );
    pg.close();
    for (let i = 0; i < 2; i++) openPg(postgres.url, "legacy").db.close(); // the second open adds nothing
    const { db } = openPg(postgres.url, "legacy");
    const { total } = summarizePg(db, schema, { since: NOW - 11 * HOUR, until: NOW - HOUR, by: "model" });
    expect(total.requests).toBe(50);
    expect(total.p50_ms).toBeCloseTo(25, -0.5);
    expect(count(db, schema, "usage_hourly WHERE dim = 'all'")).toBe(1);
    db.close();
  });
});

function count(pg: SyncPg, schema: string, from: string): number {
  return Number(pg.query(`SELECT COUNT(*) AS n FROM ${schema}.${from}`)[0]!.n);
}
