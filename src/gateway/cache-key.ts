/**
 * Response-cache keys and the cacheability rule. Pure: no I/O, no clock.
 *
 * A key is the SHA-256 (hex) of canonical JSON (object keys sorted at every depth, no whitespace) of
 * the fields that decide the answer: the route and its wire format, the resolved `provider/model`,
 * the scope (namespace, client), the request headers that change what the upstream does, and the
 * client's body minus an explicit list of fields known not to change the answer. Everything not on
 * that list is kept, so a field aigw has never heard of still splits the cache: a needless miss is
 * cheap, a wrong hit is not.
 */

import { createHash } from "node:crypto";

/** Bumped when the key recipe changes, so old rows simply stop matching. */
const KEY_VERSION = 1;

/**
 * Body fields that do not change the answer, for every route:
 * - `model`: the resolved `provider/model` is keyed instead (aliases and groups resolve to it);
 * - `stream`, `stream_options`: a hit is replayed as a stream or sent as JSON as the client asks, and
 *   a stored answer keeps its usage, so `include_usage` only decides whether the usage chunk is sent;
 * - `user`, `safety_identifier`, `metadata`: who is asking, for abuse monitoring and the dashboard;
 * - `store`: whether OpenAI keeps a copy for evals/distillation (a hit simply makes no copy);
 * - `service_tier`: price and latency class of the same model, not its output;
 * - `prompt_cache_key`, `prompt_cache_retention`: hints for the upstream's own prompt cache.
 * Kept on purpose (they can change the answer): `parallel_tool_calls`, `logprobs`/`top_logprobs`,
 * `seed`, `n`, `temperature` and the other samplers, `tools`/`tool_choice`, `response_format`,
 * `reasoning_effort`/`thinking`, `max_tokens`..., and Anthropic `cache_control` markers (harmless
 * to the answer but kept rather than risk stripping a same-named field of a user's tool schema).
 */
export const IGNORED_BODY_FIELDS: ReadonlySet<string> = new Set([
  "model",
  "stream",
  "stream_options",
  "user",
  "safety_identifier",
  "metadata",
  "store",
  "service_tier",
  "prompt_cache_key",
  "prompt_cache_retention",
]);

export interface CacheKeyInput {
  /** The route's wire format (`openai` | `anthropic`): a stored answer is replayed in this format. */
  format: string;
  /** `chat` | `messages` | `embeddings`. */
  route: string;
  /** The resolved `provider/model` the request is (or would be) sent to. */
  model: string;
  /** The client's parsed JSON body, in the route's format (before any translation). */
  body: Record<string, unknown>;
  /** From `x-aigw-cache-namespace`; absent and "" are the same default namespace. */
  namespace?: string | null;
  /** Client name when answers are not shared between clients; null/absent for a shared cache. */
  client?: string | null;
  /**
   * Request headers forwarded upstream that change its behaviour (`anthropic-beta`,
   * `anthropic-version`) and the forwarded query string; names are lower-cased before hashing.
   */
  headers?: Record<string, string>;
}

/** The response-cache key: SHA-256 hex of the canonical JSON of the answer-deciding fields. */
export function cacheKey(input: CacheKeyInput): string {
  const body: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input.body)) {
    // `null` means "default" for the optional fields of both APIs: the same as leaving it out.
    if (IGNORED_BODY_FIELDS.has(field) || value === null || value === undefined) continue;
    body[field] = value;
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  const material = {
    v: KEY_VERSION,
    format: input.format,
    route: input.route,
    model: input.model,
    namespace: input.namespace ?? "",
    client: input.client ?? null,
    headers,
    body,
  };
  return createHash("sha256").update(canonicalJson(material)).digest("hex");
}

/**
 * JSON with object keys sorted (by UTF-16 code unit, as `Array.prototype.sort`) at every depth.
 * Arrays keep their order (message order matters); `undefined` members are dropped as JSON does.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value))
    return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) parts.push(`${JSON.stringify(key)}:${canonicalJson(v)}`);
    }
    return `{${parts.join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * Why a request must not be answered from (or stored in) the cache, or null when it may be:
 * - a route other than chat, messages, embeddings and responses (nothing else returns a model's answer);
 * - Responses state held upstream (`previous_response_id` not expanded by aigw, `conversation`, `background`);
 * - `n` > 1 (chat): the client asks for several distinct samples, usually to pick among them or to
 *   vote; the same stored set every time defeats that (and multi-choice streams interleave);
 * - audio output (`modalities` with "audio", or `audio`): the answer refers to audio the upstream
 *   keeps for a limited time (`audio.id`, `expires_at`), so a replay would hand out a dead reference;
 * - Anthropic `mcp_servers` and `container`: tools that run on the provider's side with effects
 *   (remote MCP actions, a stateful code-execution container) would silently not run on a hit.
 * Client-side tools are fine: a stored tool call is replayed and the client runs it as before.
 */
export function uncacheableReason(route: string, body: Record<string, unknown>): string | null {
  if (route !== "chat" && route !== "messages" && route !== "embeddings" && route !== "responses")
    return `route ${route} is not cached`;
  // A conversation the provider holds (or a background job) is not in the body, so not in the key.
  if (typeof body.previous_response_id === "string")
    return "previous_response_id refers to provider-held state";
  if (body.conversation !== undefined && body.conversation !== null)
    return "a conversation is provider-held state";
  if (body.background === true) return "background responses are jobs, not answers";
  if (typeof body.n === "number" && body.n > 1) return "n > 1 asks for distinct samples";
  const modalities = Array.isArray(body.modalities) ? body.modalities : [];
  if (modalities.includes("audio") || (body.audio !== undefined && body.audio !== null)) {
    return "audio output refers to upstream-held audio that expires";
  }
  if (Array.isArray(body.mcp_servers) && body.mcp_servers.length > 0) return "MCP servers run remote actions";
  if (body.container !== undefined && body.container !== null) return "a code-execution container has state";
  return null;
}

export function isCacheable(route: string, body: Record<string, unknown>): boolean {
  return uncacheableReason(route, body) === null;
}
