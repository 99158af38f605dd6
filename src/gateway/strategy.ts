import type { Plan, Target } from "./router.js";

/**
 * Orders a plan's targets for one request. `fallback`: as written. `round-robin`: rotate the start by
 * weight (smooth weighted round-robin), the rest follow as fallbacks. `least-busy`: fewest requests
 * in flight first, ties in written order.
 */
export class TargetOrder {
  private readonly current = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();

  order(plan: Plan): Target[] {
    const { targets } = plan;
    if (targets.length < 2 || plan.strategy === "fallback") return targets;
    if (plan.strategy === "least-busy") {
      return targets
        .map((t, i) => ({ t, i, busy: this.inFlight.get(t.label) ?? 0 }))
        .sort((a, b) => a.busy - b.busy || a.i - b.i)
        .map((x) => x.t);
    }
    const first = this.nextWeighted(plan);
    return [targets[first]!, ...targets.filter((_, i) => i !== first)];
  }

  started(target: Target): void {
    this.inFlight.set(target.label, (this.inFlight.get(target.label) ?? 0) + 1);
  }

  finished(target: Target): void {
    this.inFlight.set(target.label, Math.max(0, (this.inFlight.get(target.label) ?? 1) - 1));
  }

  /** Requests in flight to a target (`provider/model`). */
  busy(label: string): number {
    return this.inFlight.get(label) ?? 0;
  }

  /** nginx's smooth weighted round-robin: even spread, proportional to weights. */
  private nextWeighted(plan: Plan): number {
    const weights = plan.targets.map((t) => t.weight);
    const total = weights.reduce((a, b) => a + b, 0);
    const current = this.current.get(plan.requested) ?? weights.map(() => 0);
    let best = 0;
    for (let i = 0; i < weights.length; i++) {
      current[i]! += weights[i]!;
      if (current[i]! > current[best]!) best = i;
    }
    current[best]! -= total;
    this.current.set(plan.requested, current);
    return best;
  }
}
