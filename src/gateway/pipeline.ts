import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { badRequest, GatewayError } from "../errors.js";
import { upstreamFailure } from "../providers/http.js";
import { type Bridge, bridgeFor } from "../providers/translate/bridge.js";
import { type Route, routeFormat, type UpstreamResponse, type WireFormat } from "../providers/types.js";
import type { UsageLog, UsageRecord } from "../store/usage-log.js";
import type { CircuitBreaker } from "./breaker.js";
import type { Budgets } from "./budgets.js";
import type { ClientIndex } from "./clients.js";
import { toGatewayError, upstreamMessage } from "./error-shape.js";
import type { EventBus } from "./events.js";
import { type KeyPool, retryAfterMs } from "./key-pool.js";
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

/** A target ready to call: its provider's format and the bridge to it, if the client speaks another. */
interface Leg {
  target: Target;
  upstreamFormat: WireFormat;
  bridge: Bridge | null;
}

export class Pipeline {
  private readonly clock: Clock;

  constructor(private readonly deps: PipelineDeps) {
    this.clock = deps.clock ?? Date;
  }

  /** Serves one request. Throws a GatewayError (already logged) for the server to render. */
  async handle(req: GatewayRequest): Promise<GatewayResponse> {
    const t0 = performance.now();
    const rec = this.newRecord(req);
    if (this.deps.events.listening) {
      const { id, started_at, client, route, requested_model: model, stream } = rec;
      this.deps.events.emit({ type: "start", id, started_at, client, route, model, stream });
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
      this.deps.budgets.check(req.client ? this.deps.clients.get(req.client) : null);
      return await this.run(req, plan, rec, t0);
    } catch (err) {
      const error = toGatewayError(err);
      rec.aborted = req.signal.aborted;
      this.finish(rec, t0, error.status, rec.aborted ? "client_aborted" : error.type);
      throw error;
    }
  }

  /** Logs a request that failed before it could be parsed (bad JSON, too large, unauthenticated). */
  reject(meta: { id: string; route: Route; client: string | null }, err: GatewayError): void {
    const rec = this.newRecord({ ...meta, body: {}, tags: null });
    this.finish(rec, performance.now(), err.status, err.type);
  }

  /** Tries the plan's targets in strategy order until one answers; failures hand over to the next. */
  private async run(req: GatewayRequest, plan: Plan, rec: UsageRecord, t0: number): Promise<GatewayResponse> {
    const clientFormat = routeFormat[req.route];
    const deadline = this.clock.now() + this.deps.maxWaitMs;
    const { breaker, order } = this.deps;
    const targets = order.order(plan);
    const failures: string[] = [];
    let last: GatewayError | null = null;
    for (const [index, target] of targets.entries()) {
      const provider = target.provider.name;
      if (!breaker.allow(provider)) {
        last = new GatewayError(
          502,
          "upstream_error",
          `${target.label} skipped: its circuit is open after repeated failures`,
        );
        failures.push(last.message);
        continue;
      }
      let upstream: UpstreamResponse;
      let leg: Leg;
      try {
        leg = legFor(req, target, clientFormat);
        upstream = await this.callTarget(req, leg, rec, { isLast: index === targets.length - 1, deadline });
      } catch (err) {
        if (req.signal.aborted) {
          breaker.release(provider);
          throw new GatewayError(499, "api_error", "client closed the request");
        }
        last = upstreamFailure(err, target.label);
        failures.push(`${target.label}: ${last.message}`);
        // Only the upstream's own failures (unreachable, timed out) count against its circuit, not ours
        // (no key, every key cooling or retired).
        if (err instanceof GatewayError) breaker.release(provider);
        else breaker.failure(provider);
        if (last.status < 500 && last.status !== 429) break; // the request's own fault: no fallback
        continue;
      }
      if (upstream.status >= 400 && RETRYABLE.has(upstream.status)) {
        const detail =
          upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "no detail";
        failures.push(`${target.label}: HTTP ${upstream.status} (${detail})`);
        last = finalUpstreamError(upstream, target, detail);
        if (upstream.status >= 500) breaker.failure(provider);
        else breaker.release(provider);
        continue;
      }
      breaker.success(provider);
      if (target !== plan.targets[0]) rec.fallback_from = plan.targets[0]!.label;
      order.started(target);
      return this.deliver(req, leg, upstream, rec, t0);
    }
    if (!last) throw new GatewayError(502, "upstream_error", "no target could be tried");
    const tried = failures.length > 1 ? `; tried ${failures.join("; ")}` : "";
    throw new GatewayError(last.status, last.type, `${last.message}${tried}`, {
      code: last.code,
      headers: last.headers,
    });
  }

