import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { usageRecord } from "../../test/usage-record.js";
import { type Db, openDb } from "./db.js";
import { createUsageLog, type UsageLog, type UsageRecord } from "./usage-log.js";
import { createUsageStats } from "./usage-stats.js";

let dir: string;
let db: Db;
let log: UsageLog;
const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 20, 0, 0, 0);

const row = (i: number, over: Partial<UsageRecord>): UsageRecord =>
  usageRecord({ id: `r${i}`, started_at: T0, ...over });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-stats-"));
  db = openDb(join(dir, "aigw.db"));
  log = createUsageLog(db);
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("usage stats over rollups", () => {
  it("sums whole hours from the rollup and ragged edges from raw rows, exactly once", () => {
    // 10 rows spread over 5 hours, two per hour, at :15 and :45.
    for (let i = 0; i < 10; i++) {
      log.insert(
        row(i, {
          started_at: T0 + Math.floor(i / 2) * H + (i % 2 ? 45 : 15) * 60_000,
          client: i % 2 ? "web" : null,
          latency_ms: 100 + i,
        }),
      );
    }
    const stats = createUsageStats(db);
    expect(stats.catchUp(4)).toBe(4); // in bites
    expect(stats.catchUp()).toBe(6);
    log.insert(
      row(10, {
        started_at: T0 + 4 * H + 50 * 60_000,
        status: 502,
        cost_usd: null,
        input_tokens: null,
        output_tokens: null,
      }),
    );
    // From 00:30 (mid first hour) to 04:55: the :15 row of hour 0 is outside.
    const { rows, total } = stats.summarize({
      since: T0 + 30 * 60_000,
      until: T0 + 4 * H + 55 * 60_000,
      by: "client",
    });
    expect(total).toMatchObject({
      requests: 10,
      errors: 1,
      input_tokens: 90,
      output_tokens: 45,
      unpriced: 0,
    });
    expect(total.cost_usd).toBeCloseTo(0.09, 10);
    // Equal counts sort by name.
    expect(rows.map((r) => [r.group, r.requests])).toEqual([
      ["anonymous", 5],
      ["web", 5],
    ]);
  });

  it("marks answered requests without a price as unpriced, never as $0", () => {
    log.insert(row(1, { cost_usd: null }));
    log.insert(row(2, { cost_usd: null, cache: "HIT", saved_usd: 0.02 }));
    const { total } = createUsageStats(db).summarize({ since: T0 - H, until: T0 + H, by: "model" });
    expect(total).toMatchObject({ requests: 2, unpriced: 1, cost_usd: null, cache_hits: 1, saved_usd: 0.02 });
  });

  it("estimates percentiles within 5 %", () => {
    for (let i = 1; i <= 1000; i++) log.insert(row(i, { started_at: T0 + i, latency_ms: i }));
    const { total } = createUsageStats(db).summarize({ since: T0 - H, until: T0 + H, by: "day" });
    expect(Math.abs(total.p50_ms! - 500) / 500).toBeLessThan(0.05);
    expect(Math.abs(total.p95_ms! - 950) / 950).toBeLessThan(0.05);
  });

  it("takes percentiles by nearest rank: p95 of two samples is the slower one, from rows and rollups", () => {
    log.insert(row(1, { started_at: T0 + 10, latency_ms: 0.88 }));
    log.insert(row(2, { started_at: T0 + 20, latency_ms: 136 }));
    const stats = createUsageStats(db);
    // A ragged edge (raw rows) and a whole hour (the rollup) must agree.
    for (const since of [T0 + 1, T0]) {
      const { total } = stats.summarize({ since, until: T0 + H + 1, by: "model" });
      expect([total.p50_ms, total.p95_ms]).toEqual([0.88, 136]);
    }
    log.insert(row(3, { started_at: T0 + 30, latency_ms: 40 }));
    const { total } = stats.summarize({ since: T0, until: T0 + H, by: "model" });
    // ceil(0.5 · 3) = 2nd fastest: 40 ms within a bucket's 5 %.
    expect(Math.abs(total.p50_ms! - 40) / 40).toBeLessThan(0.05);
    expect(total.p95_ms).toBe(136);
  });

  it("groups by local day in the given time zone", () => {
    log.insert(row(1, { started_at: Date.UTC(2026, 10, 20, 23, 30) }));
    log.insert(row(2, { started_at: Date.UTC(2026, 10, 21, 1, 30) }));
    const stats = createUsageStats(db);
    const utc = stats.summarize({ since: T0, until: T0 + 48 * H, by: "day", timeZone: "UTC" });
    expect(utc.rows.map((r) => r.group)).toEqual(["2026-11-20", "2026-11-21"]);
    const ny = stats.summarize({ since: T0, until: T0 + 48 * H, by: "day", timeZone: "America/New_York" });
    expect(ny.rows.map((r) => [r.group, r.requests])).toEqual([["2026-11-20", 2]]);
  });
  it("reads rollups stored before the binary histogram (JSON {bucket: count}) as it reads its own", () => {
    for (let i = 0; i < 40; i++) {
      log.insert(row(i, { started_at: T0 + (i % 4) * H + 60_000, latency_ms: 1 + i * i }));
    }
    const stats = createUsageStats(db);
    const window = { since: T0, until: T0 + 5 * H, by: "model" as const };
    stats.catchUp();
    const binary = stats.summarize(window);
    // Rewrite every rollup's histogram as the old JSON text, extremes included.
    const rollups = db.prepare("SELECT dim, hour, value, latency_hist FROM usage_hourly").all() as {
      dim: string;
      hour: number;
      value: string;
      latency_hist: Buffer;
    }[];
    const rewrite = db.prepare(
      "UPDATE usage_hourly SET latency_hist = ? WHERE dim = ? AND hour = ? AND value = ?",
    );
    for (const r of rollups) {
      expect(Buffer.isBuffer(r.latency_hist)).toBe(true);
      const h = r.latency_hist;
      const first = h.readDoubleLE(16);
      const json: Record<string, number> = { min: h.readDoubleLE(0), max: h.readDoubleLE(8) };
      for (let off = 24, b = first; off < h.length; off += 8, b++) {
        const n = h.readDoubleLE(off);
        if (n) json[String(b)] = n;
      }
      rewrite.run(JSON.stringify(json), r.dim, r.hour, r.value);
    }
    expect(stats.summarize(window)).toEqual(binary);
    expect(binary.total).toMatchObject({ requests: 40, p50_ms: expect.any(Number) });
    // A new row rolled into an old JSON rollup merges with it.
    log.insert(row(99, { started_at: T0 + 60_000, latency_ms: 5000 }));
    stats.catchUp();
    expect(stats.summarize(window).total.requests).toBe(41);
  });

  it("takes whole UTC days from the daily rollups and agrees with the rows themselves", () => {
    // Every 37 minutes for four days, three models, latencies spread over two decades.
    const models = ["a", "b", "c"];
    const rows: UsageRecord[] = [];
    for (let i = 0; i < 4 * 39; i++) {
      rows.push(
        row(i, {
          started_at: T0 + i * 37 * 60_000,
          requested_model: models[i % 3]!,
          latency_ms: 10 + ((i * 7919) % 1000),
          input_tokens: i,
        }),
      );
    }
    for (const r of rows) log.insert(r);
    const stats = createUsageStats(db);
    stats.catchUp();
    const days = db.prepare("SELECT COUNT(*) FROM usage_daily WHERE dim = 'model'").pluck().get();
    expect(days).toBe(12);
    // From mid-morning of day 0 to the afternoon of day 3: hours, two whole days, hours, raw edges.
    const window = { since: T0 + 9 * H + 20 * 60_000, until: T0 + 3 * 24 * H + 15 * H + 5 * 60_000 };
    const inside = rows.filter((r) => r.started_at >= window.since && r.started_at < window.until);
    for (const by of ["model", "client", "provider", "key"] as const) {
      const { rows: groups, total } = stats.summarize({ ...window, by });
      expect(total.requests).toBe(inside.length);
      expect(total.input_tokens).toBe(inside.reduce((sum, r) => sum + (r.input_tokens ?? 0), 0));
      if (by === "model")
        expect(groups.map((g) => [g.group, g.requests])).toEqual(
          models.map((m) => [m, inside.filter((r) => r.requested_model === m).length]),
        );
    }
    // The same answer as from the hourly rollups alone (the local-day grouping never reads days).
    const byModel = stats.summarize({ ...window, by: "model" });
    const byDay = stats.summarize({ ...window, by: "day", timeZone: "UTC" });
    expect(byDay.total).toEqual({ ...byModel.total });
  });

  it("sums daily rollups from the hourly ones once, for a log rolled up before they existed", () => {
    for (let i = 0; i < 60; i++)
      log.insert(row(i, { started_at: T0 + i * 2 * H, latency_ms: 5 + i, client: i % 2 ? "web" : null }));
    const stats = createUsageStats(db);
    const window = { since: T0 - H, until: T0 + 6 * 24 * H, by: "client" as const };
    const before = stats.summarize(window);
    db.exec("DELETE FROM usage_daily; DELETE FROM meta WHERE name = 'rollup_daily'");
    log.insert(row(99, { started_at: T0 + 25 * H, latency_ms: 3 }));
    const after = createUsageStats(db).summarize(window);
    expect(db.prepare("SELECT SUM(requests) FROM usage_daily WHERE dim = 'all'").pluck().get()).toBe(61);
    expect(after.total.requests).toBe(61);
    expect(after.rows.find((r) => r.group === "anonymous")!.requests).toBe(31);
    expect(after.rows.find((r) => r.group === "web")).toEqual(before.rows.find((r) => r.group === "web"));
  });
});
