/** The Responses `response` object aigw builds for translated answers, and its usage block. */

import { asRecord, count, type JsonRecord, str } from "./util.js";

/** What a translated response echoes of its request and is named by; ids and times come in. */
export interface ResponseContext {
  id: string;
  model: string;
  createdAt: number;
  request: JsonRecord;
}

export type ResponseStatus = "in_progress" | "completed" | "incomplete" | "failed";

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responsesUsage(
  input: number,
  cached: number,
  output: number,
  reasoning: number,
): ResponsesUsage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Math.min(cached, input) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: Math.min(reasoning, output) },
    total_tokens: input + output,
  };
}

/** Chat Completions usage → Responses usage (prompt tokens already include cached ones). */
export function usageFromChat(usage: unknown): ResponsesUsage {
  const u = asRecord(usage);
  return responsesUsage(
    count(u?.prompt_tokens),
    count(asRecord(u?.prompt_tokens_details)?.cached_tokens),
    count(u?.completion_tokens),
    count(asRecord(u?.completion_tokens_details)?.reasoning_tokens),
  );
}

/** Anthropic usage → Responses usage: cache reads and writes are added into input. */
export function usageFromMessages(usage: unknown): ResponsesUsage {
  const u = asRecord(usage);
  const read = count(u?.cache_read_input_tokens);
  const input = count(u?.input_tokens) + read + count(u?.cache_creation_input_tokens);
  return responsesUsage(input, read, count(u?.output_tokens), 0);
}

/** The whole response object; `output` and `usage` filled in by the caller. */
export function responseObject(
  ctx: ResponseContext,
  status: ResponseStatus,
  output: JsonRecord[],
  usage: ResponsesUsage | null,
  extra: { incompleteReason?: string; error?: { code: string; message: string } } = {},
): JsonRecord {
  const req = ctx.request;
  return {
    id: ctx.id,
    object: "response",
    created_at: ctx.createdAt,
    status,
    background: false,
    error: extra.error ?? null,
    incomplete_details: extra.incompleteReason ? { reason: extra.incompleteReason } : null,
    instructions: req.instructions ?? null,
    max_output_tokens: req.max_output_tokens ?? null,
    model: ctx.model,
    output,
    parallel_tool_calls: req.parallel_tool_calls ?? true,
    previous_response_id: req.previous_response_id ?? null,
    reasoning: asRecord(req.reasoning) ?? { effort: null, summary: null },
    store: req.store !== false,
    temperature: req.temperature ?? 1,
    text: asRecord(req.text) ?? { format: { type: "text" } },
    tool_choice: req.tool_choice ?? "auto",
    tools: Array.isArray(req.tools) ? req.tools : [],
    top_p: req.top_p ?? 1,
    truncation: str(req.truncation) ?? "disabled",
    usage,
    metadata: asRecord(req.metadata) ?? {},
  };
}

/** An assistant message item with one output_text part. */
export function messageItem(id: string, text: string, status = "completed"): JsonRecord {
  return {
    type: "message",
    id,
    status,
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [], logprobs: [] }],
  };
}

/** A reasoning item; Anthropic's signature rides in `encrypted_content`, marked so it only goes back there. */
export function reasoningItem(id: string, text: string, signature: string | null): JsonRecord {
  const item: JsonRecord = { type: "reasoning", id, summary: text ? [{ type: "summary_text", text }] : [] };
  if (signature) item.encrypted_content = `${ANTHROPIC_SIGNATURE}${signature}`;
  return item;
}

/** Prefix of an `encrypted_content` aigw made from an Anthropic thinking signature. */
export const ANTHROPIC_SIGNATURE = "aigw-anthropic:";

/** Why an answer stopped short, in Responses terms, or null when it completed. */
export function incompleteReasonFor(stop: unknown): string | null {
  if (stop === "length" || stop === "max_tokens" || stop === "model_context_window_exceeded")
    return "max_output_tokens";
  if (stop === "content_filter" || stop === "refusal") return "content_filter";
  return null;
}
