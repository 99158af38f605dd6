/** Hourly usage rollups as numbers: one part per hour and dimension value, merged for `aigw stats`. */
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

export const HOUR = 3_600_000;
/** A UTC day: the span of the daily rollups. */
export const DAY = 86_400_000;
/** Buckets per e-fold of latency: bucket width e^(1/20) ≈ 5 %. */
export const BUCKETS_PER_E = 20;
/** The bucket of the fastest latency counted (latencies are clamped at 0.01 ms). */
export const MIN_BUCKET = Math.floor(Math.log(0.01) * BUCKETS_PER_E);
const DIMS = ["all", "model", "client", "provider", "key"] as const;
export type Dim = (typeof DIMS)[number];

export interface Part {
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
export const ROW_SQL =
  "SELECT started_at, requested_model, client, provider, key_id, status, cache, input_tokens, output_tokens, cost_usd, saved_usd, latency_ms, error_type FROM usage";
export type RawRow = [
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

export interface SummarizeOptions {
  since: number;
  until: number;
  by: StatsGrouping;
  timeZone?: string;
}

/** One stored hourly rollup of one dimension value. */
export interface HourPart {
  hour: number;
  value: string;
  part: Part;
}

/** The rollups of one dimension whose span starts in [first, last) (hours, or UTC days). */
export type PartSource = (dim: Dim, first: number, last: number) => Iterable<HourPart>;

/**
 * `aigw stats` from rollups: whole hours from `hours` (the rollups of one dimension), the window's
 * ragged edges from `raw` rows, both binned the same way, so the answer does not depend on where the
 * rollups stop. With `days` (daily rollups, UTC), the whole UTC days inside a window grouped by
 * anything but the local day come from there: a month by model reads ~200 rows, not ~4,000.
 * SQLite and PostgreSQL give it their own sources.
 */
export function summarizeParts(
  opts: SummarizeOptions,
  raw: (start: number, end: number) => Iterable<RawRow>,
  hours: PartSource,
  days?: PartSource,
): { rows: StatsRow[]; total: StatsRow } {
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
    add(total, part, false);
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
    for (const row of raw(start, end)) {
      const group = dayOf ? dayOf.format(row[0]) : dimValue(row, dim);
      let into = groups.get(group);
      if (!into) {
        into = emptyPart();
        groups.set(group, into);
      }
      addRow(into, row);
      addRow(total, row, false);
    }
  }
  // Whole hours, and whole UTC days between them when there are daily rollups and groups are not
  // local days (a day's rollup would straddle two of those).
  const firstDay = Math.ceil(firstHour / DAY) * DAY;
  const lastDay = Math.floor(lastHour / DAY) * DAY;
  const spans: [PartSource, number, number][] =
    days && !dayOf && firstDay < lastDay
      ? [
          [hours, firstHour, firstDay],
          [days, firstDay, lastDay],
          [hours, lastDay, lastHour],
        ]
      : [[hours, firstHour, lastHour]];
  for (const [source, first, last] of spans) {
    if (last <= first) continue;
    for (const { hour, value, part } of source(dim, first, last))
      collect(dayOf ? dayOf.format(hour) : value, part);
  }
  // The total's latencies once from its groups (counts and extremes: the order does not matter).
  for (const p of groups.values()) addLatencies(total, p);
  const rows = [...groups].map(([group, p]) => toRow(group, p));
  rows.sort((a, b) =>
    opts.by === "day"
      ? a.group.localeCompare(b.group)
      : b.requests - a.requests || a.group.localeCompare(b.group),
  );
  return { rows, total: toRow("total", total) };
}

/** The value of one dimension of a row, as dimsOf names it. */
function dimValue(row: RawRow, dim: Dim): string {
  switch (dim) {
    case "all":
      return "";
    case "model":
      return row[1] ?? "(none)";
    case "client":
      return row[2] ?? "anonymous";
    case "provider":
      return row[3] ?? "(none)";
    case "key":
      return row[4] ?? "(none)";
  }
}

export function dimsOf(row: RawRow): [Dim, string][] {
  return [
    ["all", ""],
    ["model", row[1] ?? "(none)"],
    ["client", row[2] ?? "anonymous"],
    ["provider", row[3] ?? "(none)"],
    ["key", row[4] ?? "(none)"],
  ];
}

/** Adds a row; without `latencies` only its counters (the histogram and extremes left as they are). */
export function addRow(p: Part, row: RawRow, latencies = true): void {
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
  if (!latencies) return;
  const bucket = Math.floor(Math.log(Math.max(latency, 0.01)) * BUCKETS_PER_E);
  count(p.hist, bucket - MIN_BUCKET, 1);
  p.min = Math.min(p.min, latency);
  p.max = Math.max(p.max, latency);
}

export function count(hist: number[], index: number, n: number): void {
  while (hist.length <= index) hist.push(0);
  hist[index]! += n;
}

export function lastFilled(hist: number[]): number {
  let i = hist.length - 1;
  while (i >= 0 && !hist[i]) i--;
  return i;
}

export function emptyPart(): Part {
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

/** Adds a part; without `latencies` only its counters (see addLatencies). */
export function add(into: Part, p: Part, latencies = true): void {
  into.requests += p.requests;
  into.errors += p.errors;
  into.cache_hits += p.cache_hits;
  into.input_tokens += p.input_tokens;
  into.output_tokens += p.output_tokens;
  if (p.cost_usd !== null) into.cost_usd = (into.cost_usd ?? 0) + p.cost_usd;
  into.unpriced += p.unpriced;
  into.saved_usd += p.saved_usd;
  if (latencies) addLatencies(into, p);
}

/** Adds a part's histogram and extremes. */
export function addLatencies(into: Part, p: Part): void {
  const from = p.hist;
  const to = into.hist;
  while (to.length < from.length) to.push(0);
  for (let i = 0; i < from.length; i++) to[i]! += from[i]!;
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

export function toRow(group: string, p: Part): StatsRow {
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

/** A rollup row's counters (SQLite or PostgreSQL, numbers or numeric strings) as a part's. */
export function countsOf(r: Record<string, unknown>): Omit<Part, "hist" | "min" | "max"> {
  return {
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
    unpriced: Number(r.unpriced),
    saved_usd: Number(r.saved_usd),
  };
}
