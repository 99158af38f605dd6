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

export interface UsageLog {
  insert(record: UsageRecord): void;
  recent(limit: number): UsageRecord[];
  /** Cacheable requests, cache hits and money saved since a time, for `aigw cache stats`. */
  cacheSummary(since: number): { requests: number; hits: number; saved_usd: number };
  /** Money spent per client (null = anonymous) since a time: budgets rebuild their totals from it. */
  spendSince(since: number): { client: string | null; cost: number }[];
  count(): number;
}

export const USAGE_COLUMNS = [
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
    `INSERT INTO usage (${USAGE_COLUMNS.join(", ")}) VALUES (${USAGE_COLUMNS.map((c) => `@${c}`).join(", ")})`,
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

function fromRow(row: Record<string, unknown>): UsageRecord {
  return {
    ...(row as unknown as UsageRecord),
    stream: row.stream === 1,
    aborted: row.aborted === 1,
    coalesced: row.coalesced === 1,
  };
}
