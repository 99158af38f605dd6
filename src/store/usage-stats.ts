import type { Db } from "./db.js";

export const statsGroupings = ["model", "client", "provider", "key", "day"] as const;
export type StatsGrouping = (typeof statsGroupings)[number];

export interface StatsRow {
  group: string;
  requests: number;
  errors: number;
  cache_hits: number;
  input_tokens: number;
  output_tokens: number;
  /** Sum of priced requests; null when none was priced. */
  cost_usd: number | null;
  /** Answered requests with no known price (not counted in cost). */
  unpriced: number;
  saved_usd: number;
  /**
   * Latency percentiles, nearest-rank (the value at rank ceil(q·n)) over log-scale histograms:
   * within about 5 %, clamped to the fastest and slowest seen, so two samples give their own values.
   */
  p50_ms: number | null;
  p95_ms: number | null;
}

const HOUR = 3_600_000;
/** Buckets per e-fold of latency: bucket width e^(1/20) ≈ 5 %. */
const BUCKETS_PER_E = 20;
/** The bucket of the fastest latency counted (latencies are clamped at 0.01 ms). */
const MIN_BUCKET = Math.floor(Math.log(0.01) * BUCKETS_PER_E);
const DIMS = ["all", "model", "client", "provider", "key"] as const;
type Dim = (typeof DIMS)[number];

interface Part {
  requests: number;
  errors: number;
  cache_hits: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  unpriced: number;
  saved_usd: number;
  /** Counts by log-scale bucket, dense from MIN_BUCKET (index 0): adding two is a loop, not a Map merge. */
  hist: number[];
  /** Fastest and slowest latency seen (Infinity/-Infinity when none). */
  min: number;
  max: number;
}

/** The usage columns a rollup needs, in this order (read raw for speed). */
const ROW_SQL =
  "SELECT started_at, requested_model, client, provider, key_id, status, cache, input_tokens, output_tokens, cost_usd, saved_usd, latency_ms, error_type FROM usage";
type RawRow = [
  number,
  string | null,
  string | null,
  string | null,
  string | null,
  number,
  string,
  number | null,
  number | null,
  number | null,
  number | null,
  number,
  string | null,
];

/**
 * `aigw stats` over hourly rollups: whole hours come from `usage_hourly`, the window's ragged edges
 * from the raw rows. `catchUp` rolls up rows added since the last time (by rowid), so the rollup
 * costs nothing on the request path.
 */
