import type { Clock, Timers } from "./clock.js";
import { RequestWindow } from "./request-window.js";
import { TokenBucket } from "./token-bucket.js";

/** An upstream's limits (per provider or per key), as in the config; `per` in ms, default a minute. */
export interface UpstreamLimits {
  rpm?: number;
  tpm?: number;
  requests?: number;
  per?: number;
  concurrency?: number;
}

export type LimiterState = "queued" | "drained" | "paused";

export interface UpstreamLimiterOptions {
  maxDepth: number; // queue.max_depth: requests waiting, not those in flight
  clock: Clock;
  timers: Timers;
  onChange?: (state: LimiterState) => void; // a queue formed, drained, or headers paused the limiter
}

export interface AcquireOptions {
  tokens?: number; // estimate (input + expected output), taken from tpm before sending
  deadline?: number; // epoch ms; default never
  signal?: AbortSignal; // aborting leaves the queue at once, rejecting with the signal's reason
}

export interface Permit {
  readonly estimate: number;
  readonly waitedMs: number;
  /** Frees the concurrency slot and corrects tpm by (actual − estimate). Idempotent. */
  release(usage?: { actualTokens?: number | null }): void;
}

export type LimiterStatus = ReturnType<UpstreamLimiter["status"]>;

/** The limiter turned a request away; `retryAfterMs` is when trying again may succeed. */
export class QueueError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message);
  }
}

/** The request could not go before its deadline (known early, or at the deadline). */
export class QueueTimeoutError extends QueueError {
  override readonly name = "QueueTimeoutError";
}

/** `maxDepth` requests are already waiting. */
export class QueueFullError extends QueueError {
  override readonly name = "QueueFullError";
}

const MINUTE = 60_000;
/** Retry-After is whole seconds on the wire; never suggest less than one. */
const MIN_RETRY_MS = 1000;
/** Pause when headers say the upstream is nearly spent but give no reset time. */
const DEFAULT_PAUSE_MS = 1000;

interface Waiter {
  tokens: number;
  deadline: number;
  enqueuedAt: number;
  resolve: (permit: Permit) => void;
  reject: (reason: unknown) => void;
  cleanup: () => void; // clears its deadline timer and abort listener
}

/**
 * Keeps requests to one upstream within its rpm / requests-per-window, tpm and concurrency: a request
 * goes as soon as every limit allows it, else waits in a strictly FIFO queue (a later small request
 * never jumps the waiting head). Its own FIFO semaphore rather than p-limit, because every gate must be
 * decided together for the head.
 */
export class UpstreamLimiter {
  /** Nothing configured: the gateway skips the limiter entirely. */
  static isUnlimited(cfg: UpstreamLimits | null | undefined): boolean {
    return !cfg || !(cfg.rpm || cfg.tpm || cfg.requests || cfg.concurrency);
  }

  readonly limits: UpstreamLimits;
  private readonly windows: RequestWindow[] = [];
  private readonly bucket: TokenBucket | null = null;
  private readonly concurrency: number;
  private readonly queue: Waiter[] = [];
  private queuedTokens = 0;
  private inFlight = 0;
  private pausedUntil = 0;
  private lastEstimate = 0;
  private wake: unknown = null;
  private wakeAt = 0;

  constructor(
    limits: UpstreamLimits,
    private readonly opts: UpstreamLimiterOptions,
  ) {
    this.limits = { ...limits };
    if (limits.rpm) this.windows.push(new RequestWindow(limits.rpm, MINUTE));
    if (limits.requests) this.windows.push(new RequestWindow(limits.requests, limits.per ?? MINUTE));
    if (limits.tpm)
      this.bucket = new TokenBucket({ capacity: limits.tpm, refillPerMs: limits.tpm / MINUTE }, opts.clock);
    this.concurrency = limits.concurrency ?? Number.POSITIVE_INFINITY;
  }

  acquire({ tokens = 0, deadline = Number.POSITIVE_INFINITY, signal }: AcquireOptions = {}): Promise<Permit> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const now = this.opts.clock.now();
    tokens = Number.isFinite(tokens) ? Math.max(0, tokens) : 0;
    if (!this.queue.length && this.timeWait(tokens, now) === 0 && this.inFlight < this.concurrency) {
      return Promise.resolve(this.grant(tokens, now, now));
    }
    const ahead = this.queue.length;
    const retry = () => this.retryAfter(ahead, this.queuedTokens + tokens, now);
    if (ahead >= this.opts.maxDepth) {
      return Promise.reject(new QueueFullError(`${ahead} requests are already queued`, retry()));
    }
    if (now + this.certainWait(tokens, now) > deadline) return Promise.reject(this.timeout(retry()));
    return new Promise<Permit>((resolve, reject) => {
      const w: Waiter = { tokens, deadline, enqueuedAt: now, resolve, reject, cleanup: () => {} };
      const { timers } = this.opts;
      const timer =
        deadline < Number.POSITIVE_INFINITY ? timers.setTimeout(() => this.expire(w), deadline - now) : null;
      const onAbort = () => this.drop(w, signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      w.cleanup = () => {
        if (timer !== null) timers.clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
      };
      this.queue.push(w);
      this.queuedTokens += tokens;
      if (this.queue.length === 1) this.emit("queued");
      this.pump();
    });
  }

  /** Holds new requests until `until` (epoch ms), e.g. after an upstream 429 with `retry-after`. */
  slowDown(until: number): void {
    if (until <= this.pausedUntil || until <= this.opts.clock.now()) return;
    this.pausedUntil = until;
    this.emit("paused");
    this.pump();
  }

