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
  /** Priced as the real model a demo stand-in imitates (`aigw start --demo`): no money was spent. */
  simulated?: boolean;
  /** A Responses answer's id (the provider's if passed through, aigw's if translated): `/v1/responses/{id}` finds its maker by it. */
  response_id?: string | null;
}

/** Who made a response: where `GET`/`DELETE /v1/responses/{id}` are forwarded (or not). */
export interface ResponseOrigin {
  provider: string;
  key_id: string | null;
  client: string | null;
}

/** Which finished requests `latest` returns: the same filters as `aigw tail`. */
export interface LatestFilter {
  limit: number;
  /** A client's name; "anonymous" means requests without one. */
  client?: string;
  /** The requested name, or the `provider/model` that answered. */
  model?: string;
  /** Only failed requests (status >= 400, or an error type such as a truncated stream). */
  errors?: boolean;
}

/** Spend since a time per answering model (`provider/model`, else as requested) and client. */
export interface SpendRow {
  model: string;
  client: string | null;
  requests: number;
  cost_usd: number;
  /** Answered requests with no known price. */
  unpriced: number;
}

export interface UsageLog {
  /** Writes a row now. */
  insert(record: UsageRecord): void;
  /**
   * The gateway's write: queues the request's one row. Rows queued in one turn of the event loop are
   * committed together right after it (`setImmediate`), in one transaction: at 16 connections each
   * WAL page is written once per turn instead of once per row. Readers here commit the queue first.
   */
  queue(record: UsageRecord): void;
  /**
   * Settles when the rows queued so far are committed (at once when none are): the gateway ends a
   * response only then, so an answered request has its row even if the process is killed right after.
   */
  committed(): Promise<void>;
  /** Commits the queued rows now (at stop, before the database closes). */
  flush(): void;
  recent(limit: number): UsageRecord[];
  /** The last finished requests matching `filter`, the most recently finished first. */
  latest(filter: LatestFilter): UsageRecord[];
  /** Rows that spent or would have (unpriced answers) since a time, grouped by model and client. */
  spendByModelAndClient(since: number): SpendRow[];
  /** Cacheable requests, cache hits and money saved since a time, for `aigw cache stats`. */
  cacheSummary(since: number): { requests: number; hits: number; saved_usd: number };
  /** Money spent per client (null = anonymous) since a time: budgets rebuild their totals from it. */
  spendSince(since: number): { client: string | null; cost: number }[];
  /** The request that answered with `responseId` (the latest, if several), or null. */
  responseOrigin(responseId: string): ResponseOrigin | null;
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
  "simulated",
] as const;

// Local only (not shipped to PostgreSQL): it answers this gateway's own `/v1/responses/{id}` look-ups.
const INSERT_COLUMNS = [...USAGE_COLUMNS, "response_id"] as const;

// Logs with rows queued: a process that exits mid-turn (process.exit, an uncaught error) commits
// them on the way out; better-sqlite3 is synchronous, so an 'exit' listener can still write.
const unflushed = new Set<() => void>();
process.once("exit", () => {
  for (const flush of unflushed) flush();
});

const COMMITTED = Promise.resolve();

