import { COLUMNS, checkEntry, fromRow, type Row, toRow } from "./cache-rows.js";
import type { Db } from "./db.js";
import { HotEntries, PendingHits } from "./hot-entries.js";

/** Token counts of the stored answer (the shape of the providers' `TokenUsage`). */
export interface CacheUsage {
  input: number | null;
  cachedInput: number | null;
  cacheWrite: number | null;
  output: number | null;
}

/**
 * One stored answer. Field names are the column names; `body` is the parsed JSON answer, so an entry
 * is also one NDJSON line of `export()` / `import()`.
 */
export interface CacheEntry {
  key: string;
  /** `x-aigw-cache-namespace`; "" is the default namespace. */
  namespace: string;
  /** Wire format of `body`: the client route's format, so a hit is replayed as stored. */
  format: "openai" | "anthropic" | "responses";
  route: string;
  /** `provider/model` that produced the answer. */
  model: string;
  /** The complete answer as the client got it (an assembled stream is a plain JSON answer). */
  body: unknown;
  /** The same answer as stored JSON bytes, to send a hit without serializing it again. */
  raw?: Buffer;
  usage: CacheUsage;
  /** What producing the answer cost (a hit saves this); null when unpriced. */
  cost_usd: number | null;
  created_at: number;
  expires_at: number;
  /** Last use, storing included: the LRU order. */
  last_hit_at: number;
  hits: number;
  /** Bytes counted against `maxBytes`: the body plus the row's other fields. */
  size: number;
}

/** What `put` needs; `last_hit_at` defaults to `created_at`, `hits` to 0, `size` is computed. */
export type CachePut = Omit<CacheEntry, "last_hit_at" | "hits" | "size" | "raw"> &
  Partial<Pick<CacheEntry, "last_hit_at" | "hits">>;

export interface CacheGroupStats {
  entries: number;
  bytes: number;
  hits: number;
  /** Sum of hits × cost of entries with a price: an estimate; the usage log has the exact saving. */
  saved_usd: number;
  /** Entries past their expiry that the sweep has not deleted yet. */
  expired: number;
}

export interface CacheStats extends CacheGroupStats {
  /** Pages in use by the whole database file (usage log included), in bytes. */
  db_bytes: number;
  by_model: (CacheGroupStats & { model: string })[];
}

export interface ResponseCache {
  /**
   * A live entry (expired = miss). A hit writes nothing: its `hits` / `last_hit_at` bump waits in
   * memory for `flushHits` (which reads of counts and the LRU order run first).
   */
  get(key: string, now?: number): CacheEntry | null;
  /** Writes the pending hit counts in one transaction; returns how many entries it updated. */
  flushHits(): number;
  /** Stores (replacing) an entry, then evicts least-recently-used ones down to ~90 % of maxBytes. */
  put(entry: CachePut): CacheEntry | null;
  /** Deletes up to `limit` expired entries; returns how many. Also re-reads the byte total. */
  sweepExpired(now: number, limit: number): number;
  /** Entries created at or after `since` (ms; 0 = all). */
  stats(since?: number): CacheStats;
  /** Deletes entries of `model` (exact, the part after `provider/`, or a glob) and/or older than an age. */
  clear(opts?: { model?: string; olderThanMs?: number }): number;
  /** Every entry, oldest first. Consume it before using this cache again (the connection is busy). */
  export(): Iterable<CacheEntry>;
  /** Stores exported entries (expired ones are skipped), then evicts as `put` does; returns how many. */
  import(entries: Iterable<unknown>): number;
  /** Bytes the cache holds, as counted against maxBytes. */
  totalBytes(): number;
}

/** Eviction stops at this share of `maxBytes`, so a full cache is not evicting on every put. */
const LOW_WATER = 0.9;
/** Most bytes of parsed hot entries kept in memory in front of SQLite. */
const HOT_BYTES = 8 * 1024 * 1024;