  /**
   * Calls one target, rotating across its keys: a 429 cools the key and the request moves to the next
   * healthy one at once; a 401/403 retires the key. When every key is cooling, the last target waits for
   * the first to come back if that is before the queue deadline; other targets hand over to the next.
   */
  private async callTarget(
    req: GatewayRequest,
    leg: Leg,
    rec: UsageRecord,
    opts: { isLast: boolean; deadline: number },
  ): Promise<UpstreamResponse> {
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
    const keys = this.deps.keys;
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
        if (got.waitUntil > opts.deadline || tries >= MAX_KEY_TRIES) {
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
      const rotatable = lease.id !== null && tries < MAX_KEY_TRIES;
      if (rotatable && upstream.status === 429) {
        await readAll(upstream.body).catch(() => undefined);
        keys.rateLimited(lease, retryAfterMs(upstream.headers, this.clock.now()));
        continue;
      }
      if (rotatable && (upstream.status === 401 || upstream.status === 403)) {
        const detail =
          upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "rejected";
        keys.rejected(lease, upstream.status, detail);
        continue;
      }
      if (upstream.status < 400) keys.succeeded(lease);
      return upstream;
    }
  }

  private deliver(req: GatewayRequest, leg: Leg, upstream: UpstreamResponse, rec: UsageRecord, t0: number) {
    const { target } = leg;
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    headers["x-aigw-request-id"] = req.id;
    headers["x-aigw-provider"] = target.label;
    headers["x-aigw-cache"] = rec.cache;
    headers["x-aigw-attempts"] = String(rec.attempts);
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
        this.deps.order.finished(target);
        this.finish(rec, t0, status, errorType);
      },
    };
    if (upstream.status >= 400) return deliverError(delivery);
    return req.body.stream === true ? deliverStream(delivery) : deliverJson(delivery);
  }

  private newRecord(req: Pick<GatewayRequest, "id" | "route" | "body" | "client" | "tags">): UsageRecord {
    return {
      id: req.id,
      started_at: this.clock.now(),
      client: req.client,
      route: req.route,
      requested_model: typeof req.body.model === "string" ? req.body.model : null,
      provider: null,
      upstream_model: null,
      key_id: null,
      status: 0,
      error_type: null,
      stream: req.body.stream === true,
      cache: "BYPASS",
      attempts: 0,
      fallback_from: null,
      queue_wait_ms: null,
      ttfb_ms: null,
      latency_ms: 0,
      input_tokens: null,
      cached_input_tokens: null,
      cache_write_tokens: null,
      output_tokens: null,
      cost_usd: null,
      saved_usd: null,
      tags: req.tags,
      aborted: false,
    };
  }

  private finish(rec: UsageRecord, t0: number, status: number, errorType: string | null): void {
    rec.status = status;
    rec.error_type = errorType;
    rec.latency_ms = Math.round((performance.now() - t0) * 1000) / 1000;
    if (rec.ttfb_ms !== null) rec.ttfb_ms = Math.round(rec.ttfb_ms * 1000) / 1000;
    if (rec.provider && (rec.input_tokens !== null || rec.output_tokens !== null)) {
      rec.cost_usd = this.deps.price(rec);
      if (rec.cost_usd) {
        this.deps.budgets.record(
          rec.client ? this.deps.clients.get(rec.client) : null,
          rec.client,
          rec.cost_usd,
        );
      }
    }
    this.deps.usage.insert(rec);
    if (this.deps.events.listening) this.deps.events.emit({ type: "request", record: rec });
  }
}

/** How a target is reached from this route: same format (pass-through) or across a bridge. */
function legFor(req: GatewayRequest, target: Target, clientFormat: WireFormat): Leg {
  const { provider } = target;
  if (provider.formats.includes(clientFormat)) {
    if (!provider.routes.includes(req.route)) throw badRequest(`${target.label} does not serve ${req.route}`);
    return { target, upstreamFormat: clientFormat, bridge: null };
  }
  if (req.route === "embeddings") throw badRequest(`${target.label} does not serve embeddings`);
  const upstreamFormat = provider.formats[0]!;
  return { target, upstreamFormat, bridge: bridgeFor(clientFormat, upstreamFormat) };
}

function validate(req: GatewayRequest): void {
  const { body } = req;
  if (typeof body.model !== "string" || !body.model)
    throw badRequest("model: required, a string naming the model");
  if (req.route === "embeddings") {
    if (body.input === undefined) throw badRequest("input: required");
    return;
  }
  if (!Array.isArray(body.messages)) throw badRequest("messages: required, an array of messages");
  if (body.stream !== undefined && typeof body.stream !== "boolean")
    throw badRequest("stream: must be a boolean");
  if (req.route === "messages" && typeof body.max_tokens !== "number") {
    throw badRequest("max_tokens: required, a number");
  }
}

/** A client may use a model when its allowlist names it, or every target it resolves to, exactly or by glob. */
export function modelAllowed(allowed: readonly string[], plan: Plan): boolean {
  const matches = (name: string) =>
    allowed.some((pattern) =>
      pattern.includes("*")
        ? new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`).test(name)
        : pattern === name,
    );
  return matches(plan.requested) || plan.targets.every((t) => matches(t.label));
}

function finalUpstreamError(upstream: UpstreamResponse, target: Target, detail: string): GatewayError {
  const message = `${target.label} answered HTTP ${upstream.status}: ${detail}`;
  if (upstream.status === 429) {
    const retryAfter = String(upstream.headers["retry-after"] ?? "1");
    return new GatewayError(429, "rate_limit_exceeded", message, { headers: { "retry-after": retryAfter } });
  }
  return new GatewayError(upstream.status === 504 ? 504 : 502, "upstream_error", message);
}
