/**
 * Hourly rollups of the usage log in PostgreSQL, the twin of SQLite's `usage_hourly`: one row per UTC
 * hour and dimension value, with a latency histogram in the same log-scale buckets (usage-parts.ts) as
 * an int[] whose element i counts bucket MIN_BUCKET + i - 1 (bounds from the first to the last filled). Rows are added by an upsert that sums
 * into what is there, so gateways shipping at once each add their own rows (one row lock per upsert).
 */
import { BUCKETS_PER_E, MIN_BUCKET } from "../usage-parts.js";

/** Table, and the functions that merge histograms in SQL. */
export function rollupDdl(s: string): string {
  return `
  CREATE TABLE IF NOT EXISTS ${s}.usage_hourly (
    hour bigint NOT NULL, dim text NOT NULL, value text NOT NULL, requests bigint NOT NULL,
    errors bigint NOT NULL, cache_hits bigint NOT NULL, input_tokens bigint NOT NULL,
    output_tokens bigint NOT NULL, cost_usd double precision, unpriced bigint NOT NULL,
    saved_usd double precision NOT NULL, min_ms double precision NOT NULL,
    max_ms double precision NOT NULL, hist int[] NOT NULL, PRIMARY KEY (dim, hour, value));
  -- Only the buckets between the fastest and slowest are stored ('[186:240]={...}'); a missing one is 0.
  CREATE OR REPLACE FUNCTION ${s}.hist_add(h int[], b int, n int) RETURNS int[] LANGUAGE plpgsql IMMUTABLE AS $f$
    BEGIN h[b] := coalesce(h[b], 0) + n; RETURN h; END $f$;
  CREATE OR REPLACE FUNCTION ${s}.hist_merge(a int[], b int[]) RETURNS int[] LANGUAGE plpgsql IMMUTABLE AS $f$
    BEGIN
      FOR i IN coalesce(array_lower(b, 1), 1) .. coalesce(array_upper(b, 1), 0) LOOP
        IF b[i] <> 0 THEN a[i] := coalesce(a[i], 0) + b[i]; END IF;
      END LOOP;
      RETURN a;
    END $f$;
  CREATE OR REPLACE AGGREGATE ${s}.hist_agg(int, int) (sfunc = ${s}.hist_add, stype = int[], initcond = '{}');
  CREATE OR REPLACE AGGREGATE ${s}.hist_sum(int[]) (sfunc = ${s}.hist_merge, stype = int[], initcond = '{}');
  -- Rows shipped before rollups existed are rolled up once (planned only then: a plan over a large
  -- usage table costs most of a second even when it would find nothing to do).
  DO $d$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM ${s}.meta WHERE name = 'rollups') THEN
      ${rollupSql(s, `${s}.usage`)};
      INSERT INTO ${s}.meta VALUES ('rollups', '1');
    END IF;
  END $d$;`;
}

/** The histogram as read back: its first index and its counts, for histFromPg. */
export const HIST_COLUMNS = (h: string) =>
  `array_lower(${h}, 1) AS hist_from, array_to_string(${h}, ',', '0') AS hist_counts`;

/** A histogram read with HIST_COLUMNS, dense from MIN_BUCKET as usage-parts.ts keeps it. */
export function histFromPg(r: Record<string, unknown>): number[] {
  if (r.hist_from === null) return [];
  const hist = new Array<number>(Number(r.hist_from) - 1).fill(0);
  for (const n of String(r.hist_counts).split(",")) hist.push(Number(n));
  return hist;
}

/** The histogram index of a latency, as usage-parts.ts bins it (Math.floor(Math.log(ms) * 20)). */
const BUCKET = `floor(ln(greatest(u.latency_ms, 0.01)) * ${BUCKETS_PER_E})::int + ${1 - MIN_BUCKET}`;

const SUMS = ["requests", "errors", "cache_hits", "input_tokens", "output_tokens", "unpriced", "saved_usd"];

/**
 * Adds the usage rows of `source` (a table, subquery or CTE name) to the rollups. The same definitions
 * as addRow in usage-parts.ts: a stream that failed after its 200 is an error, and an answered,
 * non-cached request with no price is "unpriced".
 */
export function rollupSql(s: string, source: string): string {
  return `INSERT INTO ${s}.usage_hourly AS t (hour, dim, value, ${SUMS.join(", ")}, cost_usd, min_ms, max_ms, hist)
  SELECT hour, dim, value, ${SUMS.map((c) => `SUM(${c})`).join(", ")}, SUM(cost_usd), MIN(min_ms), MAX(max_ms),
    ${s}.hist_agg(b, requests::int)
  FROM (
    SELECT (u.started_at / 3600000) * 3600000 AS hour, d.dim, d.value, ${BUCKET} AS b,
      COUNT(*) AS requests,
      COUNT(*) FILTER (WHERE u.status >= 400 OR u.error_type IS NOT NULL) AS errors,
      COUNT(*) FILTER (WHERE u.cache = 'HIT') AS cache_hits,
      COALESCE(SUM(u.input_tokens), 0) AS input_tokens, COALESCE(SUM(u.output_tokens), 0) AS output_tokens,
      SUM(u.cost_usd) AS cost_usd,
      COUNT(*) FILTER (WHERE u.cost_usd IS NULL AND u.status < 400 AND u.cache <> 'HIT') AS unpriced,
      COALESCE(SUM(u.saved_usd), 0) AS saved_usd, MIN(u.latency_ms) AS min_ms, MAX(u.latency_ms) AS max_ms
    FROM ${source} u CROSS JOIN LATERAL (VALUES ('all', ''), ('model', COALESCE(u.requested_model, '(none)')),
      ('client', COALESCE(u.client, 'anonymous')), ('provider', COALESCE(u.provider, '(none)')),
      ('key', COALESCE(u.key_id, '(none)'))) AS d (dim, value)
    GROUP BY 1, 2, 3, 4) AS x
  GROUP BY 1, 2, 3
  ORDER BY 2, 1, 3
  ON CONFLICT (dim, hour, value) DO UPDATE SET
    ${SUMS.map((c) => `${c} = t.${c} + excluded.${c}`).join(", ")},
    cost_usd = CASE WHEN t.cost_usd IS NULL THEN excluded.cost_usd
      WHEN excluded.cost_usd IS NULL THEN t.cost_usd ELSE t.cost_usd + excluded.cost_usd END,
    min_ms = LEAST(t.min_ms, excluded.min_ms), max_ms = GREATEST(t.max_ms, excluded.max_ms),
    hist = ${s}.hist_merge(t.hist, excluded.hist)`;
}
