import type { Db } from "./db.js";
import {
  add,
  addRow,
  count,
  countsOf,
  DAY,
  dimsOf,
  emptyPart,
  HOUR,
  type HourPart,
  lastFilled,
  MIN_BUCKET,
  type Part,
  type RawRow,
  ROW_SQL,
  type SummarizeOptions,
  summarizeParts,
} from "./usage-parts.js";

export { type StatsGrouping, type StatsRow, statsGroupings } from "./usage-parts.js";

/**
 * `aigw stats` over rollups: whole UTC days from `usage_daily`, whole hours from `usage_hourly`, the
 * window's ragged edges from the raw rows. `catchUp` rolls up rows added since the last time (by
 * rowid) into both, so the rollup costs nothing on the request path.
 */
export function createUsageStats(db: Db) {
  const watermark = db.prepare("SELECT value FROM meta WHERE name = 'rollup_rowid'").pluck();
  const setWatermark = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('rollup_rowid', ?)");
  // Daily rollups came after hourly ones: once, in the first catch-up, they are summed from those.
  const hasDaily = db.prepare("SELECT 1 FROM meta WHERE name = 'rollup_daily'").pluck();
  const setDaily = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('rollup_daily', '1')");
  const pending = db
    .prepare(`${ROW_SQL.replace(" FROM", ", rowid FROM")} WHERE rowid > ? ORDER BY rowid LIMIT ?`)
    .raw();
  const between = db.prepare(`${ROW_SQL} WHERE started_at >= ? AND started_at < ?`).raw();
  const hourly = rollupTable(db, "usage_hourly", "hour");
  const daily = rollupTable(db, "usage_daily", "day");
  const allHours = db.prepare("SELECT * FROM usage_hourly");

  const catchUp = db.transaction((limit: number): number => {
    if (!hasDaily.get()) {
      const days = new Map<string, Part>();
      for (const row of allHours.iterate() as Iterable<Record<string, unknown>>)
        addTo(
          days,
          String(row.dim),
          Math.floor(Number(row.hour) / DAY) * DAY,
          String(row.value),
          fromRollup(row),
        );
      daily.save(days);
      setDaily.run();
    }
    const from = Number(watermark.get() ?? 0);
    let to = from;
    let count = 0;
    const hours = new Map<string, Part>();
    for (const withRowid of pending.iterate(from, limit) as Iterable<[...RawRow, number]>) {
      to = withRowid[13];
      count++;
      const row = withRowid as unknown as RawRow; // the extra trailing rowid is ignored
      const hour = Math.floor(row[0] / HOUR) * HOUR;
      for (const [dim, value] of dimsOf(row)) {
        const id = `${dim}\u0000${hour}\u0000${value}`;
        let part = hours.get(id);
        if (!part) {
          part = emptyPart();
          hours.set(id, part);
        }
        addRow(part, row);
      }
    }
    const days = new Map<string, Part>();
    for (const [id, part] of hours) {
      const [dim, hour, value] = id.split("\u0000") as [string, string, string];
      addTo(days, dim, Math.floor(Number(hour) / DAY) * DAY, value, part);
    }
    hourly.save(hours);
    daily.save(days);
    if (count) setWatermark.run(String(to));
    return count;
  });

  return {
    /** Rolls up (at most `limit`) rows added since the last catch-up; returns how many. */
    catchUp: (limit = Number.MAX_SAFE_INTEGER): number => catchUp.immediate(limit),

    summarize(opts: SummarizeOptions) {
      catchUp.immediate(Number.MAX_SAFE_INTEGER);
      return summarizeParts(
        opts,
        (start, end) => between.iterate(start, end) as Iterable<RawRow>,
        hourly.range,
        daily.range,
      );
    },
  };
}

/** One rollup table (hourly or daily): merge parts into it, read a span of one dimension. */
function rollupTable(db: Db, table: "usage_hourly" | "usage_daily", key: "hour" | "day") {
  const existing = db.prepare(`SELECT * FROM ${table} WHERE dim = ? AND ${key} = ? AND value = ?`);
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO ${table} VALUES (@start, @dim, @value, @requests, @errors, @cache_hits,
       @input_tokens, @output_tokens, @cost_usd, @unpriced, @saved_usd, @latency_hist)`,
  );
  const span = db.prepare(`SELECT * FROM ${table} WHERE dim = ? AND ${key} >= ? AND ${key} < ?`);
  return {
    /** Adds parts keyed "dim\0start\0value" to what the table holds. */
    save(parts: Map<string, Part>): void {
      for (const [id, part] of parts) {
        const [dim, start, value] = id.split("\u0000") as [string, string, string];
        const old = existing.get(dim, Number(start), value) as Record<string, unknown> | undefined;
        if (old) add(part, fromRollup(old));
        upsert.run({ ...partColumns(part), dim, start: Number(start), value });
      }
    },
    *range(dim: string, first: number, last: number): Iterable<HourPart> {
      for (const row of span.iterate(dim, first, last) as Iterable<Record<string, unknown>>)
        yield { hour: Number(row[key]), value: String(row.value), part: fromRollup(row) };
    },
  };
}

function addTo(parts: Map<string, Part>, dim: string, start: number, value: string, part: Part): void {
  const id = `${dim}\u0000${start}\u0000${value}`;
  let into = parts.get(id);
  if (!into) {
    into = emptyPart();
    parts.set(id, into);
  }
  add(into, part);
}

export type UsageStats = ReturnType<typeof createUsageStats>;

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
    ...countsOf(r),
    hist,
    min,
    max,
  };
}
