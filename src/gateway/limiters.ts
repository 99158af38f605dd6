import type { Config } from "../config/schema.js";
import type { ClientInfo } from "./clients.js";
import type { EventBus } from "./events.js";
import {
  type Clock,
  estimateTokens,
  loadTokenizer,
  type Permit,
  realTimers,
  type Timers,
  TokenBucket,
  UpstreamLimiter,
  type UpstreamLimits,
} from "./limits/index.js";

/**
 * Admission by the fleet's limits of `scope` (rpm, tpm, concurrency), asked once this instance's own
 * limiter has let a request go; resolves when it may go (null: nothing more to hold), its permit
 * frees what it took.
 */
export type UpstreamAdmission = (
  scope: string,
  limits: UpstreamLimits,
  opts: { tokens: number; deadline: number; signal: AbortSignal },
) => Promise<Permit | null>;

/**
 * The upstream limiters of a gateway: one per provider with `limits`, one per key with `--rpm/--tpm`,
 * and one made on demand for a key whose upstream says it is nearly out (learned from its rate-limit
 * headers). A provider or key with none costs nothing per request.
 */
export class Limiters {
  private readonly byProvider = new Map<string, UpstreamLimiter>();
  private readonly byKey = new Map<string, UpstreamLimiter>();
  private readonly keyLimits = new Map<string, string>();
  /** The fleet's admission (shared hot state); null: this process's limiters are the whole story. */
  private admission: UpstreamAdmission | null = null;
  /** The configured limits of each limiter (learned-only limiters have none to share). */
  private readonly configured = new WeakMap<UpstreamLimiter, UpstreamLimits>();

  constructor(private readonly opts: { config: Config; clock: Clock; timers?: Timers; events: EventBus }) {
    for (const [name, provider] of Object.entries(opts.config.providers)) {
      if (!UpstreamLimiter.isUnlimited(provider.limits))
        this.byProvider.set(name, this.create(name, null, provider.limits!));
    }
  }

  /** Whether requests to this provider/key need a token estimate (a tpm limit applies). */
  needsTokens(provider: string, keyId: string | null): boolean {
    return Boolean(
      this.byProvider.get(provider)?.status().limits.tpm ||
        (keyId && this.byKey.get(keyId)?.status().limits.tpm),
    );
  }

  estimate(body: Record<string, unknown>): number {
    return estimateTokens(body);
  }

  /** Sets (or clears) a stored key's own limits; called when keys are (re)loaded. */
  setKeyLimits(provider: string, keyId: string, limits: UpstreamLimits): void {
    const signature = JSON.stringify(limits);
    if (this.keyLimits.get(keyId) === signature) return;
    this.keyLimits.set(keyId, signature);
    if (UpstreamLimiter.isUnlimited(limits)) this.byKey.delete(keyId);
    else this.byKey.set(keyId, this.create(provider, keyId, limits));
  }

  /** Makes limits hold across every gateway sharing `admission` (asked by the head of the local FIFO). */
  share(admission: UpstreamAdmission): void {
    this.admission = admission;
  }

  /** Another gateway learned (from upstream headers or a 429) that this provider/key must wait. */
  pauseRemote(provider: string, keyId: string | null, until: number): void {
    let limiter = keyId ? this.byKey.get(keyId) : this.byProvider.get(provider);
    if (!limiter) {
      limiter = this.create(provider, keyId, {});
      if (keyId) this.byKey.set(keyId, limiter);
      else this.byProvider.set(provider, limiter);
    }
    limiter.slowDown(until);
  }

  /** Waits for the provider's and then the key's limiter; permits to release when the request ends. */
  async acquire(
    provider: string,
    keyId: string | null,
    opts: { tokens: number; deadline: number; signal: AbortSignal },
  ): Promise<Permit[]> {
    const permits: Permit[] = [];
    try {
      const scopes = [
        [`p:${provider}`, this.byProvider.get(provider)],
        [`k:${keyId}`, keyId ? this.byKey.get(keyId) : undefined],
      ] as const;
      for (const [scope, limiter] of scopes) {
        if (!limiter) continue;
        permits.push(await limiter.acquire(opts));
        const limits = this.admission ? this.configured.get(limiter) : undefined;
        const shared = limits ? await this.admission!(scope, limits, opts) : null;
        if (shared) permits.push(shared);
      }
      return permits;
    } catch (err) {
      for (const p of permits) p.release({ actualTokens: 0 });
      throw err;
    }
  }

  /**
   * Takes what an upstream's rate-limit headers say is left (read by its provider's dialect) and
   * pauses the key (or provider) until the reset when it is about to run out.
   */
  learn(
    provider: string,
    keyId: string | null,
    remaining: { requests: number | null; tokens: number | null } | null,
    resetMs: () => number | null,
  ): void {
    if (!remaining) return;
    const { requests, tokens } = remaining;
    let limiter = keyId ? this.byKey.get(keyId) : this.byProvider.get(provider);
    if (!limiter) {
      if ((requests ?? 2) > 1) return; // plenty left: nothing to learn, nothing to pay per request
      limiter = this.create(provider, keyId, {});
      if (keyId) this.byKey.set(keyId, limiter);
      else this.byProvider.set(provider, limiter);
    }
    limiter.applyUpstreamHeaders(requests, tokens, resetMs());
  }

