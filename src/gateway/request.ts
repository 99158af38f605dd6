import { badRequest, GatewayError } from "../errors.js";
import type { Bridge } from "../providers/translate/bridge.js";
import { bridgeFor } from "../providers/translate/bridge.js";
import { responsesBridge } from "../providers/translate/responses-bridge.js";
import { type Provider, routeFormat, type UpstreamResponse, type WireFormat } from "../providers/types.js";
import type { UsageRecord } from "../store/usage-log.js";
import { globMatch } from "./glob.js";
import { retryAfterMs } from "./key-pool.js";
import type { GatewayRequest } from "./pipeline.js";
import type { Plan, Target } from "./router.js";

/** Pure pieces of the request path: checks, how a target is reached, the row a request starts with. */

/** A target ready to call: its provider's format and the bridge to it, if the client speaks another. */
export interface Leg {
  target: Target;
  upstreamFormat: WireFormat;
  bridge: Bridge | null;
}

/** The usage row a request starts with; filled in as it goes, written once when it ends. */
export function newUsageRecord(
  req: Pick<GatewayRequest, "id" | "route" | "body" | "client" | "tags">,
  now: number,
): UsageRecord {
  return {
    id: req.id,
    started_at: now,
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
    coalesced: false,
    response_id: null,
  };
}

/** How a target is reached from this route: same format (pass-through) or across a bridge. */
export function legFor(req: GatewayRequest, target: Target, clientFormat: WireFormat): Leg {
  const { provider } = target;
  if (provider.formats.includes(clientFormat)) {
    if (!provider.routes.includes(req.route)) throw badRequest(`${target.label} does not serve ${req.route}`);
    return { target, upstreamFormat: clientFormat, bridge: null };
  }
  if (req.route === "embeddings") throw badRequest(`${target.label} does not serve embeddings`);
  const upstreamFormat = provider.formats[0]!;
  if (clientFormat === "responses" && upstreamFormat !== "responses") {
    const bridge = responsesBridge(upstreamFormat, req, () => Math.floor(Date.now() / 1000));
    return { target, upstreamFormat, bridge };
  }
  return { target, upstreamFormat, bridge: bridgeFor(clientFormat, upstreamFormat) };
}

export function validate(req: GatewayRequest): void {
  const { body } = req;
  if (typeof body.model !== "string" || !body.model)
    throw badRequest("model: required, a string naming the model");
  // It becomes part of a response header (x-aigw-provider): printable ASCII only.
  if (!/^[\x21-\x7e]+$/.test(body.model)) throw badRequest("model: only printable ASCII, no spaces");
  if (req.route === "embeddings") {
    if (body.input === undefined) throw badRequest("input: required");
    return;
  }
  if (req.route === "responses") {
    if (typeof body.input !== "string" && !Array.isArray(body.input))
      throw badRequest("input: required, a string or an array of input items");
  } else if (!Array.isArray(body.messages)) throw badRequest("messages: required, an array of messages");
  if (body.stream !== undefined && typeof body.stream !== "boolean")
    throw badRequest("stream: must be a boolean");
  if (req.route === "messages" && typeof body.max_tokens !== "number") {
    throw badRequest("max_tokens: required, a number");
  }
}

/** A client may use a model when its allowlist names it, or every target it resolves to, exactly or by glob. */
export function modelAllowed(allowed: readonly string[], plan: Plan): boolean {
  const matches = (name: string) => allowed.some((pattern) => globMatch(pattern, name));
  return matches(plan.requested) || plan.targets.every((t) => matches(t.label));
}

export function finalUpstreamError(
  upstream: UpstreamResponse,
  target: Target,
  detail: string,
  now: number,
): GatewayError {
  const message = `${target.label} answered HTTP ${upstream.status}: ${detail}`;
  if (upstream.status === 429) {
    // Always seconds, whatever form (seconds, HTTP date, ms, reset headers) the upstream used.
    const ms = upstreamRetryAfterMs(target.provider, upstream.headers, now) ?? 1000;
    const retryAfter = String(Math.max(1, Math.ceil(ms / 1000)));
    return new GatewayError(429, "rate_limit_exceeded", message, { headers: { "retry-after": retryAfter } });
  }
  return new GatewayError(upstream.status === 504 ? 504 : 502, "upstream_error", message);
}

/** How long an upstream asked us to wait: the standard headers, else its own dialect's reset headers. */
export function upstreamRetryAfterMs(
  provider: Provider,
  headers: UpstreamResponse["headers"],
  now: number,
): number | null {
  return retryAfterMs(headers, now) ?? provider.dialect?.resetMs(headers, now) ?? null;
}

/**
 * The legs a request can take, in the order to try them. A target that does not serve the route is
 * left out; when none does, that is the request's fault (400), found before budgets and limits.
 */
export function legsFor(req: GatewayRequest, targets: readonly Target[]): Leg[] {
  const clientFormat = routeFormat[req.route];
  const legs: Leg[] = [];
  let first: unknown = null;
  for (const target of targets) {
    try {
      legs.push(legFor(req, target, clientFormat));
    } catch (err) {
      first ??= err;
    }
  }
  if (legs.length === 0) throw first;
  return legs;
}
