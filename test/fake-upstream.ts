/**
 * A fake upstream LLM provider for end-to-end tests and the benchmark.
 *
 * A real `node:http` server on 127.0.0.1 that speaks the OpenAI (chat completions, embeddings, models)
 * and Anthropic (messages, count_tokens, models) wire formats, with deterministic answers derived from the
 * prompt ("Echo: " + last user text), scripted failures, latency, hangs and mid-stream disconnects.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { fakeResponse } from "./fake-responses.js";
import { FakeResponseStore } from "./fake-responses-store.js";

export interface RecordedRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string | string[] | undefined>;
  // biome-ignore lint/suspicious/noExplicitAny: test helper
  body: any /* parsed JSON or null */;
}

export interface ScriptedResponse {
  /** Only consumed by a request whose path starts with this (e.g. "/v1/messages"); default: any. */
  match?: string;
  /** Default 200 → normal generated answer; non-2xx → an error body in that route's shape unless `body` is given. */
  status?: number;
  headers?: Record<string, string>;
  /** Exact JSON body to send instead of the generated one (a string is sent verbatim). */
  body?: unknown;
  /** Wait before sending headers. */
  delayMs?: number;
  /** Never answer (until the client closes). */
  hang?: boolean;
  /** Error message for generated error bodies. */
  message?: string;
  /** Override chunk count for this response. */
  streamChunks?: number;
  /** For a stream: send half the content chunks then destroy the socket. */
  failMidStream?: boolean;
  /**
   * Answer with a call of the declared tool of this name with this input (a custom tool's input is
   * the string), as an agent's model would. Only a request that declares a tool of that name takes it.
   */
  toolCall?: ToolCall;
}

export interface ToolCall {
  name: string;
  input: Record<string, unknown> | string;
}

export interface FakeUpstreamOptions {
  port?: number;
  /** Stream content chunks, default 5. */
  chunks?: number;
  /** Delay between stream frames, default 0. */
  chunkDelayMs?: number;
  /** If set, only these API keys are accepted; others → 401 in the route's shape. If unset, any key (or none) is accepted. */
  keys?: string[];
  /** Delay before sending headers, default 0. */
  latencyMs?: number;
  /** Record requests in `requests` (default true). The benchmark turns this off to keep memory flat. */
  record?: boolean;
}

export interface FakeUpstream {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** url + "/v1" */
  openaiBaseUrl: string;
  /** url (Anthropic clients append /v1/messages) */
  anthropicBaseUrl: string;
  requests: RecordedRequest[];
  inFlight: number;
  maxConcurrent: number;
  /** Requests whose client closed the connection before the response ended. */
  clientAborts: number;
  /** FIFO queue consumed by later (matching) requests. */
  script(...responses: ScriptedResponse[]): void;
  /** Clears requests, counters and script. */
  reset(): void;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;
type Shape = "openai" | "anthropic";

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  method: string;
  path: string;
  body: Obj | null;
  seq: number;
  startedAt: number;
  script: ScriptedResponse | undefined;
  /** The response is over (finished, aborted by the client or destroyed by us). */
  closed: boolean;
  /** We destroyed the socket on purpose (failMidStream); not a client abort. */
  destroyedByUs: boolean;
}

// ---------------------------------------------------------------------------------------------------------
// Small pure helpers
// ---------------------------------------------------------------------------------------------------------

const SYSTEM_FINGERPRINT = "fp_f4ke0c0de1";
const OPENAI_MODELS = [
  "gpt-4o-mini",
  "gpt-4o",
  "gpt-4.1-mini",
  "text-embedding-3-small",
  "text-embedding-3-large",
];
const ANTHROPIC_MODELS: Array<{ id: string; display_name: string; created_at: string }> = [
  { id: "claude-sonnet-4-6", display_name: "Claude Sonnet 4.6", created_at: "2026-02-17T00:00:00Z" },
  { id: "claude-opus-4-6", display_name: "Claude Opus 4.6", created_at: "2026-02-05T00:00:00Z" },
  { id: "claude-haiku-4-5-20251001", display_name: "Claude Haiku 4.5", created_at: "2025-10-15T00:00:00Z" },
];
const MODEL_CREATED = 1_721_172_741;
const EMBEDDING_DIMS = 8;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The fake's thinking signature: it covers the text, so a block sent back altered is refused. */
const signatureOf = (thought: string): string => `sig_${hashId(thought, 32)}`;