  /**
   * Learns from upstream rate-limit headers (`resetMs` from now); returns whether it paused.
   * Rule: hold new requests until the reset when ≤ 1 request is left or fewer tokens than the last estimate.
   */
  applyUpstreamHeaders(remainingRequests: Num, remainingTokens: Num, resetMs: Num): boolean {
    const low =
      (remainingRequests != null && remainingRequests <= 1) ||
      (remainingTokens != null && remainingTokens < Math.max(1, this.lastEstimate));
    if (low) this.slowDown(this.opts.clock.now() + (resetMs ?? DEFAULT_PAUSE_MS));
    return low;
  }

  /** For `/aigw/status`; `windows` has one entry per request window (rpm, then requests/per). */
  status() {
    const now = this.opts.clock.now();
    const level = this.bucket?.level() ?? null;
    return {
      limits: { ...this.limits },
      inFlight: this.inFlight,
      queueDepth: this.queue.length,
      queuedTokens: this.queuedTokens,
      oldestWaitMs: this.queue[0] ? now - this.queue[0].enqueuedAt : 0,
      windows: this.windows.map((w) => ({ limit: w.limit, perMs: w.perMs, used: w.used(now) })),
      tokensLevel: level === null ? null : Math.floor(level),
      tokensUsed: level === null ? null : Math.ceil(this.bucket!.capacity - level),
      pausedUntil: this.pausedUntil > now ? this.pausedUntil : null,
    };
  }

  /** Ms until the time-based limits (pause, windows, and tpm unless `tokens` is null) allow a request. */
  private timeWait(tokens: number | null, now: number): number {
    let ms = Math.max(0, this.pausedUntil - now);
    for (const w of this.windows) ms = Math.max(ms, w.msUntil(now));
    return this.bucket && tokens !== null ? Math.max(ms, this.bucket.msUntil(tokens)) : ms;
  }

  /** A wait nothing can shorten: tpm counts only when no refund can come from a request in flight. */
  private certainWait(tokens: number, now: number): number {
    return this.timeWait(this.inFlight ? null : tokens, now);
  }

  /** Grants the head while it may go, turns it away once it cannot make its deadline, else sleeps. */
  private pump(): void {
    const now = this.opts.clock.now();
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      const wait = this.timeWait(head.tokens, now);
      if (wait === 0 && this.inFlight < this.concurrency) {
        this.dequeue(head);
        head.resolve(this.grant(head.tokens, head.enqueuedAt, now));
      } else if (now + this.certainWait(head.tokens, now) > head.deadline) {
        this.dequeue(head);
        head.reject(this.timeout(this.retryAfter(0, head.tokens, now)));
      } else {
        this.arm(wait > 0 ? now + wait : 0); // blocked on concurrency alone: a release pumps
        return;
      }
    }
    this.arm(0);
  }

  /** Sets (at > 0) or clears (0) the single wake-up timer. */
  private arm(at: number): void {
    if (at === this.wakeAt) return;
    if (this.wake !== null) this.opts.timers.clearTimeout(this.wake);
    this.wakeAt = at;
    const fire = () => {
      this.wake = null;
      this.wakeAt = 0;
      this.pump();
    };
    this.wake = at ? this.opts.timers.setTimeout(fire, at - this.opts.clock.now()) : null;
  }

  private grant(tokens: number, enqueuedAt: number, now: number): Permit {
    this.inFlight++;
    for (const w of this.windows) w.record(now);
    this.bucket?.take(tokens);
    this.lastEstimate = tokens;
    let released = false;
    const release = (usage?: { actualTokens?: number | null }) => {
      if (released) return;
      released = true;
      this.inFlight--;
      const actual = usage?.actualTokens;
      if (this.bucket && typeof actual === "number" && Number.isFinite(actual)) {
        if (actual < tokens) this.bucket.give(tokens - actual);
        else if (actual > tokens) this.bucket.take(actual - tokens);
      }
      if (this.queue.length) this.pump();
    };
    return { estimate: tokens, waitedMs: now - enqueuedAt, release };
  }

  private expire(w: Waiter): void {
    this.pump(); // at its deadline it may still just go
    const index = this.queue.indexOf(w);
    if (index < 0) return;
    const ahead = this.queue.slice(0, index).reduce((sum, x) => sum + x.tokens, 0);
    this.drop(w, this.timeout(this.retryAfter(index, ahead + w.tokens, this.opts.clock.now())));
  }

  /** Takes a waiter out of the queue with an error (timeout, abort); the next may now go. */
  private drop(w: Waiter, error: unknown): void {
    if (!this.queue.includes(w)) return;
    this.dequeue(w);
    w.reject(error);
    this.pump();
  }

  private dequeue(w: Waiter): void {
    this.queue.splice(this.queue.indexOf(w), 1);
    this.queuedTokens -= w.tokens;
    w.cleanup();
    if (!this.queue.length) this.emit("drained");
  }

  private timeout(retryAfterMs: number): QueueTimeoutError {
    return new QueueTimeoutError(
      "upstream limits would not let the request go before its deadline",
      retryAfterMs,
    );
  }

  /** When a request with `ahead` requests before it (`tokens` counting theirs) could expect to go. */
  private retryAfter(ahead: number, tokens: number, now: number): number {
    let ms = Math.max(0, this.pausedUntil - now);
    for (const w of this.windows) ms = Math.max(ms, w.msUntil(now, ahead));
    if (this.bucket) ms = Math.max(ms, (tokens - this.bucket.level()) / this.bucket.refillPerMs);
    return Math.max(MIN_RETRY_MS, Math.ceil(ms));
  }

  private emit(state: LimiterState): void {
    try {
      this.opts.onChange?.(state);
    } catch {
      // A broken listener must never break the queue.
    }
  }
}

type Num = number | null | undefined;
