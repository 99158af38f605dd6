import type { SseFrame } from "./sse.js";
import type { WireFormat } from "./types.js";

/** Token counts of one answer. `input` counts every prompt token, cached ones included. */
export interface TokenUsage {
  input: number | null;
  cachedInput: number | null;
  cacheWrite: number | null;
  output: number | null;
}

export const noUsage = (): TokenUsage => ({ input: null, cachedInput: null, cacheWrite: null, output: null });

type Json = Record<string, unknown>;
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const obj = (v: unknown): Json | null =>
  v && typeof v === "object" && !Array.isArray(v) ? (v as Json) : null;

/** Usage from a complete JSON response body of either format (embeddings included). */
export function usageFromBody(format: WireFormat, body: unknown): TokenUsage {
  const usage = obj(obj(body)?.usage);
  if (!usage) return noUsage();
  if (format === "responses") return responsesUsage(usage);
  return format === "anthropic" ? anthropicUsage(usage, noUsage()) : openaiUsage(usage);
}

/** Responses usage: `input_tokens` already includes cached ones; reasoning tokens are output. */
function responsesUsage(usage: Json): TokenUsage {
  return {
    input: num(usage.input_tokens),
    cachedInput: num(obj(usage.input_tokens_details)?.cached_tokens) ?? 0,
    cacheWrite: null,
    output: num(usage.output_tokens) ?? (usage.input_tokens !== undefined ? 0 : null),
  };
}

function openaiUsage(usage: Json): TokenUsage {
  return {
    input: num(usage.prompt_tokens),
    cachedInput: num(obj(usage.prompt_tokens_details)?.cached_tokens) ?? 0,
    cacheWrite: null,
    output: num(usage.completion_tokens) ?? (usage.prompt_tokens !== undefined ? 0 : null),
  };
}

/** Anthropic counts cache reads and writes apart from `input_tokens`; aigw's input includes them. */
function anthropicUsage(usage: Json, into: TokenUsage): TokenUsage {
  const fresh = num(usage.input_tokens);
  const read = num(usage.cache_read_input_tokens);
  const write = num(usage.cache_creation_input_tokens);
  if (fresh !== null) {
    into.input = fresh + (read ?? 0) + (write ?? 0);
    into.cachedInput = read ?? 0;
    into.cacheWrite = write ?? 0;
  }
  const output = num(usage.output_tokens);
  if (output !== null) into.output = output;
  return into;
}

/**
 * Watches a stream's frames for usage and its proper end. `observe` returns false for a frame the
 * client should not get (OpenAI's usage-only chunk that aigw asked for on the client's behalf).
 */
export interface StreamWatcher {
  observe(frame: SseFrame): boolean;
  readonly usage: TokenUsage;
  /** The upstream said the answer is complete (`[DONE]` / `message_stop`). */
  readonly complete: boolean;
  /** An error frame arrived mid-stream. */
  readonly errored: boolean;
  /** The response's own id (Responses API streams), once `response.created` has passed. */
  readonly responseId?: string | null;
}

export function createStreamWatcher(format: WireFormat, clientWantsUsage: boolean): StreamWatcher {
  if (format === "responses") return new ResponsesWatcher();
  return format === "anthropic" ? new AnthropicWatcher() : new OpenAIWatcher(clientWantsUsage);
}

class OpenAIWatcher implements StreamWatcher {
  usage = noUsage();
  complete = false;
  errored = false;
  constructor(private readonly clientWantsUsage: boolean) {}

  observe(frame: SseFrame): boolean {
    const { data } = frame;
    if (data === "[DONE]") {
      this.complete = true;
      return true;
    }
    // Parse only the frames that can carry usage or an error: the rest pass untouched.
    if (data.includes('"usage":{') || data.includes('"usage": {')) {
      const chunk = safeParse(data);
      const usage = obj(chunk?.usage);
      if (usage) this.usage = openaiUsage(usage);
      if (!this.clientWantsUsage && Array.isArray(chunk?.choices) && chunk.choices.length === 0) return false;
    } else if (data.startsWith('{"error"')) {
      this.errored = true;
    }
    return true;
  }
}

class AnthropicWatcher implements StreamWatcher {
  usage = noUsage();
  complete = false;
  errored = false;

  observe(frame: SseFrame): boolean {
    switch (frame.event) {
      case "message_start":
        anthropicUsage(obj(obj(safeParse(frame.data)?.message)?.usage) ?? {}, this.usage);
        break;
      case "message_delta":
        anthropicUsage(obj(safeParse(frame.data)?.usage) ?? {}, this.usage);
        break;
      case "message_stop":
        this.complete = true;
        break;
      case "error":
        this.errored = true;
        break;
    }
    return true;
  }
}

/** The Responses API ends with `response.completed` (or `.incomplete`/`.failed`), which carries the usage. */
class ResponsesWatcher implements StreamWatcher {
  usage = noUsage();
  complete = false;
  errored = false;
  responseId: string | null = null;

  observe(frame: SseFrame): boolean {
    // Event names are optional on the wire; the `type` inside the data is not.
    const type = frame.event ?? (frame.data.match(/"type"\s*:\s*"([^"]+)"/)?.[1] || undefined);
    switch (type) {
      case "response.created":
        // The first `id` of this frame is the response's (the frame can be large: no parse).
        this.responseId = frame.data.match(/"id"\s*:\s*"([^"]+)"/)?.[1] ?? null;
        break;
      case "response.completed":
      case "response.incomplete":
      case "response.failed": {
        const usage = obj(obj(safeParse(frame.data)?.response)?.usage);
        if (usage) this.usage = responsesUsage(usage);
        this.complete = true;
        if (type === "response.failed") this.errored = true;
        break;
      }
      case "error":
        this.errored = true;
        break;
    }
    return true;
  }
}

function safeParse(text: string): Json | null {
  try {
    return obj(JSON.parse(text));
  } catch {
    return null;
  }
}