function thinkingFrames(thought: string): string[] {
  const frame = (type: string, payload: Obj) => sseEvent(type, { type, index: 0, ...payload });
  return [
    frame("content_block_start", { content_block: { type: "thinking", thinking: "", signature: "" } }),
    frame("content_block_delta", { delta: { type: "thinking_delta", thinking: thought } }),
    frame("content_block_delta", { delta: { type: "signature_delta", signature: signatureOf(thought) } }),
    frame("content_block_stop", {}),
  ];
}

/**
 * What the live API refuses when thinking is on: a tool-use turn being continued that does not start
 * with its thinking block, or a thinking block whose signature does not match its text.
 */
function thinkingProblem(messages: Obj[]): string | undefined {
  for (const [i, m] of messages.entries()) {
    const blocks = Array.isArray(m.content) ? m.content.filter(isObj) : [];
    for (const block of blocks)
      if (block.type === "thinking" && block.signature !== signatureOf(String(block.thinking ?? "")))
        return `messages.${i}.content: Invalid \`signature\` in \`thinking\` block`;
  }
  const i = messages.findLastIndex((m) => m.role === "assistant");
  const blocks = i >= 0 && Array.isArray(messages[i]!.content) ? messages[i]!.content.filter(isObj) : [];
  if (
    blocks.some((b) => b.type === "tool_use") &&
    blocks[0]?.type !== "thinking" &&
    blocks[0]?.type !== "redacted_thinking"
  )
    return `messages.${i}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${String(blocks[0]?.type)}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block.`;
  return undefined;
}

/** A scripted call's arguments as an object: a custom tool's string input, translated, is `{ input }`. */
function objectInput(call: ToolCall): Record<string, unknown> {
  return typeof call.input === "string" ? { input: call.input } : call.input;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function words(s: string): number {
  const t = s.trim();
  return t === "" ? 0 : t.split(/\s+/).length;
}

function truncateWords(s: string, n: number): string {
  return s.trim().split(/\s+/).slice(0, Math.max(0, n)).join(" ");
}

/** Text of an OpenAI/Anthropic `content` (string, or array of text / tool_result parts). */
function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === "string") parts.push(p);
    else if (isObj(p)) {
      if (typeof p.text === "string") parts.push(p.text);
      else if (p.type === "tool_result") parts.push(textOf(p.content));
    }
  }
  return parts.join(" ");
}

/** FNV-1a 32-bit, as 8 hex chars. */
function fnv(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, "0");
}

function hashId(s: string, len: number): string {
  let out = "";
  for (let i = 0; out.length < len; i++) out += fnv(`${i}:${s}`);
  return out.slice(0, len);
}

/** Split into exactly `n` pieces (by code point; some may be empty if the text is shorter than `n`). */
function split(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.floor(n));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    out.push(
      chars
        .slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count))
        .join(""),
    );
  }
  return out;
}

/** Deterministic vector, values multiples of 1/4096 in [-1, 1] (exactly representable as float32). */
function embed(text: string): number[] {
  const v: number[] = [];
  for (let i = 0; i < EMBEDDING_DIMS; i++) {
    const h = Number.parseInt(fnv(`${i}|${text}`), 16);
    v.push(Math.round(((h / 0xffffffff) * 2 - 1) * 4096) / 4096);
  }
  return v;
}

function float32Base64(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) buf.writeFloatLE(v[i] ?? 0, i * 4);
  return buf.toString("base64");
}

function sseData(obj: unknown): string {
  return `data: ${JSON.stringify(obj)}\n\n`;
}