export function createUsageStats(db: Db) {
  const watermark = db.prepare("SELECT value FROM meta WHERE name = 'rollup_rowid'").pluck();
  const setWatermark = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('rollup_rowid', ?)");
  const pending = db
    .prepare(`${ROW_SQL.replace(" FROM", ", rowid FROM")} WHERE rowid > ? ORDER BY rowid LIMIT ?`)
    .raw();
  const between = db.prepare(`${ROW_SQL} WHERE started_at >= ? AND started_at < ?`).raw();
  const existing = db.prepare("SELECT * FROM usage_hourly WHERE dim = ? AND hour = ? AND value = ?");
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO usage_hourly VALUES (@hour, @dim, @value, @requests, @errors, @cache_hits,
       @input_tokens, @output_tokens, @cost_usd, @unpriced, @saved_usd, @latency_hist)`,
  );
  const hours = db.prepare("SELECT * FROM usage_hourly WHERE dim = ? AND hour >= ? AND hour < ?");

  const catchUp = db.transaction((limit: number): number => {
    const from = Number(watermark.get() ?? 0);
    let to = from;
    let count = 0;
    const parts = new Map<string, Part>();
    for (const withRowid of pending.iterate(from, limit) as Iterable<[...RawRow, number]>) {
      to = withRowid[13];
      count++;
      const row = withRowid as unknown as RawRow; // the extra trailing rowid is ignored
      const hour = Math.floor(row[0] / HOUR) * HOUR;
      for (const [dim, value] of dimsOf(row)) {
        const id = `${dim}\u0000${hour}\u0000${value}`;
        let part = parts.get(id);
        if (!part) {
          part = emptyPart();
          parts.set(id, part);
        }
        addRow(part, row);
      }
    }
    for (const [id, part] of parts) {
      const [dim, hour, value] = id.split("\u0000") as [string, string, string];
      const old = existing.get(dim, Number(hour), value) as Record<string, unknown> | undefined;
      if (old) add(part, fromRollup(old));
      upsert.run({ ...partColumns(part), dim, hour: Number(hour), value });
    }
    if (count) setWatermark.run(String(to));
    return count;
  });

  return {
    /** Rolls up (at most `limit`) rows added since the last catch-up; returns how many. */
    catchUp: (limit = Number.MAX_SAFE_INTEGER): number => catchUp.immediate(limit),

    summarize(opts: { since: number; until: number; by: StatsGrouping; timeZone?: string }) {
      catchUp.immediate(Number.MAX_SAFE_INTEGER);
      const dim: Dim = opts.by === "day" ? "all" : opts.by;
      const firstHour = Math.ceil(opts.since / HOUR) * HOUR;
      const lastHour = Math.max(firstHour, Math.floor(opts.until / HOUR) * HOUR);
      const groups = new Map<string, Part>();
      const total = emptyPart();
      const dayOf =
        opts.by === "day"
          ? new Intl.DateTimeFormat("en-CA", {
              timeZone: opts.timeZone,
              year: "numeric",
              month: "2-digit",
              day: "2-digit",
            })
          : null;
      const collect = (group: string, part: Part) => {
        let into = groups.get(group);
        if (!into) {
          into = emptyPart();
          groups.set(group, into);
        }
        add(into, part);
        add(total, part);
      };
      // Ragged edges from raw rows, whole hours from the rollup.
      const edges: [number, number][] =
        firstHour >= opts.until
          ? [[opts.since, opts.until]]
          : [
              [opts.since, firstHour],
              [lastHour, opts.until],
            ];
      for (const [start, end] of edges) {
        if (end <= start) continue;
        for (const row of between.iterate(start, end) as Iterable<RawRow>) {
          const part = emptyPart();
          addRow(part, row);
          collect(
            dayOf ? dayOf.format(row[0]) : (dimsOf(row).find(([d]) => d === dim)?.[1] ?? "(none)"),
            part,
          );
        }
      }
      for (const row of hours.all(dim, firstHour, lastHour) as Record<string, unknown>[]) {
        collect(dayOf ? dayOf.format(Number(row.hour)) : String(row.value), fromRollup(row));
      }
      const rows = [...groups].map(([group, p]) => toRow(group, p));
      rows.sort((a, b) =>
        opts.by === "day"
          ? a.group.localeCompare(b.group)
          : b.requests - a.requests || a.group.localeCompare(b.group),
      );
      return { rows, total: toRow("total", total) };
    },
  };
}

export type UsageStats = ReturnType<typeof createUsageStats>;

function dimsOf(row: RawRow): [Dim, string][] {
  return [
    ["all", ""],
    ["model", row[1] ?? "(none)"],
    ["client", row[2] ?? "anonymous"],
    ["provider", row[3] ?? "(none)"],
    ["key", row[4] ?? "(none)"],
  ];
}

function addRow(p: Part, row: RawRow): void {
  const [, , , , , status, cache, input, output, cost, saved, latency, errorType] = row;
  p.requests++;
  // A stream that failed after its 200 still counts as an error (as `aigw tail --errors` shows it).
  if (status >= 400 || errorType) p.errors++;
  if (cache === "HIT") p.cache_hits++;
  p.input_tokens += input ?? 0;
  p.output_tokens += output ?? 0;
  if (cost !== null) p.cost_usd = (p.cost_usd ?? 0) + cost;
  else if (status < 400 && cache !== "HIT") p.unpriced++;
  p.saved_usd += saved ?? 0;
  const bucket = Math.floor(Math.log(Math.max(latency, 0.01)) * BUCKETS_PER_E);
  count(p.hist, bucket - MIN_BUCKET, 1);
  p.min = Math.min(p.min, latency);
  p.max = Math.max(p.max, latency);
}

function count(hist: number[], index: number, n: number): void {
  while (hist.length <= index) hist.push(0);
  hist[index]! += n;
}

/**
 * A rollup's histogram as stored: little-endian doubles [min, max, first bucket, counts from it...],
 * read back with a loop (a JSON object of ~50 buckets per row was most of `aigw stats`' time).
 */
function encodeHist(p: Part): Buffer {
  const first = p.hist.findIndex((n) => n > 0);
  const counts = first === -1 ? [] : p.hist.slice(first, lastFilled(p.hist) + 1);
  const out = Buffer.allocUnsafe(8 * (3 + counts.length));
  out.writeDoubleLE(p.min, 0);
  out.writeDoubleLE(p.max, 8);
  out.writeDoubleLE(first === -1 ? 0 : first + MIN_BUCKET, 16);
  for (let i = 0; i < counts.length; i++) out.writeDoubleLE(counts[i]!, 24 + 8 * i);
  return out;
}

function lastFilled(hist: number[]): number {
  let i = hist.length - 1;
  while (i >= 0 && !hist[i]) i--;
  return i;
}

function decodeHist(stored: unknown): { hist: number[]; min: number; max: number } {
  const hist: number[] = [];
  if (Buffer.isBuffer(stored)) {
    const first = stored.readDoubleLE(16) - MIN_BUCKET;
    for (let off = 24, i = first; off < stored.length; off += 8, i++)
      count(hist, i, stored.readDoubleLE(off));
    return { hist, min: stored.readDoubleLE(0), max: stored.readDoubleLE(8) };
  }
  // Rollups written before the binary form: JSON {bucket: count}, extremes as "min"/"max".
  const { min, max, ...buckets } = JSON.parse(String(stored)) as Record<string, number>;
  for (const b in buckets) count(hist, Number(b) - MIN_BUCKET, buckets[b]!);
  return { hist, min: min ?? Number.POSITIVE_INFINITY, max: max ?? Number.NEGATIVE_INFINITY };
}

function partColumns(p: Part) {
  const { hist: _, min: _min, max: _max, ...rest } = p;
  return { ...rest, latency_hist: encodeHist(p) };
}

function fromRollup(r: Record<string, unknown>): Part {
  const { hist, min, max } = decodeHist(r.latency_hist);
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
    unpriced: Number(r.unpriced),
    saved_usd: Number(r.saved_usd),
    hist,
    min,
    max,
  };
}

function emptyPart(): Part {
  return {
    requests: 0,
    errors: 0,
    cache_hits: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: null,
    unpriced: 0,
    saved_usd: 0,
    hist: [],
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
  };
}

function add(into: Part, p: Part): void {
  into.requests += p.requests;
  into.errors += p.errors;
  into.cache_hits += p.cache_hits;
  into.input_tokens += p.input_tokens;
  into.output_tokens += p.output_tokens;
  if (p.cost_usd !== null) into.cost_usd = (into.cost_usd ?? 0) + p.cost_usd;
  into.unpriced += p.unpriced;
  into.saved_usd += p.saved_usd;
  for (let i = 0; i < p.hist.length; i++) if (p.hist[i]) count(into.hist, i, p.hist[i]!);
  into.min = Math.min(into.min, p.min);
  into.max = Math.max(into.max, p.max);
}

/** Nearest-rank: the smallest bucket holding the ceil(q·n)-th fastest request. */
function percentile(p: Part, q: number): number | null {
  const total = p.hist.reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = Math.max(1, Math.ceil(q * total));
  const first = p.hist.findIndex((n) => n > 0);
  const last = lastFilled(p.hist);
  let seen = 0;
  for (let i = first; i <= last; i++) {
    seen += p.hist[i]!;
    if (!p.hist[i] || seen < rank) continue;
    // The end buckets hold the fastest and slowest request: their exact values beat a midpoint.
    if (i === first && Number.isFinite(p.min)) return p.min;
    if (i === last && Number.isFinite(p.max)) return p.max;
    return Math.round(Math.exp((i + MIN_BUCKET + 0.5) / BUCKETS_PER_E) * 100) / 100;
  }
  return null;
}

function toRow(group: string, p: Part): StatsRow {
  return {
    group,
    requests: p.requests,
    errors: p.errors,
    cache_hits: p.cache_hits,
    input_tokens: p.input_tokens,
    output_tokens: p.output_tokens,
    cost_usd: p.cost_usd === null ? null : Math.round(p.cost_usd * 1e8) / 1e8,
    unpriced: p.unpriced,
    saved_usd: Math.round(p.saved_usd * 1e8) / 1e8,
    p50_ms: percentile(p, 0.5),
    p95_ms: percentile(p, 0.95),
  };
}
