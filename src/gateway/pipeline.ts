import { performance } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { badRequest, GatewayError } from "../errors.js";
import { upstreamFailure } from "../providers/http.js";
import { SseParser } from "../providers/sse.js";
import { type Route, routeFormat, type UpstreamResponse, type WireFormat } from "../providers/types.js";
import { createStreamWatcher, type TokenUsage, usageFromBody } from "../providers/usage.js";
import type { UsageLog, UsageRecord } from "../store/usage-log.js";
import { errorFrame, toGatewayError, upstreamMessage } from "./error-shape.js";
import type { EventBus } from "./events.js";
import { type KeyPool, retryAfterMs } from "./key-pool.js";
import type { Plan, Router, Target } from "./router.js";

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

/** What the server sends back: a JSON body, or a stream whose usage row lands when it ends. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | null;
  stream: AsyncIterable<Uint8Array> | null;
}

export interface Clock {
  now(): number;
}

export interface PipelineDeps {
  router: Router;
  keys: KeyPool;
  /** queue.max_wait: the longest a request may wait for a cooling key (or, later, a limiter slot). */
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

  private async run(req: GatewayRequest, plan: Plan, rec: UsageRecord, t0: number): Promise<GatewayResponse> {
    const format = routeFormat[req.route];
    const deadline = this.clock.now() + this.deps.maxWaitMs;
    const failures: string[] = [];
    let last: GatewayError | null = null;
    for (const [index, target] of plan.targets.entries()) {
      const isLast = index === plan.targets.length - 1;
      let upstream: UpstreamResponse;
      try {
        upstream = await this.callTarget(req, target, format, rec, { isLast, deadline });
      } catch (err) {
        if (req.signal.aborted) throw new GatewayError(499, "api_error", "client closed the request");
        last = upstreamFailure(err, target.label);
        failures.push(`${target.label}: ${last.message}`);
        if (last.status < 500 && last.status !== 429) break; // the request's own fault: no fallback
        continue;
      }
      if (upstream.status >= 400 && RETRYABLE.has(upstream.status)) {
        const bytes = await readAll(upstream.body).catch(() => new Uint8Array());
        const detail = upstreamMessage(bytes) ?? "no detail";
        failures.push(`${target.label}: HTTP ${upstream.status} (${detail})`);
        last = finalUpstreamError(upstream, target, detail);
        continue;
      }
      if (index > 0) rec.fallback_from = plan.targets[0]!.label;
      const headers = this.headersFor(req, upstream, target, rec);
      if (upstream.status >= 400) return this.passError(upstream, headers, rec, t0);
      return req.body.stream === true
        ? this.streamResponse(req, upstream, format, headers, rec, t0)
        : this.jsonResponse(upstream, format, headers, rec, t0, target);
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
    target: Target,
    format: WireFormat,
    rec: UsageRecord,
    opts: { isLast: boolean; deadline: number },
  ): Promise<UpstreamResponse> {
    const { provider } = target;
    if (!provider.formats.includes(format)) {
      throw badRequest(
        `${target.label} speaks ${provider.formats.join("/")}, not the ${format} format of this route; ` +
          `call it through ${format === "openai" ? "/v1/messages" : "/v1/chat/completions"}`,
        "format_mismatch",
      );
    }
    if (!provider.routes.includes(req.route)) throw badRequest(`${target.label} does not serve ${req.route}`);
    const body: Record<string, unknown> = { ...req.body, ...target.params, model: target.model };
    if (format === "openai" && body.stream === true) {
      // Ask for usage on the client's behalf; the extra chunk is stripped if it did not ask.
      body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
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
        route: req.route,
        body,
        stream: body.stream === true,
        key: lease.secret,
        headers: req.headers,
        query: req.query,
        signal: req.signal,
      });
      const rotatable = lease.id !== null && tries < MAX_KEY_TRIES;
      if (rotatable && upstream.status === 429) {
        await drain(upstream);
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

  private headersFor(req: GatewayRequest, upstream: UpstreamResponse, target: Target, rec: UsageRecord) {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(upstream.headers)) {
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      headers[name] = Array.isArray(value) ? value.join(", ") : value;
    }
    headers["x-aigw-request-id"] = req.id;
    headers["x-aigw-provider"] = target.label;
    headers["x-aigw-cache"] = rec.cache;
    headers["x-aigw-attempts"] = String(rec.attempts);
    return headers;
  }

  private async passError(
    upstream: UpstreamResponse,
    headers: Record<string, string>,
    rec: UsageRecord,
    t0: number,
  ) {
    const body = await readAll(upstream.body);
    this.finish(rec, t0, upstream.status, "upstream_rejected");
    return { status: upstream.status, headers, body, stream: null };
  }

  private async jsonResponse(
    upstream: UpstreamResponse,
    format: WireFormat,
    headers: Record<string, string>,
    rec: UsageRecord,
    t0: number,
    target: Target,
  ): Promise<GatewayResponse> {
    let body: Uint8Array;
    try {
      body = await readAll(upstream.body);
    } catch (err) {
      throw upstreamFailure(err, target.label);
    }
    rec.ttfb_ms = performance.now() - t0;
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString("utf8"));
    } catch {
      // Not JSON: forwarded as is, with no usage.
    }
    setUsage(rec, usageFromBody(format, parsed));
    this.finish(rec, t0, upstream.status, null);
    return { status: upstream.status, headers, body, stream: null };
  }

  private streamResponse(
    req: GatewayRequest,
    upstream: UpstreamResponse,
    format: WireFormat,
    headers: Record<string, string>,
    rec: UsageRecord,
    t0: number,
  ): GatewayResponse {
    const clientWantsUsage =
      (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const watcher = createStreamWatcher(format, clientWantsUsage);
    const label = headers["x-aigw-provider"]!;
    const pipeline = this;
    async function* forward(): AsyncGenerator<Uint8Array> {
      const parser = new SseParser();
      const decoder = new TextDecoder();
      let errorType: string | null = null;
      let ended = false;
      try {
        for await (const chunk of upstream.body) {
          const frames = parser.push(decoder.decode(chunk, { stream: true }));
          let out = "";
          for (const frame of frames) if (watcher.observe(frame)) out += frame.raw;
          if (!out) continue;
          rec.ttfb_ms ??= performance.now() - t0;
          yield Buffer.from(out);
        }
        const rest = parser.flush().filter((frame) => watcher.observe(frame));
        if (rest.length) yield Buffer.from(rest.map((f) => f.raw).join(""));
        if (watcher.errored) errorType = "upstream_error";
        else if (!watcher.complete) errorType = "upstream_truncated";
        ended = true;
      } catch (err) {
        if (req.signal.aborted) {
          errorType = "client_aborted";
        } else {
          const error = upstreamFailure(err, label);
          errorType = error.type;
          ended = true;
          yield Buffer.from(errorFrame(format, error));
        }
      } finally {
        setUsage(rec, watcher.usage);
        if (!ended) {
          rec.aborted = true;
          errorType ??= "client_aborted";
        }
        pipeline.finish(rec, t0, 200, errorType);
      }
    }
    return { status: upstream.status, headers, body: null, stream: forward() };
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
    this.deps.usage.insert(rec);
    if (this.deps.events.listening) this.deps.events.emit({ type: "request", record: rec });
  }
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

function setUsage(rec: UsageRecord, usage: TokenUsage): void {
  rec.input_tokens = usage.input;
  rec.cached_input_tokens = usage.cachedInput;
  rec.cache_write_tokens = usage.cacheWrite;
  rec.output_tokens = usage.output;
}

async function drain(upstream: UpstreamResponse): Promise<void> {
  await readAll(upstream.body).catch(() => undefined);
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
