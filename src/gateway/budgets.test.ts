import { describe, expect, it } from "vitest";
import { Budgets, type BudgetWarning, type SharedSpend } from "./budgets.js";
import type { ClientInfo } from "./clients.js";
import { EventBus } from "./events.js";
import { dayOf, monthOf } from "./periods.js";

const client = (name: string, daily: number | null, monthly: number | null = null): ClientInfo => ({
  name,
  rpm: null,
  tpm: null,
  daily_budget_usd: daily,
  monthly_budget_usd: monthly,
  models: null,
  revoked: false,
});

function setup(opts: {
  daily?: number;
  monthly?: number;
  history?: { client: string | null; cost: number; at: number }[];
  tz?: string;
  now: number;
}) {
  let now = opts.now;
  const warnings: BudgetWarning[] = [];
  const logged: string[] = [];
  const events = new EventBus();
  const seen: string[] = [];
  events.subscribe((e) => seen.push(e.type));
  const history = opts.history ?? [];
  const budgets = new Budgets({
    gateway: { daily_usd: opts.daily, monthly_usd: opts.monthly },
    timeZone: opts.tz ?? "UTC",
    clock: { now: () => now },
    events,
    spendSince: (since) => {
      const by = new Map<string | null, number>();
      for (const h of history) if (h.at >= since) by.set(h.client, (by.get(h.client) ?? 0) + h.cost);
      return [...by].map(([c, cost]) => ({ client: c, cost }));
    },
    log: (line) => logged.push(line),
    notify: (w) => warnings.push(w),
  });
  return { budgets, warnings, logged, seen, advance: (ms: number) => (now += ms), history };
}

const T0 = Date.UTC(2026, 10, 22, 23, 0, 0); // 23:00 UTC on 22 Nov