export function createResponseCache(db: Db, opts: { maxBytes: number; clock?: () => number }): ResponseCache {
  const clock = opts.clock ?? Date.now;
  const get = db.prepare("SELECT * FROM cache_entries WHERE key = @key AND expires_at > @now");
  const bump = db.prepare(
    "UPDATE cache_entries SET hits = hits + @n, last_hit_at = MAX(last_hit_at, @last) WHERE key = @key",
  );
  // Other connections' commits (`aigw cache clear` / `import`) change it: the hot copies go then.
  const dataVersion = db.prepare("PRAGMA data_version").pluck();
  const sizeOf = db.prepare("SELECT size FROM cache_entries WHERE key = ?").pluck();
  const insert = db.prepare(
    `INSERT OR REPLACE INTO cache_entries (${COLUMNS.join(", ")}) VALUES (${COLUMNS.map((c) => `@${c}`).join(", ")})`,
  );
  const lru = db.prepare(
    "SELECT rowid AS id, key, size FROM cache_entries WHERE rowid != ? ORDER BY last_hit_at LIMIT 256",
  );
  const deleteRow = db.prepare("DELETE FROM cache_entries WHERE rowid = ?");
  const sweep = db.prepare(
    `DELETE FROM cache_entries WHERE rowid IN
       (SELECT rowid FROM cache_entries WHERE expires_at <= @now ORDER BY expires_at LIMIT @limit)
     RETURNING size`,
  );
  const total = db.prepare("SELECT COALESCE(SUM(size), 0) FROM cache_entries").pluck();
  const groupSql = `COUNT(*) AS entries, COALESCE(SUM(size), 0) AS bytes, COALESCE(SUM(hits), 0) AS hits,
     COALESCE(SUM(hits * cost_usd), 0) AS saved_usd, COALESCE(SUM(expires_at <= @now), 0) AS expired`;
  const statsAll = db.prepare(`SELECT ${groupSql} FROM cache_entries WHERE created_at >= @since`);
  const statsByModel = db.prepare(
    `SELECT model, ${groupSql} FROM cache_entries WHERE created_at >= @since GROUP BY model ORDER BY bytes DESC, model`,
  );
  const dbBytes = db
    .prepare(
      "SELECT (page_count - freelist_count) * page_size FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()",
    )
    .pluck();
  const clear = db.prepare(
    `DELETE FROM cache_entries
     WHERE (@model IS NULL OR model = @model OR model GLOB @model OR substr(model, instr(model, '/') + 1) = @model)
       AND (@before IS NULL OR created_at < @before)
     RETURNING size`,
  );
  const all = db.prepare("SELECT * FROM cache_entries ORDER BY created_at, key");

  let bytes = total.get() as number;
  const pending = new PendingHits();
  const hot = new HotEntries(Math.min(opts.maxBytes, HOT_BYTES));
  let version = dataVersion.get() as number;

  const flushHits = db.transaction((): number => {
    const hits = pending.take();
    for (const hit of hits) bump.run(hit);
    return hits.length;
  });
  const flush = (): number => (pending.size > 0 ? flushHits() : 0);

  /** Inserts or replaces; returns the new row's rowid, or null when the entry can never fit. */
  const store = (entry: CachePut): { rowid: number | bigint; row: Row } | null => {
    const row = toRow(entry);
    if (row.size > opts.maxBytes) return null; // would evict everything else and still not fit
    const before = sizeOf.get(row.key) as number | undefined;
    const { lastInsertRowid } = insert.run(row);
    hot.delete(row.key);
    pending.forget(row.key); // the replaced entry's hits are not the new one's
    bytes += row.size - (before ?? 0);
    return { rowid: lastInsertRowid, row };
  };

  /** Deletes least-recently-used rows (never `keep`, the row just stored) down to the low-water mark. */
  const evict = (keep: number | bigint): void => {
    const target = opts.maxBytes * LOW_WATER;
    flush(); // the LRU order includes the hits not written yet
    while (bytes > target) {
      const victims = lru.all(keep) as { id: number; key: string; size: number }[];
      if (victims.length === 0) return;
      for (const v of victims) {
        deleteRow.run(v.id);
        hot.delete(v.key);
        bytes -= v.size;
        if (bytes <= target) return;
      }
    }
  };

  const sum = (rows: unknown[]): number => (rows as { size: number }[]).reduce((n, r) => n + r.size, 0);

  /** Runs `fn` in a transaction; a rollback also rolls back the in-memory byte total. */
  const atomic = <A, R>(fn: (arg: A) => R) => {
    const tx = db.transaction(fn);
    return (arg: A): R => {
      const before = bytes;
      try {
        return tx(arg);
      } catch (err) {
        bytes = before;
        throw err;
      }
    };
  };

  const put = atomic((entry: CachePut): CacheEntry | null => {
    const stored = store(entry);
    if (!stored) return null;
    if (bytes > opts.maxBytes) evict(stored.rowid);
    return fromRow(stored.row);
  });

  const importAll = atomic((entries: Iterable<unknown>): number => {
    const now = clock();
    let count = 0;
    for (const [i, raw] of [...entries].entries()) {
      const entry = checkEntry(raw, i);
      if (entry.expires_at > now && store(entry)) count++;
    }
    if (bytes > opts.maxBytes) evict(-1);
    return count;
  });

  return {
    get(key, now = clock()) {
      const seen = dataVersion.get() as number;
      if (seen !== version) {
        version = seen;
        hot.clear();
      }
      let entry = hot.get(key);
      if (entry && entry.expires_at <= now) {
        hot.delete(key);
        return null;
      }
      if (!entry) {
        const row = get.get({ key, now }) as Record<string, unknown> | undefined;
        if (!row) return null;
        entry = fromRow(row);
        entry.hits += pending.count(key);
        hot.set(entry);
      }
      pending.add(key, now);
      entry.hits++;
      entry.last_hit_at = Math.max(entry.last_hit_at, now);
      return entry;
    },
    flushHits: flush,
    put: (entry) => put(entry),
    sweepExpired(now, limit) {
      flush();
      const deleted = sweep.all({ now, limit }).length;
      bytes = total.get() as number; // also picks up deletions by other processes (`aigw cache clear`)
      return deleted;
    },
    stats(since = 0) {
      flush();
      const params = { since, now: clock() };
      const totals = statsAll.get(params) as CacheGroupStats;
      const by_model = statsByModel.all(params) as CacheStats["by_model"];
      return { ...totals, db_bytes: dbBytes.get() as number, by_model };
    },
    clear({ model, olderThanMs } = {}) {
      const before = olderThanMs === undefined ? null : clock() - olderThanMs;
      flush();
      hot.clear();
      const deleted = clear.all({ model: model ?? null, before });
      bytes -= sum(deleted);
      return deleted.length;
    },
    *export() {
      flush();
      for (const row of all.iterate()) {
        const { raw: _raw, ...entry } = fromRow(row as Record<string, unknown>);
        yield entry;
      }
    },
    import: (entries) => {
      flush();
      return importAll(entries);
    },
    totalBytes: () => bytes,
  };
}
