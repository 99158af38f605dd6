import { GatewayError } from "../errors.js";
import type { Route } from "../providers/types.js";
import type { UsageLog, UsageRecord } from "../store/usage-log.js";
import type { CircuitBreaker } from "./breaker.js";
import type { Budgets } from "./budgets.js";
import type { CacheHints, CachePolicy } from "./cache.js";
import type { ClientIndex } from "./clients.js";
import { toGatewayError } from "./error-shape.js";
import type { EventBus } from "./events.js";
import { Failover } from "./failover.js";
import { type CacheStepDeps, fromCache } from "./from-cache.js";
import type { KeyPool } from "./key-pool.js";
import { RequestLedger } from "./ledger.js";
import type { ClientLimits, Limiters } from "./limiters.js";
import { type Clock, realTimers, type Timers } from "./limits/index.js";
import type { Metrics } from "./metrics.js";
import { legsFor, modelAllowed, newUsageRecord, validate } from "./request.js";
import { deliver, type GatewayResponse } from "./respond.js";
import type { Router } from "./router.js";
import type { TargetOrder } from "./strategy.js";

export type { Clock } from "./limits/index.js";
export type { GatewayResponse } from "./respond.js";

/** A parsed client request, free of any HTTP framework. */
export interface GatewayRequest {
  id: string;
  route: Route;
  body: Record<string, unknown>;
  /** Lower-cased client headers that may be forwarded upstream (the providers' dialects name them). */
  headers: Record<string, string>;
  query: string;
  client: string | null;
  /** The client's model allowlist (names or globs like `openai/*`); null allows everything. */
  allowedModels: readonly string[] | null;
  tags: string | null;
  /** What the client asked of the cache (Cache-Control, x-aigw-cache-*). */
  cacheHints: CacheHints;
  signal: AbortSignal;
}

export interface PipelineDeps {
  router: Router;
  clients: ClientIndex;
  budgets: Budgets;
  /** The cost of a finished request in USD, or null when unpriced. */
  price: (rec: UsageRecord) => number | null;
  /** While the price table loads (right after start), settles when it has: a row is priced after it. */
  pricesLoading?: () => Promise<void> | null;
  limiters: Limiters;
  clientLimits: ClientLimits;
  metrics: Metrics;
  /** The response cache; null when `cache.enabled` is false. */
  cache: CachePolicy | null;
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number };
  keys: KeyPool;
  breaker: CircuitBreaker;
  order: TargetOrder;
  /** queue.max_wait: the longest a request may wait for a cooling key (or a limiter slot). */
  maxWaitMs: number;
  usage: UsageLog;
  events: EventBus;
  clock?: Clock;
  timers?: Timers;
}

/**
 * The request path: check the request, take the client's rate, try the cache, check budgets, find an
 * answer (failover), deliver it. Each request's ledger holds what it takes and writes its one row.
 */
