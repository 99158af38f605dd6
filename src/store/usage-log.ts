import type { Db } from "./db.js";

export type CacheStatus = "HIT" | "MISS" | "BYPASS";

/** One row per client request, written once when the request ends. Field names are the column names. */
export interface UsageRecord {
  id: string;
  started_at: number;
  client: string | null;
  route: string;
  requested_model: string | null;
  provider: string | null;
  upstream_model: string | null;
  key_id: string | null;
  status: number;
  error_type: string | null;
  stream: boolean;
  cache: CacheStatus;
  attempts: number;
  fallback_from: string | null;
  queue_wait_ms: number | null;
  ttfb_ms: number | null;
  latency_ms: number;
  input_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  saved_usd: number | null;
  tags: string | null;
  aborted: boolean;
  /** A cache hit served from an identical request that was in flight (single-flight). */
  coalesced: boolean;
}

export const statsGroupings = ["model", "client", "provider", "key", "day"] as const;
export type StatsGrouping = (typeof statsGroupings)[number];

export interface StatsRow {
  group: string;
  requests: number;
  errors: number;
  cache_hits: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  unpriced: number;
  saved_usd: number;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface UsageLog {
  insert(record: UsageRecord): void;
  summarize(opts: { since: number; until: number; by: StatsGrouping }): { rows: StatsRow[]; total: StatsRow };
  recent(limit: number): UsageRecord[];
  /** Cacheable requests, cache hits and money saved since a time, for `aigw cache stats`. */
  cacheSummary(since: number): { requests: number; hits: number; saved_usd: number };
  /** Money spent per client (null = anonymous) since a time: budgets rebuild their totals from it. */
  spendSince(since: number): { client: string | null; cost: number }[];
  count(): number;
}

const GROUP_SQL: Record<StatsGrouping, string> = {
  model: "COALESCE(requested_model, '(none)')",
  client: "COALESCE(client, 'anonymous')",
  provider: "COALESCE(provider, '(none)')",
  key: "COALESCE(key_id, '(none)')",
  day: "date(started_at / 1000, 'unixepoch', 'localtime')",
};

const COLUMNS = [
  "id",
  "started_at",
  "client",
  "route",
  "requested_model",
  "provider",
  "upstream_model",
  "key_id",
  "status",
  "error_type",
  "stream",
  "cache",
  "attempts",
  "fallback_from",
  "queue_wait_ms",
  "ttfb_ms",
  "latency_ms",
  "input_tokens",
  "cached_input_tokens",
  "cache_write_tokens",
  "output_tokens",
  "cost_usd",
  "saved_usd",
  "tags",
  "aborted",
  "coalesced",
] as const;

export function createUsageLog(db: Db): UsageLog {
  const insert = db.prepare(
    `INSERT INTO usage (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`,
  );
  const recent = db.prepare("SELECT * FROM usage ORDER BY started_at DESC LIMIT ?");
  const count = db.prepare("SELECT COUNT(*) AS n FROM usage").pluck();
  const cacheSummary = db.prepare(
    `SELECT COUNT(*) AS requests, COALESCE(SUM(cache = 'HIT'), 0) AS hits, COALESCE(SUM(saved_usd), 0) AS saved_usd
     FROM usage WHERE started_at >= ? AND cache != 'BYPASS'`,
  );
  const spend = db.prepare(
    "SELECT client, SUM(cost_usd) AS cost FROM usage WHERE started_at >= ? AND cost_usd > 0 GROUP BY client",
  );

  return {
    insert(record) {
      insert.run({
        ...record,
        stream: record.stream ? 1 : 0,
        aborted: record.aborted ? 1 : 0,
        coalesced: record.coalesced ? 1 : 0,
      });
    },
    summarize({ since, until, by }) {
      const rows = summarizeBy(db, GROUP_SQL[by], since, until);
      const total = summarizeBy(db, "'total'", since, until)[0] ?? emptyRow("total");
      return { rows, total };
    },
    recent(limit) {
      return (recent.all(limit) as Record<string, unknown>[]).map(fromRow);
    },
    count() {
      return count.get() as number;
    },
    cacheSummary(since) {
      return cacheSummary.get(since) as { requests: number; hits: number; saved_usd: number };
    },
    spendSince(since) {
      return spend.all(since) as { client: string | null; cost: number }[];
    },
  };
}

function summarizeBy(db: Db, groupSql: string, since: number, until: number): StatsRow[] {
  // Percentiles by rank inside each group: SQLite has no percentile function.
  const sql = `
    WITH w AS (
      SELECT ${groupSql} AS g, *,
             ROW_NUMBER() OVER (PARTITION BY ${groupSql} ORDER BY latency_ms) AS rn,
             COUNT(*) OVER (PARTITION BY ${groupSql}) AS n
      FROM usage WHERE started_at >= @since AND started_at < @until
    )
    SELECT g AS "group",
           COUNT(*) AS requests,
           SUM(status >= 400) AS errors,
           SUM(cache = 'HIT') AS cache_hits,
           COALESCE(SUM(input_tokens), 0) AS input_tokens,
           COALESCE(SUM(output_tokens), 0) AS output_tokens,
           SUM(cost_usd) AS cost_usd,
           SUM(cost_usd IS NULL AND status < 400 AND cache != 'HIT') AS unpriced,
           COALESCE(SUM(saved_usd), 0) AS saved_usd,
           MAX(CASE WHEN rn = CAST(0.50 * (n - 1) AS INTEGER) + 1 THEN latency_ms END) AS p50_ms,
           MAX(CASE WHEN rn = CAST(0.95 * (n - 1) AS INTEGER) + 1 THEN latency_ms END) AS p95_ms
    FROM w GROUP BY g ORDER BY requests DESC, g`;
  return db.prepare(sql).all({ since, until }) as StatsRow[];
}

function emptyRow(group: string): StatsRow {
  return {
    group,
    requests: 0,
    errors: 0,
    cache_hits: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: null,
    unpriced: 0,
    saved_usd: 0,
    p50_ms: null,
    p95_ms: null,
  };
}

function fromRow(row: Record<string, unknown>): UsageRecord {
  return {
    ...(row as unknown as UsageRecord),
    stream: row.stream === 1,
    aborted: row.aborted === 1,
    coalesced: row.coalesced === 1,
  };
}
