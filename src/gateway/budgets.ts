import { GatewayError } from "../errors.js";
import type { ClientInfo } from "./clients.js";
import type { EventBus } from "./events.js";
import { dayOf, localTimeZone, monthOf, type Period } from "./periods.js";

export const THRESHOLDS = [50, 80, 100] as const;

type Scope = string; // "gateway" or "client:<name>"
type Span = "daily" | "monthly";

export interface BudgetWarning {
  scope: Scope;
  span: Span;
  threshold: number;
  spent_usd: number;
  budget_usd: number;
  period: string;
  resets_at: string;
}

export interface BudgetsOptions {
  gateway: { daily_usd?: number; monthly_usd?: number };
  /** IANA time zone of days and months; default the machine's. */
  timeZone?: string;
  clock: { now(): number };
  events: EventBus;
  /** Spend per client (null = anonymous) since a time, from the usage log: rebuilds totals at start. */
  spendSince: (since: number) => { client: string | null; cost: number }[];
  /** A warning line for the gateway's log. */
  log?: (line: string) => void;
  /** Posts a warning to `budgets.webhook_url`. */
  notify?: (warning: BudgetWarning) => void;
}

/**
 * Fleet-wide totals in integer micro-dollars (shared hot state), keyed `<span>:<period>:<scope>`.
 * Read before a request (by the hot state's prefetch, handed in through `adopt`), added to after it.
 */
export interface SharedSpend {
  usable(): boolean;
  /** Adds `micros` to each key; resolves with each total after the add. */
  add(keys: { key: string; ttlMs: number }[], micros: number): Promise<number[]>;
  /** Sets totals nobody has set yet (this period's spend from the usage log). */
  seed(totals: { key: string; ttlMs: number; micros: number }[]): void;
}

const DAY_MS = 86_400_000;

/**
 * Daily and monthly spending caps for the whole gateway and per client. Running totals live in
 * memory (an O(1) check per request), rebuilt from the usage log at start.
 * Warnings fire once per threshold (50/80/100 %) per period.
 */
export class Budgets {
  private day!: Period;
  private month!: Period;
  private readonly spent = new Map<`${Span}:${Scope}`, number>();
  private readonly fired = new Set<string>();

  private ready = false;
  /** The configured zone, or null for the machine's (its name looked up only when shown). */
  private zone: string | null = null;
  private label: string | null = null;
  private shared: SharedSpend | null = null;

  constructor(private readonly opts: BudgetsOptions) {}

  /**
   * Reads this period's spending from the usage log. Deferred from construction (a query that costs
   * a few ms); the gateway calls it right after it starts listening.
   */
  load(): void {
    if (this.ready) return;
    this.ready = true;
    this.zone = this.opts.timeZone ?? null;
    this.rebuild(this.opts.clock.now());
    // What was already crossed before a restart is not announced again.
    for (const [key, spent] of this.spent) {
      const [span, ...rest] = key.split(":");
      this.crossed(span as Span, rest.join(":"), spent, 0, true);
    }
    this.seedShared();
  }

  /** Makes totals the fleet's: every gateway sharing `spend` checks against what all of them spent. */
  share(spend: SharedSpend): void {
    this.shared = spend;
  }

  /** Offers this period's totals to the shared store (kept where it already has them). */
  seedShared(): void {
    if (!this.ready || !this.shared?.usable()) return;
    const now = this.opts.clock.now();
    this.roll(now);
    const totals = [...this.spent].map(([mapKey, usd]) => {
      const [span, ...scope] = mapKey.split(":");
      return { ...this.fleetKey(span as Span, scope.join(":"), now), micros: Math.round(usd * 1e6) };
    });
    if (totals.length) this.shared.seed(totals);
  }

  /** The fleet keys a request of this client is checked against (only scopes with a budget). */
  fleetKeys(client: ClientInfo | null): string[] {
    const now = this.opts.clock.now();
    this.roll(now);
    const out: string[] = [];
    for (const span of ["daily", "monthly"] as const) {
      if (this.limitOf(span, "gateway", null)) out.push(this.fleetKey(span, "gateway", now).key);
      if (client && this.limitOf(span, `client:${client.name}`, client))
        out.push(this.fleetKey(span, `client:${client.name}`, now).key);
    }
    return out;
  }

