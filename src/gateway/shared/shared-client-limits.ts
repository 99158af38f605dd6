import type { ClientInfo } from "../clients.js";
import { ClientLimits, type RateHeaders } from "../limiters.js";

/** What the hot state decided for this request's client before the pipeline ran. */
export interface ClientDecision {
  waitMs: number;
  headers: RateHeaders;
}

export interface ClientDecider {
  /** The prefetched decision (marked used); null when there is none (local limits apply). */
  clientDecision(): ClientDecision | null;
  settleTokens(name: string, tpm: number, delta: number): void;
  readonly defaultTpm: number | undefined;
  status(): "shared" | "degraded";
  /** How many instances were alive when Redis was last seen (each keeps its share while it is away). */
  instances(): number;
}

/** Client buckets decided in Redis (prefetched by the hot state); this instance's share while Redis is away. */
export class SharedClientLimits extends ClientLimits {
  constructor(
    opts: ConstructorParameters<typeof ClientLimits>[0],
    private readonly hot: ClientDecider,
  ) {
    super(opts);
  }

  override take(client: ClientInfo | null, name: string | null, tokens: () => number) {
    const decided = this.hot.clientDecision();
    if (!decided) return super.take(client, name, tokens);
    if (this.limitsOf(client).tpm) tokens(); // the pipeline settles against this estimate
    return { waitMs: decided.waitMs, headers: decided.headers };
  }

  override settle(client: ClientInfo | null, name: string | null, estimate: number, actual: number): void {
    const tpm = client?.tpm ?? this.hot.defaultTpm;
    if (tpm && this.hot.status() === "shared")
      this.hot.settleTokens(name ?? "(anonymous)", tpm, estimate - actual);
    else super.settle(client, name, estimate, actual);
  }

  protected override limitsOf(client: ClientInfo | null) {
    const limits = super.limitsOf(client);
    if (this.hot.status() === "shared") return limits;
    const n = Math.max(1, this.hot.instances());
    const share = (limit: number | null) => (limit ? Math.max(1, Math.floor(limit / n)) : limit);
    return { rpm: share(limits.rpm), tpm: share(limits.tpm) };
  }
}
