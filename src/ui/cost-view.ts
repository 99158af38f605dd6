/** Today's spend by model, by client and against budgets: the Costs panel and the header's total. */
import { type CostAgg, dayKey, type FeedState } from "./feed-state.js";
import type { BudgetsView } from "./wire.js";

export interface CostLine extends CostAgg {
  name: string;
}

export interface BudgetLine {
  label: string;
  spent: number;
  cap: number;
}

export interface CostsView {
  /** When the per-model totals start: today's midnight or, until the usage log seeded them, when this view opened. */
  modelsSince: number;
  byModel: CostLine[];
  byClient: CostLine[];
  budgets: BudgetLine[];
  /** Some of today's costs are a demo's (priced as the real model a stand-in imitates). */
  simulated: boolean;
}

export function todaysSeen(state: FeedState, now: number): FeedState["costs"] {
  const today = dayKey(now);
  return state.costs.day === today ? state.costs : { day: today, byModel: {}, byClient: {} };
}

export function sum(aggs: CostAgg[], field: "usd" | "unpriced" | "requests"): number {
  return aggs.reduce((total, a) => total + a[field], 0);
}

export function budgetCaps(state: FeedState): Record<string, number> {
  return { ...state.budgetCaps, ...(state.status?.budgets?.limits ?? {}) };
}

export function selectCosts(state: FeedState, now: number): CostsView {
  const seen = todaysSeen(state, now);
  const midnight = new Date(now).setHours(0, 0, 0, 0);
  const byModel = lines(seen.byModel);
  return {
    modelsSince: Math.max(midnight, state.costsFrom),
    byModel,
    byClient: clientLines(seen.byClient, state.status?.budgets ?? null),
    budgets: budgetLines(budgetCaps(state), state.status?.budgets ?? null),
    simulated: state.history.some((r) => r.simulated && r.started_at >= midnight),
  };
}

function lines(aggs: Record<string, CostAgg>): CostLine[] {
  return Object.entries(aggs)
    .map(([name, a]) => ({ name, ...a }))
    .sort(
      (a, b) =>
        b.usd - a.usd || b.unpriced - a.unpriced || b.requests - a.requests || a.name.localeCompare(b.name),
    );
}

/** Per client: the gateway's totals for today where it keeps them (they include requests before this view opened). */
function clientLines(seen: Record<string, CostAgg>, budgets: BudgetsView | null): CostLine[] {
  if (!budgets) return lines(seen);
  const merged: Record<string, CostAgg> = {};
  let named = 0;
  for (const [key, usd] of Object.entries(budgets.spent)) {
    const m = /^daily:client:(.+)$/.exec(key);
    if (!m) continue;
    const name = m[1]!;
    merged[name] = { requests: seen[name]?.requests ?? 0, usd, unpriced: seen[name]?.unpriced ?? 0 };
    named += usd;
  }
  for (const [name, agg] of Object.entries(seen)) {
    if (name !== "anonymous") merged[name] ??= { ...agg, usd: 0 };
  }
  const anonymous = (budgets.spent["daily:gateway"] ?? 0) - named;
  if (anonymous > 1e-9 || seen.anonymous) {
    merged.anonymous = {
      requests: seen.anonymous?.requests ?? 0,
      usd: Math.max(0, anonymous),
      unpriced: seen.anonymous?.unpriced ?? 0,
    };
  }
  return lines(merged);
}

function budgetLines(caps: Record<string, number>, budgets: BudgetsView | null): BudgetLine[] {
  const out: BudgetLine[] = [];
  for (const [key, cap] of Object.entries(caps)) {
    const m = /^(daily|monthly):(.+)$/.exec(key);
    if (!m || cap <= 0) continue;
    const scope = m[2] === "gateway" ? "" : ` ${m[2]!.replace(/^client:/, "")}`;
    out.push({ label: `${m[1]}${scope}`, spent: budgets?.spent[key] ?? 0, cap });
  }
  // Closest to its cap first: with room for one line, that is the one to see.
  const gatewayFirst = (b: BudgetLine) => (b.label === "daily" || b.label === "monthly" ? 0 : 1);
  return out.sort((a, b) => b.spent / b.cap - a.spent / a.cap || gatewayFirst(a) - gatewayFirst(b));
}
