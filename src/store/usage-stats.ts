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
  /** Latency percentiles from log-scale histograms: within about 5 %. */
  p50_ms: number | null;
  p95_ms: number | null;
}

const HOUR = 3_600_000;
/** Buckets per e-fold of latency: bucket width e^(1/20) ≈ 5 %. */
const BUCKETS_PER_E = 20;

interface Part {
  hour: number;
  model: string;
  client: string;
  provider: string;
  key_id: string;
  requests: number;
  errors: number;
  cache_hits: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  unpriced: number;
  saved_usd: number;
  hist: Map<number, number>;
}

const AGGREGATE = `
  SELECT (started_at / ${HOUR}) * ${HOUR} AS hour,
         COALESCE(requested_model, '(none)') AS model, COALESCE(client, 'anonymous') AS client,
         COALESCE(provider, '(none)') AS provider, COALESCE(key_id, '(none)') AS key_id,
         CAST(floor(ln(max(latency_ms, 0.01)) * ${BUCKETS_PER_E}) AS INTEGER) AS bucket,
         COUNT(*) AS requests, SUM(status >= 400) AS errors, SUM(cache = 'HIT') AS cache_hits,
         COALESCE(SUM(input_tokens), 0) AS input_tokens, COALESCE(SUM(output_tokens), 0) AS output_tokens,
         SUM(cost_usd) AS cost_usd, SUM(cost_usd IS NULL AND status < 400 AND cache != 'HIT') AS unpriced,
         COALESCE(SUM(saved_usd), 0) AS saved_usd
  FROM usage`;
const GROUP = "GROUP BY hour, model, client, provider, key_id, bucket";

/**
 * `aigw stats` over hourly rollups: whole hours come from `usage_hourly`, the window's ragged edges
 * from the raw rows. `catchUp` rolls up rows added since the last time (by rowid), so the rollup
 * costs nothing on the request path.
 */
