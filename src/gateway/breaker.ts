import type { EventBus } from "./events.js";

export type CircuitState = "closed" | "open" | "half-open";

interface Circuit {
  state: CircuitState;
  failures: number;
  openedAt: number;
  probing: boolean;
}

/**
 * One circuit per provider: after `failures` consecutive failures (connection errors, timeouts,
 * 5xx/529) the provider is skipped for `coolOffMs`; then one probe request is let through
 * (half-open) — success closes the circuit, failure opens it again. It only skips a provider when
 * there is somewhere else to go: see `longestOpen`.
 */
export class CircuitBreaker {
  private readonly circuits = new Map<string, Circuit>();

  constructor(
    private readonly opts: {
      failures: number;
      coolOffMs: number;
      clock: { now(): number };
      events?: EventBus;
    },
  ) {}

  /** Whether a request may go to this provider now; in half-open, only the one probe may. */
  allow(provider: string): boolean {
    const c = this.circuits.get(provider);
    if (!c || c.state === "closed") return true;
    if (c.state === "open") {
      if (this.opts.clock.now() - c.openedAt < this.opts.coolOffMs) return false;
      this.move(provider, c, "half-open");
    }
    if (c.probing) return false;
    c.probing = true;
    return true;
  }

  success(provider: string): void {
    const c = this.circuits.get(provider);
    if (!c) return;
    c.failures = 0;
    c.probing = false;
    if (c.state !== "closed") this.move(provider, c, "closed");
  }

  failure(provider: string): void {
    const c = this.circuits.get(provider) ?? {
      state: "closed" as CircuitState,
      failures: 0,
      openedAt: 0,
      probing: false,
    };
    this.circuits.set(provider, c);
    c.failures++;
    c.probing = false;
    if (c.state === "half-open" || (c.state === "closed" && c.failures >= this.opts.failures)) {
      c.openedAt = this.opts.clock.now();
      this.move(provider, c, "open");
    }
  }

  /**
   * Of circuits that are not closed, the one opened longest ago: where a request goes when nowhere
   * healthy is left (panic mode, as Envoy does below its panic threshold), rather than nowhere.
   */
  longestOpen(providers: readonly string[]): string | null {
    let best: string | null = null;
    let since = Number.POSITIVE_INFINITY;
    for (const provider of providers) {
      const openedAt = this.circuits.get(provider)?.openedAt ?? Number.NEGATIVE_INFINITY;
      if (openedAt < since) {
        since = openedAt;
        best = provider;
      }
    }
    return best;
  }

  /** Lets one request through an open circuit (panic mode); its verdict closes or re-opens it. */
  force(provider: string): void {
    const c = this.circuits.get(provider);
    if (!c) return;
    if (c.state === "open") this.move(provider, c, "half-open");
    c.probing = true;
  }

  /** Another gateway of the fleet opened this provider's circuit: skip it here too for the cool-off. */
  openRemote(provider: string): void {
    const c = this.circuits.get(provider) ?? {
      state: "closed" as CircuitState,
      failures: 0,
      openedAt: 0,
      probing: false,
    };
    this.circuits.set(provider, c);
    if (c.state === "open") return;
    c.state = "open";
    c.openedAt = this.opts.clock.now();
    c.probing = false;
  }

  /** A probe that ended without a verdict (e.g. the client left) frees the half-open slot. */
  release(provider: string): void {
    const c = this.circuits.get(provider);
    if (c) c.probing = false;
  }

  status(): Record<string, { state: CircuitState; failures: number; retry_at: number | null }> {
    const out: Record<string, { state: CircuitState; failures: number; retry_at: number | null }> = {};
    for (const [provider, c] of this.circuits) {
      out[provider] = {
        state: c.state,
        failures: c.failures,
        retry_at: c.state === "open" ? c.openedAt + this.opts.coolOffMs : null,
      };
    }
    return out;
  }

  private move(provider: string, c: Circuit, state: CircuitState): void {
    c.state = state;
    this.opts.events?.emit({
      type: "limiter",
      provider,
      key_id: null,
      state: `circuit-${state}`,
      detail: { failures: c.failures },
    });
  }
}