export class Pipeline {
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly failover: Failover;
  /** What the cache step needs, built once rather than spread from `deps` per request. */
  private readonly cacheStep: CacheStepDeps;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? Date;
    this.timers = deps.timers ?? realTimers;
    this.cacheStep = { cache: deps.cache, clock: this.clock, timers: this.timers, maxWaitMs: deps.maxWaitMs };
    const { keys, limiters, breaker, retry } = deps;
    this.failover = new Failover({ keys, limiters, breaker, retry, clock: this.clock, timers: this.timers });
  }

  /** Serves one request. Throws a GatewayError (its row written) for the server to render. */
  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const rec = newUsageRecord(req, this.clock.now());
    const ledger = new RequestLedger(this.deps, rec, req.client ? this.deps.clients.get(req.client) : null);
    if (this.deps.events.listening) {
      const { id, started_at, route, requested_model: model, stream } = rec;
      this.deps.events.emit({ type: "start", id, started_at, client: req.client, route, model, stream });
    }
    try {
      const res = await this.serve(req, ledger);
      Object.assign(res.headers, this.ownHeaders(ledger));
      if (res.stream) return { ...res, stream: ledger.closeAfter(res.stream) };
      const prices = ledger.pricesKnown();
      if (prices) await prices;
      ledger.close();
      if (rec.cost_usd !== null && rec.cache !== "HIT") res.headers["x-aigw-cost-usd"] = String(rec.cost_usd);
      // Answered only once the row is committed (rows of one turn commit together right after it).
      await this.deps.usage.committed();
      return res;
    } catch (err) {
      const error = toGatewayError(err);
      rec.aborted = req.signal.aborted;
      ledger.end(error.status, rec.aborted ? "client_aborted" : error.type);
      await ledger.finish();
      throw withHeaders(error, this.ownHeaders(ledger));
    }
  }

  /**
   * Logs a request that failed before the pipeline took it (bad JSON, too large, unauthenticated, a
   * route's own step before it); its body, when parsed, names the requested model.
   */
  reject(
    meta: { id: string; route: Route; client: string | null; body?: Record<string, unknown> },
    err: GatewayError,
  ): GatewayError {
    const rec = newUsageRecord({ body: {}, ...meta, tags: null }, this.clock.now());
    const ledger = new RequestLedger(this.deps, rec, null);
    ledger.end(err.status, err.type);
    ledger.close();
    return withHeaders(err, this.ownHeaders(ledger));
  }

  private async serve(req: GatewayRequest, ledger: RequestLedger): Promise<GatewayResponse> {
    const { rec } = ledger;
    // The request's own faults first: a client learns the real problem before any budget or limit.
    validate(req);
    const plan = this.deps.router.resolve(rec.requested_model!);
    if (req.allowedModels && !modelAllowed(req.allowedModels, plan)) {
      const message = `client "${req.client}" may not use model "${plan.requested}"`;
      throw new GatewayError(403, "permission_error", message, { code: "model_not_allowed" });
    }
    const servable = legsFor(req, plan.targets);
    this.limitClient(req, ledger);
    const cached = await fromCache(this.cacheStep, req, ledger, plan, this.clock.now() + this.deps.maxWaitMs);
    if ("hit" in cached) return cached.hit;
    this.deps.budgets.check(ledger.client);
    const order = this.deps.order.order(plan);
    const legs = servable.sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target));
    const outcome = await this.failover.run(req, ledger, legs, cached.deadline);
    if (!outcome.ok) throw outcome.error;
    if (outcome.leg.target !== plan.targets[0]) rec.fallback_from = plan.targets[0]!.label;
    return deliver(req, ledger, outcome.leg, outcome.upstream);
  }

  /** A client over its rpm/tpm gets an immediate 429 with Retry-After: its own wallet is at stake. */
  private limitClient(req: GatewayRequest, ledger: RequestLedger): void {
    let estimate = 0;
    const { waitMs, headers } = this.deps.clientLimits.take(ledger.client, req.client, () => {
      estimate = this.deps.limiters.estimate(req.body);
      return estimate;
    });
    ledger.rateHeaders = headers;
    if (waitMs <= 0) {
      ledger.estimated(estimate);
      return;
    }
    const who = req.client ? `client "${req.client}"` : "anonymous use";
    const seconds = Math.ceil(waitMs / 1000);
    throw new GatewayError(
      429,
      "rate_limit_exceeded",
      `${who} is over its rate limit; retry in ${seconds}s`,
      {
        headers: { "retry-after": String(Math.max(1, seconds)), "retry-after-ms": String(Math.ceil(waitMs)) },
      },
    );
  }

  /** What every response of a request carries, errors included. */
  private ownHeaders(ledger: RequestLedger): Record<string, string> {
    return {
      "x-aigw-request-id": ledger.rec.id,
      "x-aigw-attempts": String(ledger.rec.attempts),
      ...ledger.rateHeaders,
    };
  }
}

function withHeaders(err: GatewayError, headers: Record<string, string>): GatewayError {
  return new GatewayError(err.status, err.type, err.message, {
    code: err.code,
    headers: { ...headers, ...err.headers },
    cause: err.cause,
  });
}
