import type { Clock } from "./clock.js";

export interface TokenBucketOptions {
  /** The burst: how much may be taken at once from a full bucket (for rpm/tpm, the per-minute limit). */
  capacity: number;
  /** The sustained rate (for rpm/tpm, limit / 60 000). */
  refillPerMs: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/** Slack for floating-point refill arithmetic: 0.999 + 0.001 tokens is 1, and a wait of msUntil(n) suffices. */
const EPSILON = 1e-6;

/**
 * A token bucket on an injected clock: allows a short burst (`capacity`) and a sustained rate
 * (`refillPerMs`), refilled lazily on every read. A request larger than the whole capacity is not
 * refused forever: it may go when the bucket is full and leaves it in debt (a negative level).
 */
export class TokenBucket {
  readonly capacity: number;
  readonly refillPerMs: number;
  private tokens: number;
  private last: number;

  constructor(
    opts: TokenBucketOptions,
    private readonly clock: Clock,
  ) {
    if (!(opts.capacity > 0) || !(opts.refillPerMs > 0)) {
      throw new RangeError("TokenBucket: capacity and refillPerMs must be positive");
    }
    this.capacity = opts.capacity;
    this.refillPerMs = opts.refillPerMs;
    this.tokens = opts.capacity;
    this.last = clock.now();
  }

  /** Tokens available now; negative while in debt. */
  level(): number {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last); // a clock stepping back never drains the bucket
    this.last = now;
    this.tokens = Math.min(this.capacity, this.tokens + elapsed * this.refillPerMs);
    return this.tokens;
  }

  /** Milliseconds until `n` could be taken (0 when it can be now). */
  msUntil(n: number): number {
    const missing = Math.min(n, this.capacity) - this.level();
    return missing <= EPSILON ? 0 : Math.ceil(missing / this.refillPerMs - EPSILON);
  }

  /** Takes `n` if there is room, else says how long until there would be. */
  tryTake(n: number): TakeResult {
    const wait = this.msUntil(n);
    if (wait > 0) return { ok: false, retryAfterMs: wait };
    this.tokens -= n;
    return { ok: true };
  }

  /** Takes `n` regardless, possibly into debt: corrects an estimate that proved too low. */
  take(n: number): void {
    this.tokens = this.level() - n;
  }

  /** Gives `n` back (capped at capacity): refunds an estimate that proved too high. */
  give(n: number): void {
    this.tokens = Math.min(this.capacity, this.level() + n);
  }
}