  /** Takes a fleet total read from the shared store; spend never goes down within a period. */
  adopt(key: string, micros: number): void {
    this.roll(this.opts.clock.now());
    const [span, period, ...scope] = key.split(":");
    if (period !== (span === "daily" ? this.day.key : this.month.key)) return;
    const mapKey = `${span as Span}:${scope.join(":")}` as const;
    this.spent.set(mapKey, Math.max(this.spent.get(mapKey) ?? 0, micros / 1e6));
  }

  /** Throws 429 budget_exceeded when the gateway's or this client's budget is spent. */
  check(client: ClientInfo | null): void {
    this.roll(this.opts.clock.now());
    const { daily_usd, monthly_usd } = this.opts.gateway;
    this.enforce("daily", "gateway", daily_usd, "the gateway's");
    this.enforce("monthly", "gateway", monthly_usd, "the gateway's");
    if (client) {
      this.enforce("daily", `client:${client.name}`, client.daily_budget_usd, `client "${client.name}"'s`);
      this.enforce(
        "monthly",
        `client:${client.name}`,
        client.monthly_budget_usd,
        `client "${client.name}"'s`,
      );
    }
  }

  /** Adds a finished request's cost. */
  record(client: ClientInfo | null, clientName: string | null, cost: number | null): void {
    if (!cost) return;
    this.roll(this.opts.clock.now());
    const scopes: [Scope, ClientInfo | null][] = [["gateway", null]];
    if (clientName) scopes.push([`client:${clientName}`, client]);
    if (this.shared?.usable()) {
      this.recordShared(scopes, cost);
      return;
    }
    for (const [scope, info] of scopes) {
      for (const span of ["daily", "monthly"] as const) {
        const before = this.spent.get(`${span}:${scope}`) ?? 0;
        const after = before + cost;
        this.spent.set(`${span}:${scope}`, after);
        this.crossed(span, scope, after, before, false, info);
      }
    }
  }

  /** Adds to the fleet's totals; warnings fire on the instance whose add crossed a threshold. */
  private recordShared(scopes: [Scope, ClientInfo | null][], cost: number): void {
    const now = this.opts.clock.now();
    const micros = Math.round(cost * 1e6);
    const adds = scopes.flatMap(([scope, info]) =>
      (["daily", "monthly"] as const).map((span) => ({
        span,
        scope,
        info,
        ...this.fleetKey(span, scope, now),
      })),
    );
    for (const a of adds)
      this.spent.set(`${a.span}:${a.scope}`, (this.spent.get(`${a.span}:${a.scope}`) ?? 0) + cost);
    this.shared!.add(adds, micros).then(
      (totals) =>
        adds.forEach((a, i) => {
          const total = totals[i] ?? 0;
          this.adopt(a.key, total);
          this.crossed(a.span, a.scope, total / 1e6, (total - micros) / 1e6, false, a.info);
        }),
      () => {}, // Redis lost mid-add: this instance's own total already counts it
    );
  }

  private fleetKey(span: Span, scope: Scope, now: number): { key: string; ttlMs: number } {
    const period = span === "daily" ? this.day : this.month;
    return { key: `${span}:${period.key}:${scope}`, ttlMs: Math.max(DAY_MS, period.end - now + DAY_MS) };
  }

  status(): { timezone: string; day: string; month: string; spent: Record<string, number> } {
    this.roll(this.opts.clock.now());
    return {
      timezone: this.zoneName(),
      day: this.day.key,
      month: this.month.key,
      spent: Object.fromEntries([...this.spent].map(([k, v]) => [k, Math.round(v * 1e6) / 1e6])),
    };
  }

  /** The zone's IANA name, for people: the machine's looked up (ICU, tens of ms) the first time only. */
  private zoneName(): string {
    this.label ??= this.zone ?? localTimeZone();
    return this.label;
  }

