import type { StatsGrouping, StatsRow } from "../usage-stats.js";
import type { SyncPg } from "./sync-pg.js";

const GROUP: Record<Exclude<StatsGrouping, "day">, string> = {
  model: "COALESCE(requested_model, '(none)')",
  client: "COALESCE(client, 'anonymous')",
  provider: "COALESCE(provider, '(none)')",
  key: "COALESCE(key_id, '(none)')",
};

// The same definitions as the SQLite rollups: a stream that failed after its 200 is an error, and an
// answered, non-cached request with no price is "unpriced".
const AGGREGATES = `COUNT(*)::int AS requests,
  COUNT(*) FILTER (WHERE status >= 400 OR error_type IS NOT NULL)::int AS errors,
  COUNT(*) FILTER (WHERE cache = 'HIT')::int AS cache_hits,
  COALESCE(SUM(input_tokens), 0)::bigint AS input_tokens,
  COALESCE(SUM(output_tokens), 0)::bigint AS output_tokens,
  SUM(cost_usd) AS cost_usd,
  COUNT(*) FILTER (WHERE cost_usd IS NULL AND status < 400 AND cache <> 'HIT')::int AS unpriced,
  COALESCE(SUM(saved_usd), 0) AS saved_usd,
  percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50_ms,
  percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95_ms`;

/** `aigw stats` over every gateway's rows in PostgreSQL (exact percentiles, one query per view). */
export function summarizePg(
  db: SyncPg,
  schema: string,
  opts: { since: number; until: number; by: StatsGrouping; timeZone?: string },
): { rows: StatsRow[]; total: StatsRow } {
  const zone = opts.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  const group =
    opts.by === "day"
      ? `to_char(to_timestamp(started_at / 1000.0) AT TIME ZONE $3, 'YYYY-MM-DD')`
      : GROUP[opts.by];
  const params = opts.by === "day" ? [opts.since, opts.until, zone] : [opts.since, opts.until];
  const where = "WHERE started_at >= $1 AND started_at < $2";
  const rows = db
    .query(`SELECT ${group} AS "group", ${AGGREGATES} FROM ${schema}.usage ${where} GROUP BY 1`, params)
    .map(toRow);
  rows.sort((a, b) =>
    opts.by === "day"
      ? a.group.localeCompare(b.group)
      : b.requests - a.requests || a.group.localeCompare(b.group),
  );
  const [total] = db.query(
    `SELECT 'total' AS "group", ${AGGREGATES} FROM ${schema}.usage ${where}`,
    params.slice(0, 2),
  );
  return { rows, total: toRow(total!) };
}

function toRow(r: Record<string, unknown>): StatsRow {
  const round = (v: unknown, places: number) =>
    v === null ? null : Math.round(Number(v) * 10 ** places) / 10 ** places;
  return {
    group: String(r.group),
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: round(r.cost_usd, 8),
    unpriced: Number(r.unpriced),
    saved_usd: round(r.saved_usd, 8) ?? 0,
    p50_ms: round(r.p50_ms, 2),
    p95_ms: round(r.p95_ms, 2),
  };
}
