import type { CacheEntry, CachePut, CacheUsage } from "./response-cache.js";

/** Rough bytes of a row besides its text and blob columns (numbers, record header, index entries). */
const ROW_OVERHEAD = 64;

export const COLUMNS = [
  "key",
  "namespace",
  "format",
  "route",
  "model",
  "usage",
  "cost_usd",
  "created_at",
  "expires_at",
  "last_hit_at",
  "hits",
  "size",
  "body",
] as const;

export type Row = Record<(typeof COLUMNS)[number], string | number | Buffer | null> & {
  key: string;
  size: number;
};

export function toRow(entry: CachePut): Row {
  // Raw JSON bytes are stored as they are: the answer as it was sent, no second serialization.
  const body =
    entry.body instanceof Uint8Array
      ? Buffer.from(entry.body.buffer, entry.body.byteOffset, entry.body.byteLength)
      : Buffer.from(JSON.stringify(entry.body), "utf8");
  const usage = JSON.stringify(entry.usage);
  const text = entry.key.length + entry.namespace.length + entry.format.length + entry.route.length;
  return {
    key: entry.key,
    namespace: entry.namespace,
    format: entry.format,
    route: entry.route,
    model: entry.model,
    usage,
    cost_usd: entry.cost_usd,
    created_at: entry.created_at,
    expires_at: entry.expires_at,
    last_hit_at: entry.last_hit_at ?? entry.created_at,
    hits: entry.hits ?? 0,
    size: body.length + usage.length + text + Buffer.byteLength(entry.model) + ROW_OVERHEAD,
    body,
  };
}

export function fromRow(row: Record<string, unknown>): CacheEntry {
  const { body, usage, ...rest } = row;
  const raw = Buffer.isBuffer(body) ? body : Buffer.from(String(body), "utf8");
  return {
    ...(rest as Omit<CacheEntry, "body" | "usage">),
    body: JSON.parse(raw.toString("utf8")),
    raw,
    usage: JSON.parse(String(usage)) as CacheUsage,
  };
}

/** An imported line, checked enough that a bad file fails with the line's number, not a SQL error. */
export function checkEntry(raw: unknown, index: number): CachePut {
  const e = (typeof raw === "object" && raw !== null ? raw : {}) as Partial<CacheEntry>;
  const checks: [string, boolean][] = [
    ["key", typeof e.key === "string" && e.key !== ""],
    ["format", e.format === "openai" || e.format === "anthropic" || e.format === "responses"],
    ["route", typeof e.route === "string"],
    ["model", typeof e.model === "string"],
    ["created_at", typeof e.created_at === "number"],
    ["expires_at", typeof e.expires_at === "number"],
    ["body", e.body !== undefined],
  ];
  const problem = checks.find(([, ok]) => !ok)?.[0];
  if (problem) throw new TypeError(`cache import: entry ${index + 1} has a missing or bad \`${problem}\``);
  const entry = e as CacheEntry;
  return {
    ...entry,
    namespace: typeof entry.namespace === "string" ? entry.namespace : "",
    usage: entry.usage ?? { input: null, cachedInput: null, cacheWrite: null, output: null },
    cost_usd: typeof entry.cost_usd === "number" ? entry.cost_usd : null,
  };
}