  /** Limiter state for `/aigw/status`. */
  status(): ({ provider: string; key_id: string | null } & ReturnType<UpstreamLimiter["status"]>)[] {
    const out: ({ provider: string; key_id: string | null } & ReturnType<UpstreamLimiter["status"]>)[] = [];
    for (const [provider, l] of this.byProvider) out.push({ provider, key_id: null, ...l.status() });
    for (const [keyId, l] of this.byKey)
      out.push({ provider: this.owner.get(keyId) ?? "?", key_id: keyId, ...l.status() });
    return out;
  }

  /** Loads the tokenizer when some tpm limit exists (it costs ~0.5 s and ~100 MB otherwise not spent). */
  async warmUp(): Promise<void> {
    const anyTpm = [...this.byProvider.values(), ...this.byKey.values()].some((l) => l.status().limits.tpm);
    if (anyTpm) await loadTokenizer();
  }

  private readonly owner = new Map<string, string>();

  private create(provider: string, keyId: string | null, limits: UpstreamLimits): UpstreamLimiter {
    if (keyId) this.owner.set(keyId, provider);
    const shareable = Boolean(limits.rpm || limits.tpm || limits.concurrency);
    const limiter: UpstreamLimiter = new UpstreamLimiter(limits, {
      maxDepth: this.opts.config.queue.max_depth,
      clock: this.opts.clock,
      timers: this.opts.timers ?? realTimers,
      onChange: (state) =>
        this.opts.events.emit({ type: "limiter", provider, key_id: keyId, state, detail: limiter.status() }),
    });
    if (shareable) this.configured.set(limiter, limits);
    return limiter;
  }
}

/** Headers OpenAI's SDKs understand, on every response to a client with a request limit. */
export type RateHeaders = Record<string, string>;

/**
 * Per-client request and token rates: token buckets with a burst of one minute's allowance and a
 * steady refill. Over the limit is an immediate 429: this protects the owner's wallet, not the provider.
 */
export class ClientLimits {
  private readonly buckets = new Map<
    string,
    { signature: string; rpm: TokenBucket | null; tpm: TokenBucket | null }
  >();

  constructor(private readonly opts: { defaults: { rpm?: number; tpm?: number }; clock: Clock }) {}

  /** The rpm and tpm this instance enforces for a client (a shared instance cut off enforces its share). */
  protected limitsOf(client: ClientInfo | null): { rpm: number | null; tpm: number | null } {
    return {
      rpm: client?.rpm ?? this.opts.defaults.rpm ?? null,
      tpm: client?.tpm ?? this.opts.defaults.tpm ?? null,
    };
  }

  /** Takes one request (and the estimate) or returns how long to wait; plus the headers to send. */
  take(
    client: ClientInfo | null,
    name: string | null,
    tokens: () => number,
  ): { waitMs: number; headers: RateHeaders } {
    const { rpm, tpm } = this.limitsOf(client);
    if (!rpm && !tpm) return { waitMs: 0, headers: {} };
    const b = this.bucketsFor(name ?? "(anonymous)", rpm, tpm);
    const estimate = b.tpm ? tokens() : 0;
    const waitMs = Math.max(b.rpm?.msUntil(1) ?? 0, b.tpm?.msUntil(estimate) ?? 0);
    if (waitMs === 0) {
      b.rpm?.take(1);
      b.tpm?.take(estimate);
    }
    const headers: RateHeaders = {};
    if (b.rpm && rpm) {
      headers["x-ratelimit-limit-requests"] = String(rpm);
      headers["x-ratelimit-remaining-requests"] = String(Math.max(0, Math.floor(b.rpm.level())));
      headers["x-ratelimit-reset-requests"] = `${Math.ceil(b.rpm.msUntil(rpm) / 1000)}s`;
    }
    if (b.tpm && tpm) {
      headers["x-ratelimit-limit-tokens"] = String(tpm);
      headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, Math.floor(b.tpm.level())));
    }
    return { waitMs, headers };
  }

  /** Corrects a client's token bucket by what the request really used. */
  settle(client: ClientInfo | null, name: string | null, estimate: number, actual: number): void {
    const b = this.buckets.get(name ?? "(anonymous)");
    if (!b?.tpm || !(client?.tpm ?? this.opts.defaults.tpm)) return;
    if (actual > estimate) b.tpm.take(actual - estimate);
    else b.tpm.give(estimate - actual);
  }

  status(): Record<string, { requests: number | null; tokens: number | null }> {
    const out: Record<string, { requests: number | null; tokens: number | null }> = {};
    for (const [name, b] of this.buckets) {
      out[name] = {
        requests: b.rpm ? Math.floor(b.rpm.level()) : null,
        tokens: b.tpm ? Math.floor(b.tpm.level()) : null,
      };
    }
    return out;
  }

  private bucketsFor(name: string, rpm: number | null, tpm: number | null) {
    const signature = `${rpm}/${tpm}`;
    let b = this.buckets.get(name);
    if (!b || b.signature !== signature) {
      const { clock } = this.opts;
      b = {
        signature,
        rpm: rpm ? new TokenBucket({ capacity: rpm, refillPerMs: rpm / 60_000 }, clock) : null,
        tpm: tpm ? new TokenBucket({ capacity: tpm, refillPerMs: tpm / 60_000 }, clock) : null,
      };
      this.buckets.set(name, b);
    }
    return b;
  }
}