describe("Budgets", () => {
  it("refuses with 429 budget_exceeded once the gateway's daily budget is spent, saying when it resets", () => {
    const { budgets } = setup({ daily: 1, now: T0 });
    budgets.check(null);
    budgets.record(null, null, 0.6);
    budgets.check(null);
    budgets.record(null, null, 0.5); // in-flight overshoot is allowed, nothing new starts
    let err: unknown;
    try {
      budgets.check(null);
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ status: 429, type: "budget_exceeded" });
    expect((err as Error).message).toMatch(
      /gateway's daily budget of \$1\.00 is spent \(\$1\.10\); it resets at 2026-11-23T00:00:00\.000Z \(UTC\)/,
    );
    expect((err as { headers: Record<string, string> }).headers["retry-after"]).toBe("3600");
  });

  it("starts a new day at local midnight, and keeps the month", () => {
    const { budgets, advance } = setup({ daily: 1, monthly: 5, now: T0 });
    budgets.record(null, null, 1.2);
    expect(() => budgets.check(null)).toThrow(/daily/);
    advance(60 * 60 * 1000); // 00:00 on the 23rd
    budgets.check(null);
    expect(budgets.spentBy("daily", "gateway")).toBe(0);
    expect(budgets.spentBy("monthly", "gateway")).toBeCloseTo(1.2);
  });

  it("uses the configured time zone for day boundaries", () => {
    // 23:00 UTC is 18:00 in New York: still the same local day an hour later.
    const { budgets, advance } = setup({ daily: 1, now: T0, tz: "America/New_York" });
    budgets.record(null, null, 1);
    advance(60 * 60 * 1000);
    expect(() => budgets.check(null)).toThrow(/resets at 2026-11-23T05:00:00\.000Z \(America\/New_York\)/);
  });

  it("enforces per-client budgets separately from each other", () => {
    const { budgets } = setup({ now: T0 });
    const web = client("web", 0.5);
    const batch = client("batch", null, 2);
    budgets.record(web, "web", 0.5);
    expect(() => budgets.check(web)).toThrow(/client "web"'s daily budget of \$0\.50/);
    budgets.check(batch);
    budgets.record(batch, "batch", 2);
    expect(() => budgets.check(batch)).toThrow(/client "batch"'s monthly budget/);
  });

  it("rebuilds the totals from the usage log, so spending survives a restart", () => {
    const history = [
      { client: "web", cost: 0.3, at: T0 - 1000 },
      { client: null, cost: 0.8, at: T0 - 2000 },
      { client: "web", cost: 5, at: Date.UTC(2026, 9, 30) }, // last month
    ];
    const { budgets } = setup({ daily: 1, now: T0, history });
    expect(budgets.spentBy("daily", "gateway")).toBeCloseTo(1.1);
    expect(budgets.spentBy("monthly", "client:web")).toBeCloseTo(0.3);
    expect(() => budgets.check(null)).toThrow(/budget_exceeded|spent/);
  });

  it("warns once per threshold per period: a log line, an event and the webhook", () => {
    const { budgets, warnings, logged, seen, advance } = setup({ daily: 10, now: T0 });
    for (let i = 0; i < 12; i++) budgets.record(null, null, 1);
    expect(warnings.map((w) => w.threshold)).toEqual([50, 80, 100]);
    expect(logged).toHaveLength(3);
    expect(logged[0]).toContain("has spent 50% of its daily $10.00");
    expect(seen.filter((t) => t === "budget")).toHaveLength(3);
    expect(warnings[0]).toMatchObject({
      scope: "gateway",
      span: "daily",
      budget_usd: 10,
      period: "2026-11-22",
    });
    advance(2 * 60 * 60 * 1000); // a new day: thresholds may fire again
    for (let i = 0; i < 6; i++) budgets.record(null, null, 1);
    expect(warnings.map((w) => `${w.period}:${w.threshold}`)).toEqual([
      "2026-11-22:50",
      "2026-11-22:80",
      "2026-11-22:100",
      "2026-11-23:50",
    ]);
  });

  it("names a budget under a cent in four places (or as many as its first digit needs), not as $0.00", () => {
    const { budgets, logged } = setup({ daily: 0.0004, now: T0 });
    budgets.record(null, null, 0.0003);
    expect(logged[0]).toContain("of its daily $0.0004 ($0.0003)");
    const tiny = setup({ daily: 0.000001, now: T0 });
    tiny.budgets.record(null, null, 0.0002);
    expect(tiny.logged[0]).toContain("of its daily $0.000001 ($0.0002)");
  });

  it("does not repeat a warning already crossed before a restart", () => {
    const { warnings, budgets } = setup({
      daily: 10,
      now: T0,
      history: [{ client: null, cost: 6, at: T0 - 1 }],
    });
    budgets.record(null, null, 1);
    expect(warnings).toEqual([]);
    budgets.record(null, null, 1.5);
    expect(warnings.map((w) => w.threshold)).toEqual([80]);
  });
});

describe("periods", () => {
  it("finds local days and months", () => {
    expect(dayOf(T0, "UTC")).toEqual({
      key: "2026-11-22",
      start: Date.UTC(2026, 10, 22),
      end: Date.UTC(2026, 10, 23),
    });
    expect(monthOf(T0, "UTC")).toEqual({
      key: "2026-11",
      start: Date.UTC(2026, 10, 1),
      end: Date.UTC(2026, 11, 1),
    });
    expect(dayOf(T0, "Asia/Tokyo").key).toBe("2026-11-23");
    // Across the end of daylight saving time in New York (2 Nov 2026): a 25-hour day.
    const nov1 = dayOf(Date.UTC(2026, 10, 1, 12), "America/New_York");
    expect((nov1.end - nov1.start) / 3_600_000).toBe(25);
  });

  describe("shared by several gateways", () => {
    /** The shared store's semantics in memory: integer micro-dollar totals, added atomically. */
    function memorySpend(): SharedSpend & { totals: Map<string, number> } {
      const totals = new Map<string, number>();
      return {
        totals,
        usable: () => true,
        add: async (keys, micros) =>
          keys.map((k) => totals.set(k.key, (totals.get(k.key) ?? 0) + micros).get(k.key)!),
        seed: (rows) => {
          for (const r of rows) if (!totals.has(r.key)) totals.set(r.key, r.micros);
        },
      };
    }
    const fetchInto = (b: Budgets, spend: ReturnType<typeof memorySpend>, c: ClientInfo | null) => {
      for (const key of b.fleetKeys(c)) b.adopt(key, spend.totals.get(key) ?? 0);
    };

    it("refuses on one gateway what the others spent, in integer micro-dollars", async () => {
      const spend = memorySpend();
      const gateways = [setup({ now: T0 }), setup({ now: T0 }), setup({ now: T0 })];
      for (const g of gateways) g.budgets.share(spend);
      const alice = client("alice", 0.3);
      for (const [i, g] of gateways.entries()) {
        fetchInto(g.budgets, spend, alice);
        g.budgets.check(alice);
        g.budgets.record(alice, "alice", 0.1 + i * 1e-9);
        await Promise.resolve();
      }
      expect(spend.totals.get("daily:2026-11-22:client:alice")).toBe(300_000);
      for (const g of gateways) {
        fetchInto(g.budgets, spend, alice);
        expect(() => g.budgets.check(alice)).toThrow(/client "alice"'s daily budget/);
      }
      // Alone, each would still let requests through: it spent a third of the budget.
      const alone = setup({ now: T0 });
      alone.budgets.record(alice, "alice", 0.1);
      expect(() => alone.budgets.check(alice)).not.toThrow();
    });

    it("warns once across the fleet, on the gateway whose spend crossed the threshold", async () => {
      const spend = memorySpend();
      const [a, b] = [setup({ now: T0, daily: 1 }), setup({ now: T0, daily: 1 })];
      a.budgets.share(spend);
      b.budgets.share(spend);
      a.budgets.record(null, null, 0.3);
      await Promise.resolve();
      b.budgets.record(null, null, 0.3);
      await Promise.resolve();
      expect(a.warnings).toHaveLength(0);
      expect(b.warnings.map((w) => [w.threshold, w.spent_usd])).toEqual([[50, 0.6]]);
    });

    it("offers this period's spend from the usage log to the shared store at start", () => {
      const spend = memorySpend();
      const { budgets } = setup({ now: T0, history: [{ client: "bob", cost: 0.25, at: T0 - 1000 }] });
      budgets.share(spend);
      budgets.load();
      expect(spend.totals.get("daily:2026-11-22:client:bob")).toBe(250_000);
      expect(spend.totals.get("monthly:2026-11:gateway")).toBe(250_000);
    });
  });
});