function sseEvent(event: string, obj: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(obj)}\n\n`;
}

function openaiErrorType(status: number): { type: string; code: string | null } {
  switch (status) {
    case 400:
      return { type: "invalid_request_error", code: null };
    case 401:
      return { type: "invalid_request_error", code: "invalid_api_key" };
    case 403:
      return { type: "invalid_request_error", code: "unsupported_country_region_territory" };
    case 404:
      return { type: "invalid_request_error", code: "model_not_found" };
    case 429:
      return { type: "requests", code: "rate_limit_exceeded" };
    default:
      return status >= 500
        ? { type: "server_error", code: null }
        : { type: "invalid_request_error", code: null };
  }
}

function anthropicErrorType(status: number): string {
  switch (status) {
    case 400:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 504:
      return "timeout_error";
    case 529:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

function defaultErrorMessage(status: number): string {
  switch (status) {
    case 401:
      return "Invalid API key";
    case 403:
      return "Permission denied";
    case 404:
      return "Not found";
    case 429:
      return "Rate limit reached for requests";
    case 529:
      return "Overloaded";
    default:
      return status >= 500 ? "The server had an error while processing your request." : "Bad request";
  }
}

function maskKey(key: string): string {
  return key.length <= 8 ? `${key.slice(0, 2)}***` : `${key.slice(0, 3)}***${key.slice(-4)}`;
}

// ---------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------

export async function startFakeUpstream(opts: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const defaultChunks = Math.max(1, Math.floor(opts.chunks ?? 5));
  const chunkDelayMs = Math.max(0, opts.chunkDelayMs ?? 0);
  const latencyMs = Math.max(0, opts.latencyMs ?? 0);
  const keys = opts.keys ? new Set(opts.keys) : undefined;
  const record = opts.record ?? true;
  let queue: ScriptedResponse[] = [];
  let seq = 0;
  const stored = new FakeResponseStore();

  const fake: FakeUpstream = {
    url: "",
    openaiBaseUrl: "",
    anthropicBaseUrl: "",
    requests: [],
    inFlight: 0,
    maxConcurrent: 0,
    clientAborts: 0,
    script(...responses: ScriptedResponse[]) {
      queue.push(...responses);
    },
    reset() {
      fake.requests.length = 0;
      // inFlight is a live gauge: requests still open keep counting (and decrement when they end).
      fake.maxConcurrent = fake.inFlight;
      fake.clientAborts = 0;
      queue = [];
      stored.clear();
    },
    close: () => Promise.resolve(),
  };

  function takeScript(path: string, body: Obj | null): ScriptedResponse | undefined {
    if (queue.length === 0) return undefined;
    const declared = new Set(
      (Array.isArray(body?.tools) ? body.tools : [])
        .filter(isObj)
        .map((t) => (isObj(t.function) ? t.function.name : t.name)),
    );
    const i = queue.findIndex(
      (s) =>
        (s.match === undefined || path.startsWith(s.match)) &&
        (s.toolCall === undefined || declared.has(s.toolCall.name)),
    );
    if (i < 0) return undefined;
    return queue.splice(i, 1)[0];
  }

  /** Waits `ms`, resolving early if the response closes. Returns false if the response is closed. */
  function wait(ctx: Ctx, ms: number): Promise<boolean> {
    if (ctx.closed) return Promise.resolve(false);
    if (ms <= 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const onClose = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        ctx.res.off("close", onClose);
        resolve(!ctx.closed);
      }, ms);
      ctx.res.once("close", onClose);
    });
  }

  function shapeOf(ctx: Ctx): Shape {
    if (ctx.path.startsWith("/v1/messages")) return "anthropic";
    if (ctx.path.startsWith("/v1/chat") || ctx.path.startsWith("/v1/embeddings")) return "openai";
    return ctx.req.headers["anthropic-version"] !== undefined ? "anthropic" : "openai";
  }

  function requestId(ctx: Ctx): string {
    return `req_${hashId(`req${ctx.seq}`, 24)}`;
  }

  function providerHeaders(ctx: Ctx, shape: Shape): Record<string, string> {
    if (shape === "openai") {
      return {
        "x-request-id": requestId(ctx),
        "openai-organization": "user-fakeupstream",
        "openai-processing-ms": String(Date.now() - ctx.startedAt),
        "openai-version": "2020-10-01",
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-requests": String(9999 - (ctx.seq % 10000)),
        "x-ratelimit-remaining-tokens": "29999990",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "0s",
      };
    }
    const reset = new Date(Math.floor(Date.now() / 1000) * 1000 + 60_000).toISOString().replace(".000Z", "Z");
    return {
      "request-id": requestId(ctx),
      "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
      "anthropic-ratelimit-requests-limit": "4000",
      "anthropic-ratelimit-requests-remaining": String(3999 - (ctx.seq % 4000)),
      "anthropic-ratelimit-requests-reset": reset,
      "anthropic-ratelimit-input-tokens-limit": "2000000",
      "anthropic-ratelimit-input-tokens-remaining": "2000000",
      "anthropic-ratelimit-input-tokens-reset": reset,
      "anthropic-ratelimit-output-tokens-limit": "400000",
      "anthropic-ratelimit-output-tokens-remaining": "400000",
      "anthropic-ratelimit-output-tokens-reset": reset,
      "anthropic-ratelimit-tokens-limit": "2400000",
      "anthropic-ratelimit-tokens-remaining": "2400000",
      "anthropic-ratelimit-tokens-reset": reset,
    };
  }

  function sendJson(ctx: Ctx, status: number, body: unknown, shape: Shape): void {
    if (ctx.closed) return;
    const payload = typeof body === "string" ? body : JSON.stringify(body);
    ctx.res.writeHead(status, {
      ...providerHeaders(ctx, shape),
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(payload)),
      ...ctx.script?.headers,
    });
    ctx.res.end(payload);
  }

  function sendError(
    ctx: Ctx,
    status: number,
    message: string,
    shape: Shape,
    param: string | null = null,
  ): void {
    if (shape === "anthropic") {
      sendJson(
        ctx,
        status,
        { type: "error", error: { type: anthropicErrorType(status), message }, request_id: requestId(ctx) },
        shape,
      );
    } else {
      const { type, code } = openaiErrorType(status);
      sendJson(ctx, status, { error: { message, type, param, code } }, shape);
    }
  }

  /** Streams pre-rendered SSE frames. `failAfter`: destroy the socket after this many frames. */
  async function sendStream(ctx: Ctx, shape: Shape, frames: string[], failAfter?: number): Promise<void> {
    if (ctx.closed) return;
    const { res } = ctx;
    res.writeHead(200, {
      ...providerHeaders(ctx, shape),
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      ...ctx.script?.headers,
    });
    const limit = Math.min(failAfter ?? frames.length, frames.length);
    for (let i = 0; i < limit; i++) {
      if (ctx.closed || res.destroyed) return;
      const frame = frames[i] ?? "";
      if (i === limit - 1 && failAfter !== undefined) {
        res.write(frame, () => destroy(ctx));
        return;
      }
      res.write(frame);
      if (chunkDelayMs > 0 && i < limit - 1 && !(await wait(ctx, chunkDelayMs))) return;
    }
    if (failAfter !== undefined) {
      destroy(ctx);
      return;
    }
    res.end();
  }

  function destroy(ctx: Ctx): void {
    if (ctx.closed) return;
    ctx.destroyedByUs = true;
    ctx.res.destroy();
  }

  function bearerOf(ctx: Ctx): string | undefined {
    const auth = str(ctx.req.headers.authorization);
    return auth?.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : undefined;
  }

  function checkKey(ctx: Ctx, shape: Shape): boolean {
    if (!keys) return true;
    const h = ctx.req.headers;
    const auth = str(h.authorization);
    const bearer = auth?.toLowerCase().startsWith("bearer ") ? auth.slice(7).trim() : undefined;
    const key = shape === "anthropic" ? (str(h["x-api-key"]) ?? bearer) : bearer;
    if (key !== undefined && keys.has(key)) return true;
    if (shape === "anthropic") {
      sendError(ctx, 401, key === undefined ? "x-api-key header is required" : "invalid x-api-key", shape);
    } else if (key === undefined) {
      const msg =
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";
      sendJson(
        ctx,
        401,
        { error: { message: msg, type: "invalid_request_error", param: null, code: null } },
        shape,
      );
    } else {
      sendError(
        ctx,
        401,
        `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
        shape,
      );
    }
    return false;
  }

  // ------------------------------------------------------------------- OpenAI chat completions

  function openaiChat(ctx: Ctx, b: Obj) {
    const shape: Shape = "openai";
    const model = str(b.model);
    if (!model) return sendError(ctx, 400, "you must provide a model parameter", shape);
    if (!Array.isArray(b.messages)) {
      return sendJson(
        ctx,
        400,
        {
          error: {
            message: "Missing required parameter: 'messages'.",
            type: "invalid_request_error",
            param: "messages",
            code: "missing_required_parameter",
          },
        },
        shape,
      );
    }
    const messages = b.messages.filter(isObj);
    const last = messages.at(-1);
    const lastIsTool = last?.role === "tool";
    const lastUser = messages.findLast((m) => m.role === "user");
    const userText = textOf(lastUser?.content);
    const firstTool = Array.isArray(b.tools) ? b.tools.find(isObj) : undefined;
    const fn = firstTool && isObj(firstTool.function) ? firstTool.function : undefined;
    const scripted = ctx.script?.toolCall;
    const toolName = scripted?.name ?? str(fn?.name) ?? str(firstTool?.name);
    const useTool =
      scripted !== undefined || (toolName !== undefined && !lastIsTool && b.tool_choice !== "none");

    let answer = `Echo: ${lastIsTool ? textOf(last?.content) : userText}`;
    let finish = "stop";
    const maxTokens = num(b.max_completion_tokens) ?? num(b.max_tokens);
    if (!useTool && maxTokens !== undefined && words(answer) > maxTokens) {
      answer = truncateWords(answer, maxTokens);
      finish = "length";
    }
    const toolArgs = JSON.stringify(scripted ? objectInput(scripted) : { query: userText });
    const toolCallId = `call_${hashId(`${toolName}|${userText}|${messages.length}`, 24)}`;

    const promptTokens = messages.reduce((n, m) => n + words(textOf(m.content)) + 3, 0);
    const completionTokens = useTool ? 1 + words(toolArgs) : words(answer);
    const usage = {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    };
    const id = `chatcmpl-${hashId(`chat${ctx.seq}`, 29)}`;
    const created = Math.floor(Date.now() / 1000);

    if (b.stream !== true) {
      const message = useTool
        ? {
            role: "assistant",
            content: null,
            tool_calls: [
              { id: toolCallId, type: "function", function: { name: toolName, arguments: toolArgs } },
            ],
            refusal: null,
            annotations: [],
          }
        : { role: "assistant", content: answer, refusal: null, annotations: [] };
      return sendJson(
        ctx,
        200,
        {
          id,
          object: "chat.completion",
          created,
          model,
          choices: [{ index: 0, message, logprobs: null, finish_reason: useTool ? "tool_calls" : finish }],
          usage,
          service_tier: "default",
          system_fingerprint: SYSTEM_FINGERPRINT,
        },
        shape,
      );
    }

    const includeUsage = isObj(b.stream_options) && b.stream_options.include_usage === true;
    const n = ctx.script?.streamChunks ?? defaultChunks;
    const chunk = (delta: Obj, finishReason: string | null): string =>
      sseData({
        id,
        object: "chat.completion.chunk",
        created,
        model,
        service_tier: "default",
        system_fingerprint: SYSTEM_FINGERPRINT,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...(includeUsage ? { usage: null } : {}),
      });
    const frames: string[] = [];
    if (useTool) {
      frames.push(
        chunk(
          {
            role: "assistant",
            content: null,
            tool_calls: [
              { index: 0, id: toolCallId, type: "function", function: { name: toolName, arguments: "" } },
            ],
            refusal: null,
          },
          null,
        ),
      );
      for (const piece of split(toolArgs, n))
        frames.push(chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] }, null));
      frames.push(chunk({}, "tool_calls"));
    } else {
      frames.push(chunk({ role: "assistant", content: "", refusal: null }, null));
      for (const piece of split(answer, n)) frames.push(chunk({ content: piece }, null));
      frames.push(chunk({}, finish));
    }
    if (includeUsage) {
      frames.push(
        sseData({
          id,
          object: "chat.completion.chunk",
          created,
          model,
          service_tier: "default",
          system_fingerprint: SYSTEM_FINGERPRINT,
          choices: [],
          usage,
        }),
      );
    }
    frames.push("data: [DONE]\n\n");
    sendStream(ctx, shape, frames, ctx.script?.failMidStream ? 1 + Math.floor(n / 2) : undefined).catch(() =>
      destroy(ctx),
    );
  }

  // ------------------------------------------------------------------- OpenAI embeddings

  function openaiEmbeddings(ctx: Ctx, b: Obj) {
    const shape: Shape = "openai";
    const model = str(b.model);
    if (!model) return sendError(ctx, 400, "you must provide a model parameter", shape);
    const raw = b.input;
    let inputs: string[];
    if (typeof raw === "string") inputs = [raw];
    else if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "number"))
      inputs = [raw.join(" ")];
    else if (Array.isArray(raw) && raw.length > 0) {
      inputs = raw.map((x) =>
        typeof x === "string" ? x : Array.isArray(x) ? x.join(" ") : JSON.stringify(x),
      );
    } else {
      return sendJson(
        ctx,
        400,
        {
          error: {
            message: "'input' is a required property",
            type: "invalid_request_error",
            param: null,
            code: null,
          },
        },
        shape,
      );
    }
    const base64 = b.encoding_format === "base64";
    const promptTokens = inputs.reduce((n, s) => n + Math.max(1, words(s)), 0);
    sendJson(
      ctx,
      200,
      {
        object: "list",
        data: inputs.map((s, index) => {
          const v = embed(s);
          return { object: "embedding", index, embedding: base64 ? float32Base64(v) : v };
        }),
        model,
        usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
      },
      shape,
    );
  }

  // ------------------------------------------------------------------- Anthropic messages

  function anthropicInputTokens(b: Obj): number {
    const messages = Array.isArray(b.messages) ? b.messages.filter(isObj) : [];
    const system = textOf(b.system);
    return messages.reduce((n, m) => n + words(textOf(m.content)) + 3, system ? words(system) + 3 : 0);
  }

  function anthropicValidate(ctx: Ctx, b: Obj, needMaxTokens: boolean): boolean {
    const shape: Shape = "anthropic";
    if (ctx.req.headers["anthropic-version"] === undefined) {
      sendError(ctx, 400, "anthropic-version: header is required", shape);
      return false;
    }
    if (!str(b.model)) {
      sendError(ctx, 400, "model: Field required", shape);
      return false;
    }
    if (!Array.isArray(b.messages)) {
      sendError(ctx, 400, "messages: Field required", shape);
      return false;
    }
    if (needMaxTokens && num(b.max_tokens) === undefined) {
      sendError(ctx, 400, "max_tokens: Field required", shape);
      return false;
    }
    return true;
  }

  function anthropicMessages(ctx: Ctx, b: Obj) {
    const shape: Shape = "anthropic";
    if (!anthropicValidate(ctx, b, true)) return;
    const model = str(b.model) ?? "";
    const messages = (b.messages as unknown[]).filter(isObj);
    const lastUser = messages.findLast((m) => m.role === "user");
    const blocks = Array.isArray(lastUser?.content) ? lastUser.content.filter(isObj) : [];
    const toolResult = blocks.find((p) => p.type === "tool_result");
    const userText = textOf(
      blocks.length ? blocks.filter((p) => p.type !== "tool_result") : lastUser?.content,
    );
    const firstTool = Array.isArray(b.tools) ? b.tools.find(isObj) : undefined;
    const scripted = ctx.script?.toolCall;
    const toolName = scripted?.name ?? str(firstTool?.name);
    const toolChoiceNone = isObj(b.tool_choice) && b.tool_choice.type === "none";
    const useTool = scripted !== undefined || (toolName !== undefined && !toolResult && !toolChoiceNone);

    let text = `Echo: ${toolResult ? textOf(toolResult.content) : userText}`;
    let stopReason = useTool ? "tool_use" : "end_turn";
    const maxTokens = num(b.max_tokens) ?? 0;
    if (!useTool && words(text) > maxTokens) {
      text = truncateWords(text, maxTokens);
      stopReason = "max_tokens";
    }
    const input = scripted ? objectInput(scripted) : { query: userText };
    const inputJson = JSON.stringify(input);
    const toolId = `toolu_01${hashId(`${toolName}|${userText}|${messages.length}`, 22)}`;
    const thinkingOn = isObj(b.thinking) && (b.thinking.type === "enabled" || b.thinking.type === "adaptive");
    if (thinkingOn) {
      const problem = thinkingProblem(messages);
      if (problem) return sendError(ctx, 400, problem, shape);
    }
    // With thinking on, the answer starts with a thinking block whose signature covers its text.
    const thought = thinkingOn ? `Thinking about: ${truncateWords(userText, 4)}` : undefined;
    const inputTokens = anthropicInputTokens(b);
    const outputTokens = Math.max(1, useTool ? 1 + words(inputJson) : words(text));
    const id = `msg_01${hashId(`msg${ctx.seq}`, 22)}`;
    const usage = (output: number) => ({
      input_tokens: inputTokens,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 },
      output_tokens: output,
      service_tier: "standard",
    });

    if (b.stream !== true) {
      const content = [
        ...(thought === undefined
          ? []
          : [{ type: "thinking", thinking: thought, signature: signatureOf(thought) }]),
        useTool ? { type: "tool_use", id: toolId, name: toolName, input } : { type: "text", text },
      ];
      return sendJson(
        ctx,
        200,
        {
          id,
          type: "message",
          role: "assistant",
          model,
          content,
          stop_reason: stopReason,
          stop_sequence: null,
          usage: usage(outputTokens),
        },
        shape,
      );
    }

    const n = ctx.script?.streamChunks ?? defaultChunks;
    const at = thought === undefined ? 0 : 1;
    const frames: string[] = [
      sseEvent("message_start", {
        type: "message_start",
        message: {
          id,
          type: "message",
          role: "assistant",
          model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usage(1),
        },
      }),
      ...(thought === undefined ? [] : thinkingFrames(thought)),
      sseEvent("content_block_start", {
        type: "content_block_start",
        index: at,
        content_block: useTool
          ? { type: "tool_use", id: toolId, name: toolName, input: {} }
          : { type: "text", text: "" },
      }),
      sseEvent("ping", { type: "ping" }),
    ];
    for (const piece of split(useTool ? inputJson : text, n)) {
      frames.push(
        sseEvent("content_block_delta", {
          type: "content_block_delta",
          index: at,
          delta: useTool
            ? { type: "input_json_delta", partial_json: piece }
            : { type: "text_delta", text: piece },
        }),
      );
    }
    frames.push(
      sseEvent("content_block_stop", { type: "content_block_stop", index: at }),
      sseEvent("message_delta", {
        type: "message_delta",
        delta: { stop_reason: stopReason, stop_sequence: null },
        // As the live API does: cumulative totals, input counts repeated from message_start.
        usage: {
          input_tokens: inputTokens,
          cache_creation_input_tokens: 0,
          cache_read_input_tokens: 0,
          output_tokens: outputTokens,
        },
      }),
      sseEvent("message_stop", { type: "message_stop" }),
    );
    sendStream(ctx, shape, frames, ctx.script?.failMidStream ? 3 + Math.floor(n / 2) : undefined).catch(() =>
      destroy(ctx),
    );
  }

  function anthropicCountTokens(ctx: Ctx, b: Obj): void {
    if (!anthropicValidate(ctx, b, false)) return;
    sendJson(ctx, 200, { input_tokens: anthropicInputTokens(b) }, "anthropic");
  }

  // ------------------------------------------------------------------- Models

  function models(ctx: Ctx, shape: Shape, id: string | undefined) {
    if (shape === "anthropic") {
      const data = ANTHROPIC_MODELS.map((m) => ({ type: "model", ...m }));
      if (id !== undefined) {
        const m = data.find((x) => x.id === id);
        return m ? sendJson(ctx, 200, m, shape) : sendError(ctx, 404, `model: ${id}`, shape);
      }
      return sendJson(
        ctx,
        200,
        { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null },
        shape,
      );
    }
    const data = OPENAI_MODELS.map((m) => ({
      id: m,
      object: "model",
      created: MODEL_CREATED,
      owned_by: "system",
    }));
    if (id !== undefined) {
      const m = data.find((x) => x.id === id);
      return m
        ? sendJson(ctx, 200, m, shape)
        : sendError(
            ctx,
            404,
            `The model '${id}' does not exist or you do not have access to it.`,
            shape,
            "model",
          );
    }
    sendJson(ctx, 200, { object: "list", data }, shape);
  }

  // ------------------------------------------------------------------- Dispatch

  async function handle(ctx: Ctx, rawBody: Buffer): Promise<void> {
    let body: Obj | null = null;
    let invalidJson = false;
    if (rawBody.length > 0) {
      try {
        const parsed: unknown = JSON.parse(rawBody.toString("utf8"));
        body = isObj(parsed) ? parsed : null;
        invalidJson = !isObj(parsed);
      } catch {
        invalidJson = true;
      }
    }
    ctx.body = body;
    const q = (ctx.req.url ?? "").indexOf("?");
    if (record)
      fake.requests.push({
        method: ctx.method,
        path: ctx.path,
        query: q >= 0 ? (ctx.req.url ?? "").slice(q + 1) : "",
        headers: { ...ctx.req.headers },
        body,
      });
    const script = takeScript(ctx.path, body);
    ctx.script = script;
    const shape = shapeOf(ctx);

    if (script?.hang) return; // answered only by the client going away (or close())
    const delay = latencyMs + (script?.delayMs ?? 0);
    if (delay > 0 && !(await wait(ctx, delay))) return;

    if (
      script &&
      (script.body !== undefined ||
        (script.status !== undefined && (script.status < 200 || script.status >= 300)))
    ) {
      const status = script.status ?? 200;
      if (script.body !== undefined) return sendJson(ctx, status, script.body, shape);
      return sendError(ctx, status, script.message ?? defaultErrorMessage(status), shape);
    }

    const { method, path } = ctx;
    const modelsMatch = /^\/v1\/models(?:\/(.+))?$/.exec(path);
    const known =
      (method === "POST" &&
        (path === "/v1/chat/completions" ||
          path === "/v1/responses" ||
          path === "/v1/embeddings" ||
          path === "/v1/messages" ||
          path === "/v1/messages/count_tokens")) ||
      (method === "GET" && modelsMatch !== null) ||
      FakeResponseStore.matches(method, path);
    if (!known) {
      if (shape === "anthropic") return sendError(ctx, 404, "Not Found", shape);
      const message = `Invalid URL (${method} ${path})`;
      return sendJson(
        ctx,
        404,
        { error: { message, type: "invalid_request_error", param: null, code: null } },
        shape,
      );
    }
    if (!checkKey(ctx, shape)) return;
    if (FakeResponseStore.matches(method, path)) {
      const query = new URLSearchParams(q >= 0 ? (ctx.req.url ?? "").slice(q + 1) : "");
      const answer = stored.answer(method, path, query, bearerOf(ctx));
      if (answer.frames) return sendStream(ctx, shape, answer.frames);
      return sendJson(ctx, answer.status, answer.body, shape);
    }
    if (method === "GET") {
      const id = modelsMatch?.[1];
      return models(ctx, shape, id === undefined ? undefined : decodeURIComponent(id));
    }
    if (invalidJson || body === null) {
      if (shape === "anthropic") {
        return sendError(ctx, 400, "There was an issue with the request body: invalid JSON", shape);
      }
      return sendError(
        ctx,
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        shape,
      );
    }
    switch (path) {
      case "/v1/chat/completions":
        return openaiChat(ctx, body);
      case "/v1/embeddings":
        return openaiEmbeddings(ctx, body);
      case "/v1/responses": {
        if (typeof body.model !== "string")
          return sendError(ctx, 400, "Missing required parameter: 'model'.", shape, "model");
        const answer = fakeResponse(
          body,
          ctx.seq,
          ctx.script?.streamChunks ?? defaultChunks,
          ctx.script?.toolCall,
        );
        stored.keep(answer.json, body, bearerOf(ctx), answer.frames);
        if (body.stream !== true) return sendJson(ctx, 200, answer.json, shape);
        return sendStream(ctx, shape, answer.frames, ctx.script?.failMidStream ? 3 : undefined);
      }
      case "/v1/messages":
        return anthropicMessages(ctx, body);
      default:
        return anthropicCountTokens(ctx, body);
    }
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const ctx: Ctx = {
      req,
      res,
      method: req.method ?? "GET",
      path: q >= 0 ? url.slice(0, q) : url,
      body: null,
      seq: seq++,
      startedAt: Date.now(),
      script: undefined,
      closed: false,
      destroyedByUs: false,
    };
    fake.inFlight++;
    if (fake.inFlight > fake.maxConcurrent) fake.maxConcurrent = fake.inFlight;
    res.once("close", () => {
      ctx.closed = true;
      fake.inFlight = Math.max(0, fake.inFlight - 1);
      if (!res.writableFinished && !ctx.destroyedByUs) fake.clientAborts++;
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("end", () => {
      handle(ctx, Buffer.concat(chunks)).catch(() => {
        if (!res.headersSent && !ctx.closed)
          sendError(ctx, 500, "fake upstream internal error", shapeOf(ctx));
        else res.destroy();
      });
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  fake.url = `http://127.0.0.1:${port}`;
  fake.openaiBaseUrl = `${fake.url}/v1`;
  fake.anthropicBaseUrl = fake.url;
  let closing: Promise<void> | undefined;
  fake.close = () => {
    closing ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };
  return fake;
}