export function createUsageStats(db: Db) {
  const watermark = db.prepare("SELECT value FROM meta WHERE name = 'rollup_rowid'").pluck();
  const setWatermark = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('rollup_rowid', ?)");
  const maxRowid = db.prepare("SELECT COALESCE(MAX(rowid), 0) FROM usage").pluck();
  const pending = db.prepare(`${AGGREGATE} WHERE rowid > ? AND rowid <= ? ${GROUP}`);
  const raw = db.prepare(`${AGGREGATE} WHERE started_at >= ? AND started_at < ? ${GROUP}`);
  const existing = db.prepare(
    "SELECT * FROM usage_hourly WHERE hour = @hour AND model = @model AND client = @client AND provider = @provider AND key_id = @key_id",
  );
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO usage_hourly VALUES (@hour, @model, @client, @provider, @key_id, @requests, @errors,
       @cache_hits, @input_tokens, @output_tokens, @cost_usd, @unpriced, @saved_usd, @latency_hist)`,
  );
  const hours = db.prepare("SELECT * FROM usage_hourly WHERE hour >= ? AND hour < ?");

  const catchUp = db.transaction((): number => {
    const from = Number(watermark.get() ?? 0);
    const to = maxRowid.get() as number;
    if (to <= from) return 0;
    for (const part of merge(pending.all(from, to) as Record<string, number | string | null>[]).values()) {
      const old = existing.get(part) as Record<string, number | string | null> | undefined;
      if (old) add(part, fromRollup(old));
      upsert.run({ ...part, latency_hist: JSON.stringify(Object.fromEntries(part.hist)), hist: undefined });
    }
    setWatermark.run(String(to));
    return to - from;
  });

  return {
    /** Rolls up rows added since the last catch-up; returns how many. */
    catchUp: (): number => catchUp.immediate(),

    summarize(opts: { since: number; until: number; by: StatsGrouping; timeZone?: string }) {
      catchUp.immediate();
      const firstHour = Math.ceil(opts.since / HOUR) * HOUR;
      const lastHour = Math.floor(opts.until / HOUR) * HOUR;
      const parts: Part[] = [];
      if (firstHour >= lastHour) {
        parts.push(
          ...merge(raw.all(opts.since, opts.until) as Record<string, number | string | null>[]).values(),
        );
      } else {
        parts.push(
          ...merge(raw.all(opts.since, firstHour) as Record<string, number | string | null>[]).values(),
        );
        for (const row of hours.all(firstHour, lastHour) as Record<string, number | string | null>[])
          parts.push(fromRollup(row));
        parts.push(
          ...merge(raw.all(lastHour, opts.until) as Record<string, number | string | null>[]).values(),
        );
      }
      const label = groupLabel(opts.by, opts.timeZone);
      const groups = new Map<string, Part>();
      const total = emptyPart();
      for (const part of parts) {
        const key = label(part);
        const group = groups.get(key) ?? emptyPart();
        add(group, part);
        groups.set(key, group);
        add(total, part);
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

function groupLabel(by: StatsGrouping, timeZone?: string): (p: Part) => string {
  if (by === "day") {
    const fmt = new Intl.DateTimeFormat("en-CA", {
      timeZone,
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
    });
    return (p) => fmt.format(p.hour);
  }
  const field = ({ model: "model", client: "client", provider: "provider", key: "key_id" } as const)[by];
  return (p) => p[field];
}

/** Folds the aggregate query's rows (one per latency bucket) into one part per hour and dimensions. */
function merge(rows: Record<string, number | string | null>[]): Map<string, Part> {
  const parts = new Map<string, Part>();
  for (const r of rows) {
    const id = `${r.hour}\u0000${r.model}\u0000${r.client}\u0000${r.provider}\u0000${r.key_id}`;
    let part = parts.get(id);
    if (!part) {
      part = {
        ...emptyPart(),
        hour: Number(r.hour),
        model: String(r.model),
        client: String(r.client),
        provider: String(r.provider),
        key_id: String(r.key_id),
      };
      parts.set(id, part);
    }
    add(part, {
      ...emptyPart(),
      requests: Number(r.requests),
      errors: Number(r.errors),
      cache_hits: Number(r.cache_hits),
      input_tokens: Number(r.input_tokens),
      output_tokens: Number(r.output_tokens),
      cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
      unpriced: Number(r.unpriced),
      saved_usd: Number(r.saved_usd),
      hist: new Map([[Number(r.bucket), Number(r.requests)]]),
    });
  }
  return parts;
}

function fromRollup(r: Record<string, number | string | null>): Part {
  const hist = new Map(
    Object.entries(JSON.parse(String(r.latency_hist)) as Record<string, number>).map(([b, n]) => [
      Number(b),
      n,
    ]),
  );
  return {
    hour: Number(r.hour),
    model: String(r.model),
    client: String(r.client),
    provider: String(r.provider),
    key_id: String(r.key_id),
    requests: Number(r.requests),
    errors: Number(r.errors),
    cache_hits: Number(r.cache_hits),
    input_tokens: Number(r.input_tokens),
    output_tokens: Number(r.output_tokens),
    cost_usd: r.cost_usd === null ? null : Number(r.cost_usd),
    unpriced: Number(r.unpriced),
    saved_usd: Number(r.saved_usd),
    hist,
  };
}

function emptyPart(): Part {
  return {
    hour: 0,
    model: "",
    client: "",
    provider: "",
    key_id: "",
    requests: 0,
    errors: 0,
    cache_hits: 0,
    input_tokens: 0,
    output_tokens: 0,
    cost_usd: null,
    unpriced: 0,
    saved_usd: 0,
    hist: new Map(),
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
  for (const [b, n] of p.hist) into.hist.set(b, (into.hist.get(b) ?? 0) + n);
}

function percentile(hist: Map<number, number>, total: number, q: number): number | null {
  if (!total) return null;
  const rank = q * (total - 1);
  let seen = 0;
  for (const b of [...hist.keys()].sort((x, y) => x - y)) {
    seen += hist.get(b)!;
    if (seen > rank) return Math.round(Math.exp((b + 0.5) / BUCKETS_PER_E) * 100) / 100;
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
    p50_ms: percentile(p.hist, p.requests, 0.5),
    p95_ms: percentile(p.hist, p.requests, 0.95),
  };
}
