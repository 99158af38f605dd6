/**
 * `aigw stats` on PostgreSQL (`shared.postgres`) over a large shipped usage log, with the hourly
 * rollups (summarizePg, and the real CLI) and without them (the raw aggregate summarizePg ran before
 * the rollups, kept here verbatim as the yardstick). Uses a private PostgreSQL (test/services.ts).
 *
 *   npx tsx bench/pg-stats.ts [rows]      default 200000 rows over 30 days
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { openDb } from "../src/store/db.js";
import { openPg } from "../src/store/pg/schema.js";
import { summarizePg } from "../src/store/pg/stats.js";
import type { SyncPg } from "../src/store/pg/sync-pg.js";
import { startUsageShipper } from "../src/store/pg/usage-shipper.js";
import { startPostgres } from "../test/services.js";
import { fmt, median } from "./report.js";
import { generateUsageLog } from "./usage-log-gen.js";

const rows = Number(process.argv[2] ?? 200_000);
const home = mkdtempSync(join(os.tmpdir(), "aigw-bench-pgstats-"));
const postgres = await startPostgres();
const time = (f: () => void) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
try {
  generateUsageLog(home, rows);
  writeFileSync(join(home, "config.yaml"), `shared:\n  postgres: ${postgres.url}\n  prefix: bench\n`);
  const { db: pg, schema } = openPg(postgres.url, "bench");
  const db = openDb(join(home, "aigw.db"));
  const shipper = startUsageShipper({
    db,
    url: postgres.url,
    schema,
    instance: "bench",
    intervalMs: 3_600_000,
  });
  const shipStart = performance.now();
  // Bounded: each flush ships up to 10,000 rows.
  for (let i = 0; i < Math.ceil(rows / 10_000) + 1; i++) await shipper.flush();
  const shipMs = performance.now() - shipStart;
  await shipper.close();
  db.close();
  pg.exec("VACUUM ANALYZE");
  const window = { since: Date.now() - 31 * 86_400_000, until: Date.now() + 1, by: "model" as const };
  const withRollups = [0, 1, 2].map(() => time(() => summarizePg(pg, schema, window)));
  const raw = [0, 1, 2].map(() => time(() => legacyRaw(pg, schema, window.since, window.until)));
  const cli = [0, 1, 2].map(() =>
    time(() =>
      execFileSync(process.execPath, ["bin/aigw", "stats", "--since", "31d", "--json", "--home", home]),
    ),
  );
  const openMs = [0, 1, 2].map(() => time(() => openPg(postgres.url, "bench").db.close()));
  const [{ n }] = pg.query(`SELECT COUNT(*)::int AS n FROM ${schema}.usage_hourly`) as [{ n: number }];
  pg.close();
  console.log(`pg stats: ${rows} rows shipped in ${fmt(shipMs, 0)} ms (with rollups, ${n} rollup rows)`);
  console.log(`  summarizePg with rollups: ${withRollups.map((m) => fmt(m, 0)).join(", ")} ms`);
  console.log(`  raw aggregate (before rollups): ${raw.map((m) => fmt(m, 0)).join(", ")} ms`);
  console.log(`  aigw stats --since 31d (CLI, with rollups): median ${fmt(median(cli), 0)} ms`);
  console.log(`  of which connecting and checking the schema (openPg): median ${fmt(median(openMs), 0)} ms`);
} finally {
  await postgres.close();
  rmSync(home, { recursive: true, force: true });
}

/** The two queries summarizePg ran before rollups (GROUP BY model, then the total). */
function legacyRaw(pg: SyncPg, schema: string, since: number, until: number): void {
  const aggregates = `COUNT(*)::int AS requests,
    COUNT(*) FILTER (WHERE status >= 400 OR error_type IS NOT NULL)::int AS errors,
    COUNT(*) FILTER (WHERE cache = 'HIT')::int AS cache_hits,
    COALESCE(SUM(input_tokens), 0)::bigint AS input_tokens, COALESCE(SUM(output_tokens), 0)::bigint AS output_tokens,
    SUM(cost_usd) AS cost_usd,
    COUNT(*) FILTER (WHERE cost_usd IS NULL AND status < 400 AND cache <> 'HIT')::int AS unpriced,
    COALESCE(SUM(saved_usd), 0) AS saved_usd,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms`;
  const where = "WHERE started_at >= $1 AND started_at < $2";
  pg.query(
    `SELECT COALESCE(requested_model, '(none)') AS "group", ${aggregates} FROM ${schema}.usage ${where} GROUP BY 1`,
    [since, until],
  );
  pg.query(`SELECT 'total' AS "group", ${aggregates} FROM ${schema}.usage ${where}`, [since, until]);
}
