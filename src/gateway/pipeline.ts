import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { GatewayError } from "../errors.js";
import { upstreamFailure } from "../providers/http.js";
import { type Route, routeFormat, type UpstreamResponse } from "../providers/types.js";
import type { CacheEntry } from "../store/response-cache.js";
import type { UsageLog, UsageRecord } from "../store/usage-log.js";
import type { CircuitBreaker } from "./breaker.js";
import type { Budgets } from "./budgets.js";
import type { CacheHints, CachePolicy, CacheTicket } from "./cache.js";
import type { ClientIndex, ClientInfo } from "./clients.js";
import { toGatewayError, upstreamMessage } from "./error-shape.js";
import type { EventBus } from "./events.js";
import { type KeyPool, retryAfterMs } from "./key-pool.js";
import type { ClientLimits, Limiters } from "./limiters.js";
import { type Permit, QueueError, QueueFullError } from "./limits/index.js";
import type { Metrics } from "./metrics.js";
import { finalUpstreamError, type Leg, legFor, modelAllowed, newUsageRecord, validate } from "./request.js";
import {
  type Delivery,
  deliverError,
  deliverJson,
  deliverStream,
  type GatewayResponse,
  readAll,
} from "./respond.js";
import type { Plan, Router, Target } from "./router.js";
import type { TargetOrder } from "./strategy.js";

export type { GatewayResponse } from "./respond.js";

/** A parsed client request, free of any HTTP framework. */
export interface GatewayRequest {
  id: string;
  route: Route;
  body: Record<string, unknown>;
  /** Lower-cased client headers that may be forwarded upstream. */
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

export interface Clock {
  now(): number;
}

export interface PipelineDeps {
  router: Router;
  clients: ClientIndex;
  budgets: Budgets;
  /** The cost of a finished request in USD, or null when unpriced. */
  price: (rec: UsageRecord) => number | null;
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
}

/** Upstream statuses worth handing to the next target; any other 4xx is the request's own fault. */
const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

/** Upstream calls one target may make while rotating keys, so a flapping upstream cannot loop forever. */
const MAX_KEY_TRIES = 10;

/** Response headers of an upstream that must not be copied to the client. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "set-cookie",
  "date",
  "server",
  "alt-svc",
  "via",
  "cf-ray",
]);

/** One request on its way through: its row, timing, client, and the limiter permits it holds. */
interface Flow {
  req: GatewayRequest;
  rec: UsageRecord;
  t0: number;
  client: ClientInfo | null;
  /** The client's tpm estimate, settled against real usage at the end. */
  clientEstimate: number;
  /** Rate-limit headers for a client with limits: on every response, errors included. */
  rateHeaders: Record<string, string>;
  permits: Permit[];
  /** The cache's ticket and, when this request leads identical ones, how to hand them the answer. */
  cache: { ticket: CacheTicket; settle: ((entry: CacheEntry | null) => void) | null } | null;
  /** When waiting (keys, limiters) and retrying must end: queue.max_wait from the start. */
  deadline: number;
  /** Its usage row has been written. */
  finished?: boolean;
}

export class Pipeline {
  private readonly clock: Clock;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? Date;
  }

