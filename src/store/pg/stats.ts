import {
  type HourPart,
  type Part,
  type RawRow,
  ROW_SQL,
  type SummarizeOptions,
  summarizeParts,
} from "../usage-parts.js";
import type { StatsRow } from "../usage-stats.js";
import type { SyncPg } from "./sync-pg.js";

const RAW_COLUMNS = ROW_SQL.slice("SELECT ".length, ROW_SQL.indexOf(" FROM")).split(", ");

/**
 * `aigw stats` over every gateway's rows in PostgreSQL: whole hours from the rollups the shippers keep
 * (rollup.ts), the window's ragged edges from raw rows, merged as the SQLite store does (same buckets,
 * same nearest-rank percentiles), so both stores give the same answer for the same rows.
 */
export function summarizePg(
  db: SyncPg,
  schema: string,
  opts: SummarizeOptions,
): { rows: StatsRow[]; total: StatsRow } {
  return summarizeParts(
    { ...opts, timeZone: opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone },
    (start, end) =>
      db
        .query(
          `${ROW_SQL.replace(" FROM usage", ` FROM ${schema}.usage`)} WHERE started_at >= $1 AND started_at < $2`,
          [start, end],
        )
        .map((r) => RAW_COLUMNS.map((c) => r[c]) as RawRow),
    (dim, firstHour, lastHour) =>
      db
        .query(`SELECT * FROM ${schema}.usage_hourly WHERE dim = $1 AND hour >= $2 AND hour < $3`, [
          dim,
          firstHour,
          lastHour,
        ])
        .map((r): HourPart => ({ hour: Number(r.hour), value: String(r.value), part: fromPg(r) })),
  );
}

function fromPg(r: Record<string, unknown>): Part {
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
    unpriced: Number(r.unpriced),
    saved_usd: Number(r.saved_usd),
    hist: r.hist as number[],
    min: Number(r.min_ms),
    max: Number(r.max_ms),
  };
}
