import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openDb } from "./db.js";
import { type CachePut, createResponseCache, type ResponseCache } from "./response-cache.js";

let dir: string;
let db: Db;
let now: number;
const T0 = Date.UTC(2026, 10, 1, 12);
const HOUR = 3_600_000;
const clock = () => now;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-cache-"));
  db = openDb(join(dir, "aigw.db"));
  now = T0;
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const answer = (text: string) => ({
  id: "chatcmpl-1",
  object: "chat.completion",
  choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
});

const entry = (key: string, over: Partial<CachePut> = {}): CachePut => ({
  key,
  namespace: "",
  format: "openai",
  route: "chat",
  model: "openai/gpt-4o-mini",
  body: answer(`answer ${key}`),
  usage: { input: 12, cachedInput: 0, cacheWrite: null, output: 9 },
  cost_usd: 0.0002,
  created_at: now,
  expires_at: now + HOUR,
  ...over,
});

const sqlTotal = (): number =>
  db.prepare("SELECT COALESCE(SUM(size), 0) FROM cache_entries").pluck().get() as number;
const keys = (): string[] =>
  (db.prepare("SELECT key FROM cache_entries ORDER BY key").pluck().all() as string[]).sort();

describe("response cache", () => {
  let cache: ResponseCache;
  beforeEach(() => {
    cache = createResponseCache(db, { maxBytes: 1_000_000, clock });
  });

  it("stores an answer and gets it back parsed; a hit bumps hits and last_hit_at", () => {
    const body = { ...answer("Hello ✓"), usage: { prompt_tokens: 12 } };
    const stored = cache.put(entry("k1", { body }));
    expect(stored).toMatchObject({ key: "k1", hits: 0, last_hit_at: T0, body });
    expect(stored?.size).toBeGreaterThan(Buffer.byteLength(JSON.stringify(body)));

    now = T0 + 5000;
    const hit = cache.get("k1");
    expect(hit).toStrictEqual({ ...stored, hits: 1, last_hit_at: T0 + 5000 });
    expect(cache.get("k1", T0 + 9000)).toMatchObject({ hits: 2, last_hit_at: T0 + 9000 });
    expect(cache.get("nope")).toBeNull();
  });

  it("keeps hits in memory (a hit commits nothing) until flushHits writes them in one transaction", () => {
    cache.put(entry("k1"));
    cache.put(entry("k2"));
    const hits = () => db.prepare("SELECT key, hits, last_hit_at FROM cache_entries ORDER BY key").all();
    const changes = () => db.prepare("SELECT total_changes()").pluck().get() as number;
    const before = changes();
    for (const t of [1000, 2000, 3000]) expect(cache.get("k1", T0 + t)).toMatchObject({ hits: t / 1000 });
    expect(cache.get("k2", T0 + 1500)).toMatchObject({ hits: 1, last_hit_at: T0 + 1500 });
    expect(changes()).toBe(before);
    expect(hits()).toEqual([
      { key: "k1", hits: 0, last_hit_at: T0 },
      { key: "k2", hits: 0, last_hit_at: T0 },
    ]);
    expect(cache.flushHits()).toBe(2);
    expect(hits()).toEqual([
      { key: "k1", hits: 3, last_hit_at: T0 + 3000 },
      { key: "k2", hits: 1, last_hit_at: T0 + 1500 },
    ]);
    expect(cache.flushHits()).toBe(0);
    // Stats (what `aigw cache stats` reads) include hits not flushed yet.
    cache.get("k2", T0 + 4000);
    expect(cache.stats()).toMatchObject({ hits: 5, saved_usd: 5 * 0.0002 });
    // A fresh reader of the same file sees the counts, and keeps counting from them.
    const reopened = createResponseCache(db, { maxBytes: 1_000_000, clock });
    expect(reopened.get("k1", T0 + 5000)).toMatchObject({ hits: 4 });
  });

  it("drops its hot copies when another connection clears entries, and a replaced entry starts at 0 hits", () => {
    cache.put(entry("k1"));
    expect(cache.get("k1", T0 + 1)).not.toBeNull(); // now held in memory
    const other = openDb(join(dir, "aigw.db"));
    expect(createResponseCache(other, { maxBytes: 1_000_000, clock }).clear({ model: "gpt-4o-mini" })).toBe(
      1,
    );
    other.close();
    expect(cache.get("k1", T0 + 2)).toBeNull();

    cache.put(entry("k2"));
    cache.get("k2", T0 + 3);
    cache.put(entry("k2", { body: answer("new") }));
    expect(cache.get("k2", T0 + 4)).toMatchObject({ hits: 1, body: answer("new") });
    cache.flushHits();
    expect(db.prepare("SELECT hits FROM cache_entries WHERE key = 'k2'").pluck().get()).toBe(1);
  });

  it("treats an expired entry as a miss and does not bump it; a put replaces it", () => {
    cache.put(entry("k1", { expires_at: T0 + 1000 }));
    expect(cache.get("k1", T0 + 999)).not.toBeNull();
    expect(cache.get("k1", T0 + 1000)).toBeNull();
    expect(cache.get("k1", T0 + 5000)).toBeNull();
    cache.flushHits();
    expect(db.prepare("SELECT hits FROM cache_entries").pluck().get()).toBe(1);

    const before = cache.totalBytes();
    cache.put(entry("k1", { created_at: T0 + 5000, expires_at: T0 + 9000, body: answer("answer k1") }));
    expect(cache.totalBytes()).toBe(before); // replaced, not counted twice
    expect(cache.get("k1", T0 + 6000)).toMatchObject({ hits: 1, created_at: T0 + 5000 });
  });

  it("evicts the least recently used (not the oldest) entries down to ~90 % of maxBytes", () => {
    const size = createResponseCache(db, { maxBytes: 1e9, clock }).put(entry("probe"))?.size ?? 0;
    cache.clear();
    const small = createResponseCache(db, { maxBytes: size * 5, clock });
    for (const key of ["a", "b", "c", "d", "e"]) {
      now += 1000;
      small.put(entry(key));
    }
    expect(keys()).toEqual(["a", "b", "c", "d", "e"]);
    now += 1000;
    small.get("a"); // oldest created, but now the most recently used
    now += 1000;
    small.put(entry("f"));
    // 6 entries > 5 × size: evict to ≤ 4.5 × size, i.e. drop b and c (least recently used), keep a.
    expect(keys()).toEqual(["a", "d", "e", "f"]);
    expect(small.totalBytes()).toBe(sqlTotal());
    expect(small.totalBytes()).toBeLessThanOrEqual(size * 5 * 0.9);

    for (let i = 0; i < 50; i++) {
      now += 10;
      small.put(entry(`x${i}`, { body: answer("y".repeat(i % 7)) }));
      expect(small.totalBytes()).toBeLessThanOrEqual(size * 5);
      expect(small.totalBytes()).toBe(sqlTotal());
    }
    expect(keys()).toContain("x49"); // the entry just stored is never the one evicted
  });

  it("refuses an entry larger than maxBytes instead of emptying the cache for it", () => {
    const tiny = createResponseCache(db, { maxBytes: 300, clock });
    expect(tiny.put(entry("small", { body: {} }))).not.toBeNull();
    expect(tiny.put(entry("huge", { body: answer("z".repeat(1000)) }))).toBeNull();
    expect(keys()).toEqual(["small"]);
  });

  it("starts its byte total from the database, and a sweep re-reads it after another process deleted rows", () => {
    cache.put(entry("a"));
    cache.put(entry("b"));
    const reopened = createResponseCache(db, { maxBytes: 1_000_000, clock });
    expect(reopened.totalBytes()).toBe(sqlTotal());
    expect(reopened.totalBytes()).toBeGreaterThan(0);

    const other = openDb(join(dir, "aigw.db"));
    createResponseCache(other, { maxBytes: 1_000_000, clock }).clear({ model: "openai/gpt-4o-mini" });
    other.close();
    expect(reopened.sweepExpired(now, 100)).toBe(0);
    expect(reopened.totalBytes()).toBe(0);
  });

  it("sweeps expired entries in batches and returns how many it deleted", () => {
    for (let i = 0; i < 7; i++) cache.put(entry(`old${i}`, { expires_at: T0 + 100 + i }));
    cache.put(entry("live", { expires_at: T0 + HOUR }));
    expect(cache.sweepExpired(T0 + 1000, 5)).toBe(5);
    expect(cache.sweepExpired(T0 + 1000, 5)).toBe(2);
    expect(cache.sweepExpired(T0 + 1000, 5)).toBe(0);
    expect(keys()).toEqual(["live"]);
    expect(cache.totalBytes()).toBe(sqlTotal());
  });

  it("clears by model (exact, bare name or glob) and by age", () => {
    cache.put(entry("m1", { model: "openai/gpt-4o-mini" }));
    cache.put(entry("m2", { model: "openai/gpt-4o" }));
    cache.put(entry("m3", { model: "anthropic/claude-haiku-4-5" }));
    now = T0 + 2 * HOUR;
    cache.put(entry("m4", { model: "anthropic/claude-haiku-4-5" }));
    cache.put(entry("m5", { model: "ollama/llama3.2" }));

    expect(cache.clear({ model: "gpt-4o" })).toBe(1);
    expect(keys()).toEqual(["m1", "m3", "m4", "m5"]);
    expect(cache.clear({ model: "anthropic/claude-haiku-4-5", olderThanMs: HOUR })).toBe(1);
    expect(keys()).toEqual(["m1", "m4", "m5"]);
    expect(cache.clear({ olderThanMs: HOUR })).toBe(1);
    expect(keys()).toEqual(["m4", "m5"]);
    expect(cache.clear({ model: "nope/*" })).toBe(0);
    expect(cache.clear({ model: "*/llama*" })).toBe(1);
    expect(cache.totalBytes()).toBe(sqlTotal());
    expect(cache.clear()).toBe(1);
    expect(cache.totalBytes()).toBe(0);
  });

  it("reports entries, bytes, hits, saved USD and expired entries, overall and by model", () => {
    cache.put(entry("a", { cost_usd: 0.01 }));
    cache.put(entry("b", { cost_usd: null, expires_at: T0 + 10 }));
    cache.put(entry("c", { model: "anthropic/claude-haiku-4-5", cost_usd: 0.5 }));
    cache.get("a", T0 + 1);
    cache.get("a", T0 + 2);
    cache.get("c", T0 + 3);
    now = T0 + 100;
    const stats = cache.stats();
    expect(stats).toMatchObject({ entries: 3, bytes: sqlTotal(), hits: 3, expired: 1 });
    expect(stats.saved_usd).toBeCloseTo(0.52);
    expect(stats.db_bytes).toBeGreaterThan(stats.bytes);
    expect(stats.by_model.map((m) => [m.model, m.entries, m.hits])).toEqual(
      expect.arrayContaining([
        ["openai/gpt-4o-mini", 2, 2],
        ["anthropic/claude-haiku-4-5", 1, 1],
      ]),
    );
    expect(cache.stats(T0 + 1)).toMatchObject({ entries: 0, bytes: 0, hits: 0, by_model: [] });
  });

  it("exports NDJSON-friendly entries and imports them into another database unchanged", () => {
    cache.put(entry("a", { namespace: "team", body: { ...answer("é 👋"), usage: { prompt_tokens: 3 } } }));
    cache.put(entry("b", { format: "anthropic", route: "messages", body: { type: "message", content: [] } }));
    cache.put(entry("gone", { expires_at: T0 + 10 }));
    cache.get("a", T0 + 5);
    const lines = [...cache.export()].map((e) => JSON.stringify(e));
    expect(lines).toHaveLength(3);

    const db2 = openDb(join(dir, "other.db"));
    try {
      now = T0 + 100;
      const copy = createResponseCache(db2, { maxBytes: 1_000_000, clock });
      expect(copy.import(lines.map((l) => JSON.parse(l)))).toBe(2); // the expired one is skipped
      const original = lines.map((l) => JSON.parse(l)).filter((e) => e.key !== "gone");
      expect([...copy.export()]).toStrictEqual(original);
      const total = copy.totalBytes();
      expect(total).toBe(cache.totalBytes() - sizeOf("gone"));
      expect(() => copy.import([{ key: "x", format: "grpc" }])).toThrow(/entry 1 .*`format`/);
      const fresh = { ...JSON.parse(lines[0]!), key: "new" };
      expect(() => copy.import([fresh, { ...JSON.parse(lines[1]!), body: undefined }])).toThrow(
        /entry 2 .*`body`/,
      );
      expect(copy.stats().entries).toBe(2); // a failed import changes nothing, its byte count included
      expect(copy.totalBytes()).toBe(total);
    } finally {
      db2.close();
    }
  });
});

const sizeOf = (key: string): number =>
  db.prepare("SELECT size FROM cache_entries WHERE key = ?").pluck().get(key) as number;