  spentBy(span: Span, scope: Scope): number {
    this.roll(this.opts.clock.now());
    return this.spent.get(`${span}:${scope}`) ?? 0;
  }

  private limitOf(span: Span, scope: Scope, client: ClientInfo | null): number | undefined {
    if (scope === "gateway")
      return span === "daily" ? this.opts.gateway.daily_usd : this.opts.gateway.monthly_usd;
    const limit = span === "daily" ? client?.daily_budget_usd : client?.monthly_budget_usd;
    return limit ?? undefined;
  }

  private enforce(span: Span, scope: Scope, limit: number | null | undefined, whose: string): void {
    if (!limit) return;
    const spent = this.spent.get(`${span}:${scope}`) ?? 0;
    if (spent < limit) return;
    const period = span === "daily" ? this.day : this.month;
    const retryAfter = Math.max(1, Math.ceil((period.end - this.opts.clock.now()) / 1000));
    throw new GatewayError(
      429,
      "budget_exceeded",
      `${whose} ${span} budget of $${limit.toFixed(2)} is spent ($${spent.toFixed(2)}); it resets at ${new Date(period.end).toISOString()} (${this.zoneName()})`,
      { headers: { "retry-after": String(retryAfter) } },
    );
  }

  private crossed(
    span: Span,
    scope: Scope,
    after: number,
    before: number,
    silent: boolean,
    client: ClientInfo | null = null,
  ) {
    const limit = this.limitOf(span, scope, client);
    if (!limit) return;
    const period = span === "daily" ? this.day : this.month;
    for (const threshold of THRESHOLDS) {
      const mark = (limit * threshold) / 100;
      const id = `${scope}:${span}:${period.key}:${threshold}`;
      if (after < mark || before >= mark || this.fired.has(id)) continue;
      this.fired.add(id);
      if (silent) continue;
      const warning: BudgetWarning = {
        scope,
        span,
        threshold,
        spent_usd: Math.round(after * 1e6) / 1e6,
        budget_usd: limit,
        period: period.key,
        resets_at: new Date(period.end).toISOString(),
      };
      this.opts.log?.(
        `budget: ${scope} has spent ${threshold}% of its ${span} ${dollars(limit)} (${dollars(after)})`,
      );
      this.opts.events.emit({ type: "budget", ...warning });
      this.opts.notify?.(warning);
    }
  }

  /** Starts new totals when the day or month turns over (the month's total carries across days). */
  private roll(now: number): void {
    if (!this.ready) this.load();
    if (now >= this.day.end) {
      this.day = dayOf(now, this.zone);
      for (const key of this.spent.keys()) if (key.startsWith("daily:")) this.spent.delete(key);
    }
    if (now >= this.month.end) {
      this.month = monthOf(now, this.zone);
      for (const key of this.spent.keys()) if (key.startsWith("monthly:")) this.spent.delete(key);
    }
  }

  private rebuild(now: number): void {
    this.day = dayOf(now, this.zone);
    this.month = monthOf(now, this.zone);
    this.spent.clear();
    for (const [span, since] of [
      ["daily", this.day.start],
      ["monthly", this.month.start],
    ] as const) {
      for (const { client, cost } of this.opts.spendSince(since)) {
        const add = (scope: Scope) =>
          this.spent.set(`${span}:${scope}`, (this.spent.get(`${span}:${scope}`) ?? 0) + cost);
        add("gateway");
        if (client) add(`client:${client}`);
      }
    }
  }
}

/** A budget in a log line: cents, or four places for a budget under a cent (a test's $0.0005 is not "$0.00"). */
/** Cents from a cent up; below, four places, or as many as the first digit needs ($0.000001), never "$0.0000". */
function dollars(usd: number): string {
  if (usd >= 0.01 || usd <= 0) return `$${usd.toFixed(2)}`;
  const places = Math.min(12, Math.max(4, -Math.floor(Math.log10(usd))));
  return `$${usd.toFixed(places)}`;
}