  /** Serves one request. Throws a GatewayError (already logged) for the server to render. */
  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const t0 = performance.now();
    const rec = newUsageRecord(req, this.clock.now());
    const client = req.client ? this.deps.clients.get(req.client) : null;
    const flow: Flow = {
      req,
      rec,
      t0,
      client,
      clientEstimate: 0,
      rateHeaders: {},
      permits: [],
      cache: null,
      deadline: this.clock.now() + this.deps.maxWaitMs,
    };
    if (this.deps.events.listening) {
      const { id, started_at, route, requested_model: model, stream } = rec;
      this.deps.events.emit({ type: "start", id, started_at, client: req.client, route, model, stream });
    }
    try {
      validate(req);
      const plan = this.deps.router.resolve(rec.requested_model!);
      if (req.allowedModels && !modelAllowed(req.allowedModels, plan)) {
        throw new GatewayError(
          403,
          "permission_error",
          `client "${req.client}" may not use model "${plan.requested}"`,
          {
            code: "model_not_allowed",
          },
        );
      }
      this.limitClient(flow);
      const cached = await this.fromCache(flow, plan);
      if (cached) return cached;
      this.deps.budgets.check(client);
      const res = await this.run(flow, plan);
      Object.assign(res.headers, flow.rateHeaders);
      return res;
    } catch (err) {
      flow.cache?.settle?.(null);
      const error = toGatewayError(err);
      rec.aborted = req.signal.aborted;
      this.finish(flow, error.status, rec.aborted ? "client_aborted" : error.type);
      const headers = { ...error.headers, ...flow.rateHeaders };
      throw new GatewayError(error.status, error.type, error.message, {
        code: error.code,
        headers,
        cause: error.cause,
      });
    }
  }

  /**
   * Answers from the cache when it can: a stored answer, or the one an identical request in flight is
   * about to store (single-flight). Otherwise registers this request as the one that will store it.
   */
  private async fromCache(flow: Flow, plan: Plan): Promise<GatewayResponse | null> {
    const { cache } = this.deps;
    const { req, rec } = flow;
    const ticket =
      cache?.ticket({
        route: req.route,
        format: routeFormat[req.route],
        body: req.body,
        plan,
        client: req.client,
        hints: req.cacheHints,
        headers: req.query ? { ...req.headers, "?": req.query } : req.headers,
      }) ?? null;
    if (!ticket) {
      // Replay mode never calls upstream, even for what the cache cannot hold.
      if ((req.cacheHints.mode ?? cache?.mode) === "replay") {
        throw new GatewayError(
          404,
          "cache_miss",
          `replay mode: "${plan.requested}" is not cacheable or the cache is off`,
          {
            code: "cache_miss",
          },
        );
      }
      return null;
    }
    if (!cache) return null;
    // MISS: the answer comes from upstream and is stored (no-cache and record skip only the lookup).
    rec.cache = ticket.store || ticket.lookup ? "MISS" : "BYPASS";
    const hit = cache.lookup(ticket);
    if (hit) return this.replay(flow, hit, false);
    const leader = cache.follow(ticket);
    if (leader) {
      const left = Math.max(0, flow.deadline - this.clock.now());
      const give = new AbortController();
      const onAbort = () => give.abort();
      req.signal.addEventListener("abort", onAbort, { once: true });
      try {
        const entry = await Promise.race([leader, sleep(left, null, { signal: give.signal })]);
        if (entry) return this.replay(flow, entry, true);
      } finally {
        give.abort(); // the losing timer goes
        req.signal.removeEventListener("abort", onAbort);
      }
      if (req.signal.aborted) throw new GatewayError(499, "api_error", "client closed the request");
      // The leader failed: this request starts its own wait for upstream afresh.
      flow.deadline = this.clock.now() + this.deps.maxWaitMs;
    }
    if (ticket.replayOnly) throw cache.missError(ticket);
    flow.cache = { ticket, settle: ticket.store ? cache.lead(ticket) : null };
    return null;
  }

  private replay(flow: Flow, entry: CacheEntry, coalesced: boolean): GatewayResponse {
    const { req, rec } = flow;
    const slash = entry.model.indexOf("/");
    rec.cache = "HIT";
    rec.coalesced = coalesced;
    rec.provider = entry.model.slice(0, slash);
    rec.upstream_model = entry.model.slice(slash + 1);
    rec.input_tokens = entry.usage.input;
    rec.cached_input_tokens = entry.usage.cachedInput;
    rec.cache_write_tokens = entry.usage.cacheWrite;
    rec.output_tokens = entry.usage.output;
    rec.cost_usd = 0;
    rec.saved_usd = entry.cost_usd;
    const stream = req.body.stream === true;
    const includeUsage =
      (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const answer = this.deps.cache!.replay(entry, { stream, includeUsage });
    const headers: Record<string, string> = {
      "content-type": "json" in answer ? "application/json" : "text/event-stream",
      "x-aigw-request-id": req.id,
      "x-aigw-provider": entry.model,
      "x-aigw-cache": "HIT",
      "x-aigw-attempts": "0",
      age: String(Math.max(0, Math.floor((this.clock.now() - entry.created_at) / 1000))),
      ...flow.rateHeaders,
    };
    rec.ttfb_ms = performance.now() - flow.t0;
    this.finish(flow, 200, null);
    if ("json" in answer) return { status: 200, headers, body: answer.json, stream: null };
    const bytes = Buffer.from(answer.frames.join(""));
    return {
      status: 200,
      headers,
      body: null,
      stream: (async function* () {
        yield bytes;
      })(),
    };
  }

  /** A client over its rpm/tpm gets an immediate 429 with Retry-After: its own wallet is at stake. */
  private limitClient(flow: Flow): void {
    const { req } = flow;
    const { waitMs, headers } = this.deps.clientLimits.take(flow.client, req.client, () => {
      flow.clientEstimate = this.deps.limiters.estimate(req.body);
      return flow.clientEstimate;
    });
    flow.rateHeaders = headers;
    if (waitMs > 0) {
      flow.clientEstimate = 0;
      throw new GatewayError(
        429,
        "rate_limit_exceeded",
        `${req.client ? `client "${req.client}"` : "anonymous use"} is over its rate limit; retry in ${Math.ceil(waitMs / 1000)}s`,
        {
          headers: {
            "retry-after": String(Math.max(1, Math.ceil(waitMs / 1000))),
            "retry-after-ms": String(Math.ceil(waitMs)),
          },
        },
      );
    }
  }

  /** Logs a request that failed before it could be parsed (bad JSON, too large, unauthenticated). */
  reject(meta: { id: string; route: Route; client: string | null }, err: GatewayError): void {
    const rec = newUsageRecord({ ...meta, body: {}, tags: null }, this.clock.now());
    this.finish(
      { rec, t0: performance.now(), client: null, clientEstimate: 0, permits: [] },
      err.status,
      err.type,
    );
  }

  /**
   * Tries the plan's targets in strategy order. A target that fails retryably (unreachable, timed
   * out, 5xx/529) is retried with backoff and jitter up to `retry.max_attempts`, then the next target
   * takes over; a 4xx the request caused ends the search.
   */
  private async run(flow: Flow, plan: Plan): Promise<GatewayResponse> {
    const { req, rec } = flow;
    const clientFormat = routeFormat[req.route];
    const { breaker, order, retry } = this.deps;
    const targets = order.order(plan);
    const failures: string[] = [];
    let last: GatewayError | null = null;
    for (const [index, target] of targets.entries()) {
      // The circuit a failure counts against: the provider's, or the model's where failures are per model.
      const provider = target.provider.circuitPerModel ? target.label : target.provider.name;
      const leg = legFor(req, target, clientFormat);
      for (let attempt = 1; attempt <= retry.maxAttempts; attempt++) {
        if (!breaker.allow(provider)) {
          last = new GatewayError(
            502,
            "upstream_error",
            `${target.label} skipped: its circuit is open after repeated failures`,
          );
          failures.push(last.message);
          break;
        }
        let upstream: UpstreamResponse;
        // Busy from the moment it is tried (least-busy must see requests waiting for an answer).
        order.started(target);
        try {
          upstream = await this.callTarget(flow, leg, { isLast: index === targets.length - 1 });
        } catch (err) {
          order.finished(target);
          this.releasePermits(flow, 0);
          if (req.signal.aborted) {
            breaker.release(provider);
            throw new GatewayError(499, "api_error", "client closed the request");
          }
          last = upstreamFailure(err, target.label);
          failures.push(`${target.label}: ${last.message}`);
          // Only the upstream's own failures (unreachable, timed out) count against its circuit and are
          // retried; ours (no key, every key cooling, queue full) are not.
          if (err instanceof GatewayError) {
            breaker.release(provider);
            if (last.status < 500 && last.status !== 429) return this.fail(failures, last);
            break;
          }
          breaker.failure(provider);
          if (!(await this.backoff(flow, attempt))) break;
          continue;
        }
        if (upstream.status >= 400 && RETRYABLE.has(upstream.status)) {
          order.finished(target);
          this.releasePermits(flow, 0);
          const detail =
            upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "no detail";
          failures.push(`${target.label}: HTTP ${upstream.status} (${detail})`);
          last = finalUpstreamError(upstream, target, detail);
          if (upstream.status >= 500) breaker.failure(provider);
          else breaker.release(provider);
          if (upstream.status === 429 || !(await this.backoff(flow, attempt))) break;
          continue;
        }
        breaker.success(provider);
        if (target !== plan.targets[0]) rec.fallback_from = plan.targets[0]!.label;
        return this.deliver(flow, leg, upstream);
      }
    }
    return this.fail(failures, last);
  }

  private fail(failures: string[], last: GatewayError | null): never {
    if (!last) throw new GatewayError(502, "upstream_error", "no target could be tried");
    const tried = failures.length > 1 ? `; tried ${failures.join("; ")}` : "";
    throw new GatewayError(last.status, last.type, `${last.message}${tried}`, {
      code: last.code,
      headers: last.headers,
    });
  }

  /** Sleeps before another attempt (exponential, full jitter); false when no attempt or time is left. */
  private async backoff(flow: Flow, attempt: number): Promise<boolean> {
    const { maxAttempts, backoffMs, maxBackoffMs } = this.deps.retry;
    if (attempt >= maxAttempts) return false;
    const wait = Math.random() * Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
    if (this.clock.now() + wait > flow.deadline) return false;
    await sleep(wait, undefined, { signal: flow.req.signal });
    return true;
  }

  /**
   * Calls one target, rotating across its keys: a 429 cools the key and the request moves to the next
   * healthy one at once; a 401/403 retires the key. When every key is cooling, the last target waits for
   * the first to come back if that is before the deadline; other targets hand over to the next. Each
   * call first waits its turn in the provider's and key's limiters.
   */
  private async callTarget(flow: Flow, leg: Leg, opts: { isLast: boolean }): Promise<UpstreamResponse> {
    const { req, rec } = flow;
    const { target, bridge } = leg;
    const { provider } = target;
    const merged = target.params ? { ...req.body, ...target.params } : req.body;
    let body: Record<string, unknown>;
    if (bridge) {
      body = bridge.request(merged, target.model);
    } else {
      body = { ...merged, model: target.model };
      if (leg.upstreamFormat === "openai" && body.stream === true) {
        // Ask for usage on the client's behalf; the extra chunk is stripped if it did not ask.
        body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
      }
    }
    const { keys, limiters } = this.deps;
    for (let tries = 0; ; tries++) {
      const got = keys.acquire(provider);
      if ("waitUntil" in got) {
        const now = this.clock.now();
        const retryAfter = String(Math.max(1, Math.ceil((got.waitUntil - now) / 1000)));
        const cooling = `every key of ${provider.name} is cooling down after 429s`;
        if (!opts.isLast)
          throw new GatewayError(429, "rate_limit_exceeded", cooling, {
            headers: { "retry-after": retryAfter },
          });
        if (got.waitUntil > flow.deadline || tries >= MAX_KEY_TRIES) {
          throw new GatewayError(
            429,
            "queue_timeout",
            `${cooling}; the first is back in ${retryAfter}s, past queue.max_wait`,
            {
              headers: { "retry-after": retryAfter },
            },
          );
        }
        const waited = performance.now();
        await sleep(got.waitUntil - now, undefined, { signal: req.signal });
        rec.queue_wait_ms = (rec.queue_wait_ms ?? 0) + (performance.now() - waited);
        continue;
      }
      const { lease } = got;
      await this.waitForLimiters(flow, provider.name, lease.id, body);
      rec.attempts++;
      rec.provider = provider.name;
      rec.upstream_model = target.model;
      rec.key_id = lease.id;
      const upstream = await provider.send({
        route: bridge ? (leg.upstreamFormat === "anthropic" ? "messages" : "chat") : req.route,
        body,
        stream: body.stream === true,
        key: lease.secret,
        // Headers and query that steer an upstream only make sense in the client's own format.
        headers: bridge ? {} : req.headers,
        query: bridge ? "" : req.query,
        signal: req.signal,
      });
      const resetMs = () => retryAfterMs(upstream.headers, this.clock.now());
      limiters.learn(provider.name, lease.id, upstream.headers, resetMs);
      const rotatable = lease.id !== null && tries < MAX_KEY_TRIES;
      if (rotatable && upstream.status === 429) {
        this.releasePermits(flow, 0);
        await readAll(upstream.body).catch(() => undefined);
        keys.rateLimited(lease, resetMs());
        continue;
      }
      // 401 is the key; a 403 is usually about the request (moderation, region, a model the account
      // lacks) and passes through without retiring a good key.
      if (rotatable && upstream.status === 401) {
        this.releasePermits(flow, 0);
        const detail =
          upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "rejected";
        keys.rejected(lease, upstream.status, detail);
        continue;
      }
      if (upstream.status < 400) keys.succeeded(lease);
      return upstream;
    }
  }

  /** Waits in the provider's and key's queues (FIFO, up to the deadline); 429 queue_timeout past it. */
  private async waitForLimiters(
    flow: Flow,
    provider: string,
    keyId: string | null,
    body: Record<string, unknown>,
  ) {
    const { limiters } = this.deps;
    const tokens = limiters.needsTokens(provider, keyId) ? limiters.estimate(body) : 0;
    try {
      flow.permits = await limiters.acquire(provider, keyId, {
        tokens,
        deadline: flow.deadline,
        signal: flow.req.signal,
      });
    } catch (err) {
      if (!(err instanceof QueueError)) throw err;
      const retryAfter = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
      throw new GatewayError(429, "queue_timeout", `${provider}: ${err.message}`, {
        code: err instanceof QueueFullError ? "queue_full" : "queue_timeout",
        headers: { "retry-after": retryAfter },
      });
    }
    const waited = flow.permits.reduce((ms, p) => Math.max(ms, p.waitedMs), 0);
    if (waited > 0) flow.rec.queue_wait_ms = (flow.rec.queue_wait_ms ?? 0) + waited;
  }

  /** Stores a finished answer (null: nothing to store) and hands it to identical requests waiting. */
  private keep(flow: Flow, target: Target, answer: Uint8Array | Record<string, unknown> | null): void {
    const slot = flow.cache;
    if (!slot) return;
    flow.cache = null;
    const { rec } = flow;
    let entry: CacheEntry | null = null;
    if (answer && rec.status === 200 && !rec.error_type) {
      const usage = {
        input: rec.input_tokens,
        cachedInput: rec.cached_input_tokens,
        cacheWrite: rec.cache_write_tokens,
        output: rec.output_tokens,
      };
      try {
        entry = this.deps.cache!.put(slot.ticket, answer, usage, rec.cost_usd, target.label);
      } catch {
        entry = null; // not a JSON answer after all: serve it, do not cache it
      }
    }
    slot.settle?.(entry);
  }

  private releasePermits(flow: Pick<Flow, "permits">, actualTokens: number | null): void {
    for (const permit of flow.permits) permit.release({ actualTokens });
    flow.permits = [];
  }

  private deliver(flow: Flow, leg: Leg, upstream: UpstreamResponse) {
    const { req, rec, t0 } = flow;
    const { target } = leg;
    const headers: Record<string, string> = {};
    const hideRateHeaders = leg.bridge !== null || Object.keys(flow.rateHeaders).length > 0;
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      // The upstream's rate-limit counts are one key's, not the client's: hidden when aigw limits the
      // client (its own x-ratelimit-* headers say it) and when the formats differ.
      if (hideRateHeaders && (name.startsWith("x-ratelimit-") || name.startsWith("anthropic-ratelimit-")))
        continue;
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    headers["x-aigw-request-id"] = req.id;
    headers["x-aigw-provider"] = target.label;
    headers["x-aigw-cache"] = rec.cache;
    headers["x-aigw-attempts"] = String(rec.attempts);
    let delivered = false;
    const delivery: Delivery = {
      requestId: req.id,
      upstream,
      headers,
      clientFormat: routeFormat[req.route],
      upstreamFormat: leg.upstreamFormat,
      bridge: leg.bridge,
      model: target.model,
      label: target.label,
      clientWantsUsage:
        (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
      rec,
      t0,
      signal: req.signal,
      finish: (status, errorType) => {
        delivered = true;
        this.deps.order.finished(target);
        this.finish(flow, status, errorType);
      },
      keep: flow.cache ? (answer) => this.keep(flow, target, answer) : null,
    };
    if (req.body.stream === true && upstream.status < 400) return deliverStream(delivery);
    // Reading a JSON body can still fail (a reset, an idle timeout): the target is then no longer busy.
    return (upstream.status >= 400 ? deliverError(delivery) : deliverJson(delivery)).catch((err: unknown) => {
      if (!delivered) this.deps.order.finished(target);
      throw err;
    });
  }

  /** Ends a request once: prices it, settles limiters and budgets, writes its row, tells listeners. */
  private finish(flow: FinishFlow, status: number, errorType: string | null): void {
    if (flow.finished) return; // exactly one row per request, whatever path ends it
    flow.finished = true;
    const { rec, t0 } = flow;
    rec.status = status;
    rec.error_type = errorType;
    rec.latency_ms = Math.round((performance.now() - t0) * 1000) / 1000;
    if (rec.ttfb_ms !== null) rec.ttfb_ms = Math.round(rec.ttfb_ms * 1000) / 1000;
    const used =
      rec.input_tokens === null && rec.output_tokens === null
        ? null
        : (rec.input_tokens ?? 0) + (rec.output_tokens ?? 0);
    this.releasePermits(flow, used);
    if (flow.clientEstimate)
      this.deps.clientLimits.settle(flow.client, rec.client, flow.clientEstimate, used ?? 0);
    if (rec.cache !== "HIT" && rec.provider && used !== null) {
      rec.cost_usd = this.deps.price(rec);
      if (rec.cost_usd) this.deps.budgets.record(flow.client, rec.client, rec.cost_usd);
    }
    this.deps.usage.insert(rec);
    this.deps.metrics.observe(rec);
    if (this.deps.events.listening) this.deps.events.emit({ type: "request", record: rec });
  }
}

type FinishFlow = Pick<Flow, "rec" | "t0" | "client" | "clientEstimate" | "permits"> & { finished?: boolean };