export function createUsageLog(db: Db, opts: { log?: (message: string) => void } = {}): UsageLog {
  const insert = db.prepare(
    `INSERT INTO usage (${INSERT_COLUMNS.join(", ")}) VALUES (${INSERT_COLUMNS.map(() => "?").join(", ")})`,
  );
  const origin = db.prepare<[string], ResponseOrigin>(
    "SELECT provider, key_id, client FROM usage WHERE response_id = ? AND provider IS NOT NULL ORDER BY rowid DESC LIMIT 1",
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

  // Rows are appended in the order requests finish, so rowid order is finish order.
  const latest = db.prepare(
    `SELECT * FROM usage
     WHERE (@client IS NULL OR client = @client OR (@client = 'anonymous' AND client IS NULL))
       AND (@model IS NULL OR requested_model = @model OR provider || '/' || upstream_model = @model)
       AND (@errors = 0 OR status >= 400 OR error_type IS NOT NULL)
     ORDER BY rowid DESC LIMIT @limit`,
  );
  // Same rule as the dashboard and `aigw stats`: a failure that never reached a price is not spending.
  const spendBy = db.prepare(
    `SELECT CASE WHEN provider IS NOT NULL AND upstream_model IS NOT NULL
                 THEN provider || '/' || upstream_model ELSE COALESCE(requested_model, '(none)') END AS model,
            client, COUNT(*) AS requests, COALESCE(SUM(cost_usd), 0) AS cost_usd,
            COALESCE(SUM(cost_usd IS NULL), 0) AS unpriced
     FROM usage
     WHERE started_at >= ? AND (cost_usd IS NOT NULL OR (status < 400 AND cache != 'HIT'))
     GROUP BY 1, 2`,
  );

  // Flag columns are NOT NULL: an absent flag (`simulated` outside demo) is stored as 0.
  const flags = INSERT_COLUMNS.map(
    (c) => c === "stream" || c === "aborted" || c === "coalesced" || c === "simulated",
  );
  const log = opts.log ?? ((message: string) => process.stderr.write(`aigw: ${message}\n`));
  let queued: unknown[][] = [];
  let scheduled = false;
  /** The queued batch's commit, for `committed()`; made on first ask. */
  let batch: { promise: Promise<void>; resolve: () => void } | null = null;
  const commitAll = db.transaction((rows: unknown[][]) => {
    for (const values of rows) insert.run(values);
  });
  const flush = () => {
    scheduled = false;
    unflushed.delete(flush);
    const waiting = batch;
    batch = null;
    if (queued.length === 0 || !db.open) return waiting?.resolve();
    const rows = queued;
    queued = [];
    try {
      commitAll(rows);
    } catch {
      // One bad row (or a moment of SQLITE_BUSY) must not take the others with it: one at a time.
      for (const values of rows) {
        try {
          insert.run(values);
        } catch (err) {
          log(`usage row ${String(values[0])} not written: ${(err as Error).message}`);
        }
      }
    }
    waiting?.resolve(); // written, or reported: a response never waits on a row that cannot be
  };
  // Positional values: binding by name looks each column up in a spread copy of the record.
  const valuesOf = (record: UsageRecord): unknown[] => {
    const values: unknown[] = new Array(INSERT_COLUMNS.length);
    for (let i = 0; i < INSERT_COLUMNS.length; i++) {
      const value = record[INSERT_COLUMNS[i]!];
      values[i] = flags[i] ? (value ? 1 : 0) : (value ?? null);
    }
    return values;
  };
  return {
    insert(record) {
      flush();
      insert.run(valuesOf(record));
    },
    queue(record) {
      queued.push(valuesOf(record));
      if (!scheduled) {
        scheduled = true;
        unflushed.add(flush);
        setImmediate(flush);
      }
    },
    committed() {
      if (queued.length === 0) return COMMITTED;
      if (!batch) {
        let resolve!: () => void;
        const promise = new Promise<void>((r) => {
          resolve = r;
        });
        batch = { promise, resolve };
      }
      return batch.promise;
    },
    flush,
    recent(limit) {
      flush();
      return (recent.all(limit) as Record<string, unknown>[]).map(fromRow);
    },
    latest(filter) {
      flush();
      const rows = latest.all({
        limit: filter.limit,
        client: filter.client ?? null,
        model: filter.model ?? null,
        errors: filter.errors ? 1 : 0,
      }) as Record<string, unknown>[];
      return rows.map(fromRow);
    },
    spendByModelAndClient(since) {
      flush();
      return spendBy.all(since) as SpendRow[];
    },
    count() {
      flush();
      return count.get() as number;
    },
    cacheSummary(since) {
      flush();
      return cacheSummary.get(since) as { requests: number; hits: number; saved_usd: number };
    },
    spendSince(since) {
      flush();
      return spend.all(since) as { client: string | null; cost: number }[];
    },
    responseOrigin(responseId) {
      flush();
      return origin.get(responseId) ?? null;
    },
  };
}

function fromRow(row: Record<string, unknown>): UsageRecord {
  return {
    ...(row as unknown as UsageRecord),
    stream: row.stream === 1,
    aborted: row.aborted === 1,
    coalesced: row.coalesced === 1,
    simulated: row.simulated === 1,
  };
}
