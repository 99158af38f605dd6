import type { CacheEntry } from "./response-cache.js";

/**
 * Hits kept in memory until `take()`, so a cache hit commits nothing: the gateway folds them into
 * the table in one transaction off the request path (and before anything that reads hit counts).
 */
export class PendingHits {
  private readonly hits = new Map<string, { n: number; last: number }>();

  add(key: string, now: number): number {
    const pending = this.hits.get(key);
    if (pending) {
      pending.n++;
      pending.last = Math.max(pending.last, now);
      return pending.n;
    }
    this.hits.set(key, { n: 1, last: now });
    return 1;
  }

  count(key: string): number {
    return this.hits.get(key)?.n ?? 0;
  }

  forget(key: string): void {
    this.hits.delete(key);
  }

  get size(): number {
    return this.hits.size;
  }

  /** Every pending hit, emptied. */
  take(): { key: string; n: number; last: number }[] {
    const out = [...this.hits].map(([key, { n, last }]) => ({ key, n, last }));
    this.hits.clear();
    return out;
  }
}

/**
 * The most recently used entries, parsed, in front of SQLite; bounded in bytes (an entry costs its
 * stored size twice: the raw bytes and the parsed body). Map order is the LRU order.
 */
export class HotEntries {
  private readonly entries = new Map<string, CacheEntry>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): CacheEntry | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }

  set(entry: CacheEntry): void {
    this.delete(entry.key);
    const cost = entry.size * 2;
    if (cost > this.maxBytes) return;
    this.entries.set(entry.key, entry);
    this.bytes += cost;
    for (const [key] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.delete(key);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.bytes -= entry.size * 2;
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
