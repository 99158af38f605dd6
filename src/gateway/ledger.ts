import { performance } from "node:perf_hooks";
import type { CacheEntry } from "../store/response-cache.js";
import type { UsageLog, UsageRecord } from "../store/usage-log.js";
import type { Budgets } from "./budgets.js";
import type { CachePolicy, CacheTicket } from "./cache.js";
import type { ClientInfo } from "./clients.js";
import type { EventBus } from "./events.js";
import type { ClientLimits } from "./limiters.js";
import type { Permit } from "./limits/index.js";
import type { Metrics } from "./metrics.js";
import type { Target } from "./router.js";
import type { TargetOrder } from "./strategy.js";

/** What a ledger settles against when it closes. Shared by every request of a gateway. */
export interface LedgerDeps {
  usage: UsageLog;
  metrics: Metrics;
  events: EventBus;
  budgets: Budgets;
  clientLimits: ClientLimits;
  order: TargetOrder;
  cache: CachePolicy | null;
  /** The cost of a finished request in USD, or null when unpriced. */
  price: (rec: UsageRecord) => number | null;
  /** While the price table loads (right after start), settles when it has: a row is priced after it. */
  pricesLoading?: () => Promise<void> | null;
}

type Answer = Uint8Array | Record<string, unknown>;

/**
 * Everything one request holds until it ends: its usage row, limiter permits, the client's token
 * estimate, the cache slot it leads, and the target it keeps busy. `close()` settles all of them and
 * writes the row; it is the only writer of the row and runs once, whatever path ends the request.
 */
export class RequestLedger {
  readonly t0 = performance.now();
  /** Rate-limit headers for a client with limits: on every response, errors included. */
  rateHeaders: Record<string, string> = {};
  private clientEstimate = 0;
  private permits: Permit[] = [];
  private slot: { ticket: CacheTicket; settle: ((entry: CacheEntry | null) => void) | null } | null = null;
  private answer: Answer | null = null;
  private busy: Target | null = null;
  private closed = false;

  constructor(
    private readonly deps: LedgerDeps,
    readonly rec: UsageRecord,
    readonly client: ClientInfo | null,
  ) {}

  /** The client's tpm estimate, taken now and settled against real usage at close. */
  estimated(tokens: number): void {
    this.clientEstimate = tokens;
  }

  /** Limiter permits of the current attempt. */
  hold(permits: Permit[]): void {
    this.release(0);
    this.permits = permits;
  }

  /** Gives back the current attempt's permits (it failed; the next one queues afresh). */
  release(actualTokens: number | null): void {
    for (const permit of this.permits) permit.release({ actualTokens });
    this.permits = [];
  }

  /** This request now keeps `target` busy (least-busy counts it) until `idle()` or close. */
  busyWith(target: Target): void {
    this.idle();
    this.busy = target;
    this.deps.order.started(target);
  }

  idle(): void {
    if (this.busy) this.deps.order.finished(this.busy);
    this.busy = null;
  }

  /** This request will store its answer for `ticket` (and hand it to identical ones waiting). */
  lead(ticket: CacheTicket, settle: ((entry: CacheEntry | null) => void) | null): void {
    this.slot = { ticket, settle };
  }

  get leads(): boolean {
    return this.slot !== null;
  }

  /** The finished answer in the client's format, stored at close if the request ended well. */
  keep(answer: Answer | null): void {
    this.answer = answer;
  }

  /** How the request ended; the last word wins until close. */
  end(status: number, errorType: string | null): void {
    this.rec.status = status;
    this.rec.error_type = errorType;
  }

  /** Settles everything the request holds and writes its one row. Later calls do nothing. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    const { rec, deps } = this;
    rec.latency_ms = Math.round((performance.now() - this.t0) * 1000) / 1000;
    if (rec.ttfb_ms !== null) rec.ttfb_ms = Math.round(rec.ttfb_ms * 1000) / 1000;
    const used =
      rec.input_tokens === null && rec.output_tokens === null
        ? null
        : (rec.input_tokens ?? 0) + (rec.output_tokens ?? 0);
    this.release(used);
    this.idle();
    if (this.clientEstimate)
      deps.clientLimits.settle(this.client, rec.client, this.clientEstimate, used ?? 0);
    if (rec.cache !== "HIT" && rec.provider && used !== null) {
      rec.cost_usd = deps.price(rec);
      if (rec.cost_usd) deps.budgets.record(this.client, rec.client, rec.cost_usd);
    }
    this.settleCache();
    deps.usage.queue(rec);
    deps.metrics.observe(rec);
    if (deps.events.listening) deps.events.emit({ type: "request", record: rec });
  }

  /** Closes, then settles once the row is committed: a response ends only after its row is safe. */
  async finish(): Promise<void> {
    await this.pricesKnown();
    this.close();
    return this.deps.usage.committed();
  }

  /** Settles once the price table is loaded, if a request this early is one it would price. */
  pricesKnown(): Promise<void> | null {
    const { rec } = this;
    if (rec.cache === "HIT" || !rec.provider || (rec.input_tokens === null && rec.output_tokens === null))
      return null;
    return this.deps.pricesLoading?.() ?? null;
  }

  /**
   * Wraps a stream so the ledger closes when it ends, however it ends: done, failed, or abandoned by
   * the server (`return()`), even before its first chunk was pulled.
   */
  closeAfter(stream: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const inner = stream[Symbol.asyncIterator]();
    const finish = () => this.finish();
    const iterator: AsyncIterator<Uint8Array> = {
      async next() {
        let step: IteratorResult<Uint8Array>;
        try {
          step = await inner.next();
        } catch (err) {
          await finish();
          throw err;
        }
        // The end of the stream goes out once its row is committed.
        if (step.done) await finish();
        return step;
      },
      async return() {
        try {
          await inner.return?.();
        } finally {
          await finish();
        }
        return { done: true, value: undefined };
      },
    };
    return { [Symbol.asyncIterator]: () => iterator };
  }

  private settleCache(): void {
    const { slot, rec } = this;
    if (!slot) return;
    this.slot = null;
    let entry: CacheEntry | null = null;
    if (this.answer && rec.status === 200 && !rec.error_type && rec.provider && rec.upstream_model) {
      const usage = {
        input: rec.input_tokens,
        cachedInput: rec.cached_input_tokens,
        cacheWrite: rec.cache_write_tokens,
        output: rec.output_tokens,
      };
      const label = `${rec.provider}/${rec.upstream_model}`;
      try {
        entry = this.deps.cache!.put(slot.ticket, this.answer, usage, rec.cost_usd, label);
      } catch {
        entry = null; // not a JSON answer after all: served, not cached
      }
    }
    slot.settle?.(entry);
  }
}
