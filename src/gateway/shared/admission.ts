import { randomBytes } from "node:crypto";
import type { UpstreamAdmission } from "../limiters.js";
import { type Permit, QueueTimeoutError, TokenBucket } from "../limits/index.js";
import type { RedisLink } from "./redis-link.js";
import { ADJUST_BUCKET, REFRESH_LEASE, TAKE_LEASE, TAKE_RATE } from "./scripts.js";

const LEASE_MS = 30_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Fleet-wide upstream limits (per provider and per key: rpm, tpm, concurrency), asked by the head of
 * each local FIFO after it is admitted locally. Refused → wait the time Redis returns (bounded by the
 * request's deadline). While Redis is away, each instance keeps its share: the limit divided by the
 * number of instances that were alive.
 */
export class SharedAdmission {
  private readonly local = new Map<string, { held: number; rpm: TokenBucket | null; sig: string }>();

  constructor(
    private readonly link: RedisLink,
    private readonly key: (...parts: string[]) => string,
    private readonly instance: string,
    private readonly instances: () => number,
  ) {}

  readonly admit: UpstreamAdmission = async (scope, limits, opts) => {
    const { rpm = 0, tpm = 0, concurrency = 0 } = limits;
    if (!this.link.usable) return this.localShare(scope, { rpm, concurrency }, opts);
    const started = Date.now();
    const tokens = tpm ? opts.tokens : 0;
    try {
      if (rpm || tpm) await this.takeRate(scope, rpm, tpm, tokens, opts);
      const lease = concurrency ? await this.lease(scope, concurrency, opts) : null;
      if (lease === false) return this.localShare(scope, { rpm: 0, concurrency }, opts);
      let released = false;
      return {
        estimate: 0,
        waitedMs: Date.now() - started,
        release: (usage) => {
          if (released) return;
          released = true;
          lease?.();
          const actual = usage?.actualTokens;
          if (tpm && actual != null && actual !== tokens)
            this.link
              .script(ADJUST_BUCKET, [this.key("u", scope, "tpm")], [tpm, tokens - actual])
              .catch(() => {});
        },
      };
    } catch (err) {
      if (err instanceof QueueTimeoutError) throw err;
      return this.localShare(scope, { rpm: 0, concurrency }, opts); // Redis lost mid-way
    }
  };

  /** Waits until the fleet's rpm/tpm buckets of `scope` let one request (and its tokens) go. */
  private async takeRate(
    scope: string,
    rpm: number,
    tpm: number,
    tokens: number,
    opts: { deadline: number; signal: AbortSignal },
  ): Promise<void> {
    const keys = [this.key("u", scope, "rpm"), this.key("u", scope, "tpm")];
    for (;;) {
      const [wait] = (await this.link.script(TAKE_RATE, keys, [rpm, tpm, tokens])) as [number];
      if (wait <= 0) return;
      if (opts.signal.aborted || Date.now() + wait > opts.deadline)
        throw new QueueTimeoutError(
          `${scope}'s shared rate limit allows no request before the deadline`,
          wait,
        );
      await sleep(wait);
    }
  }

  /** Takes one fleet-wide slot; returns how to free it, or false when Redis went away. */
  private async lease(
    scope: string,
    limit: number,
    opts: { deadline: number; signal: AbortSignal },
  ): Promise<(() => void) | false> {
    const key = this.key("sem", scope);
    const id = `${this.instance}:${randomBytes(4).toString("hex")}`;
    // Bounded by the request's deadline; a freed slot is seen within one poll.
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      let got: unknown;
      try {
        got = await this.link.script(TAKE_LEASE, [key], [limit, id, LEASE_MS]);
      } catch {
        return false;
      }
      if (got === 1) break;
      if (opts.signal.aborted || Date.now() + delay > opts.deadline)
        throw new QueueTimeoutError(
          `every ${limit} shared slot(s) of ${scope} stayed busy until the deadline`,
          1000,
        );
      await sleep(delay);
    }
    // A long stream keeps its slot: the lease is refreshed while held.
    const refresh = setInterval(
      () => this.link.script(REFRESH_LEASE, [key], [id, LEASE_MS]).catch(() => {}),
      LEASE_MS / 3,
    );
    refresh.unref();
    return () => {
      clearInterval(refresh);
      this.link.send((c) => c.zRem(key, id));
    };
  }

  /** Redis away: this instance's share of the fleet's concurrency and rpm (at least one). */
  private async localShare(
    scope: string,
    limits: { rpm: number; concurrency: number },
    opts: { deadline: number; signal: AbortSignal },
  ): Promise<Permit | null> {
    if (!limits.rpm && !limits.concurrency) return null;
    const n = Math.max(1, this.instances());
    const share = (limit: number) => Math.max(1, Math.floor(limit / n));
    const sig = `${limits.rpm}/${n}`;
    let s = this.local.get(scope);
    if (!s || s.sig !== sig) {
      const rpm = limits.rpm ? share(limits.rpm) : 0;
      const bucket = rpm ? new TokenBucket({ capacity: rpm, refillPerMs: rpm / 60_000 }, Date) : null;
      s = { held: s?.held ?? 0, rpm: bucket, sig };
      this.local.set(scope, s);
    }
    const state = s;
    const started = Date.now();
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      const slot = !limits.concurrency || state.held < share(limits.concurrency);
      const wait = slot ? (state.rpm?.msUntil(1) ?? 0) : delay;
      if (wait === 0) break;
      if (opts.signal.aborted || Date.now() + wait > opts.deadline)
        throw new QueueTimeoutError(`${scope}'s share of its limit (Redis unreachable) is spent`, wait);
      await sleep(Math.min(wait, 50));
    }
    state.rpm?.take(1);
    if (limits.concurrency) state.held++;
    let released = false;
    return {
      estimate: 0,
      waitedMs: Date.now() - started,
      release: () => {
        if (released) return;
        released = true;
        if (limits.concurrency) state.held--;
      },
    };
  }
}
