import {
  countsOf,
  type HourPart,
  type Part,
  type RawRow,
  ROW_SQL,
  type SummarizeOptions,
  summarizeParts,
} from "../usage-parts.js";
import type { StatsRow } from "../usage-stats.js";
import { HIST_COLUMNS, histFromPg } from "./rollup.js";
import type { SyncPg } from "./sync-pg.js";

const PART_COLUMNS =
  "hour, value, requests, errors, cache_hits, input_tokens, output_tokens, cost_usd, unpriced, saved_usd, min_ms, max_ms";
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
  const zone = opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  return summarizeParts(
    { ...opts, timeZone: zone },
    (start, end) =>
      db
        .query(
          `${ROW_SQL.replace(" FROM usage", ` FROM ${schema}.usage`)} WHERE started_at >= $1 AND started_at < $2`,
          [start, end],
        )
        .map((r) => RAW_COLUMNS.map((c) => r[c]) as RawRow),
    // Merged per output group in PostgreSQL: a few rows come back, not one per hour.
    (dim, firstHour, lastHour) =>
      db
        .query(
          `SELECT ${PART_COLUMNS}, ${HIST_COLUMNS("hist")} FROM (SELECT MIN(hour) AS hour, MIN(value) AS value, SUM(requests) AS requests, SUM(errors) AS errors,
             SUM(cache_hits) AS cache_hits, SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
             SUM(cost_usd) AS cost_usd, SUM(unpriced) AS unpriced, SUM(saved_usd) AS saved_usd,
             MIN(min_ms) AS min_ms, MAX(max_ms) AS max_ms, ${schema}.hist_sum(hist) AS hist
           FROM ${schema}.usage_hourly WHERE dim = $1 AND hour >= $2 AND hour < $3 GROUP BY ${
             opts.by === "day"
               ? "to_char(to_timestamp(hour / 1000.0) AT TIME ZONE $4, 'YYYY-MM-DD')"
               : "value"
           }) AS g`,
          opts.by === "day" ? [dim, firstHour, lastHour, zone] : [dim, firstHour, lastHour],
        )
        .map((r): HourPart => ({ hour: Number(r.hour), value: String(r.value), part: fromPg(r) })),
  );
}

function fromPg(r: Record<string, unknown>): Part {
  return {
    ...countsOf(r),
    hist: histFromPg(r),
    min: Number(r.min_ms),
    max: Number(r.max_ms),
  };
}
