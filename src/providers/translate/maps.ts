/** Stop-reason and usage mappings shared by the response and stream translators, both directions. */

import type { ChatFinishReason, ChatUsage, MessagesStopReason, MessagesUsage } from "./types.js";
import { asRecord, count, str } from "./util.js";

const FINISH_REASONS: Record<string, ChatFinishReason> = {
  end_turn: "stop",
  stop_sequence: "stop",
  pause_turn: "stop",
  max_tokens: "length",
  model_context_window_exceeded: "length",
  tool_use: "tool_calls",
  refusal: "content_filter",
};

/** Anthropic `stop_reason` → OpenAI `finish_reason` (unknown or null → "stop"). */
export const finishReasonFor = (stopReason: unknown): ChatFinishReason =>
  FINISH_REASONS[str(stopReason) ?? ""] ?? "stop";

const STOP_REASONS: Record<string, MessagesStopReason> = {
  stop: "end_turn", // OpenAI does not say whether a stop sequence matched, so this is the best guess
  length: "max_tokens",
  tool_calls: "tool_use",
  function_call: "tool_use",
  content_filter: "refusal",
};

/** OpenAI `finish_reason` → Anthropic `stop_reason` (unknown or null → "end_turn"). */
export const stopReasonFor = (finishReason: unknown): MessagesStopReason =>
  STOP_REASONS[str(finishReason) ?? ""] ?? "end_turn";

/**
 * Anthropic usage → OpenAI usage. Anthropic's `input_tokens` excludes cache reads and writes;
 * OpenAI's `prompt_tokens` includes cached tokens, so the three are summed.
 */
export const chatUsageFor = (usage: unknown): ChatUsage => {
  const u = asRecord(usage);
  const cacheRead = count(u?.cache_read_input_tokens);
  const prompt = count(u?.input_tokens) + cacheRead + count(u?.cache_creation_input_tokens);
  const completion = count(u?.output_tokens);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
};

/** OpenAI usage → Anthropic usage: cached prompt tokens become cache reads; OpenAI reports no cache writes. */
export const messagesUsageFor = (usage: unknown): MessagesUsage => {
  const u = asRecord(usage);
  const prompt = count(u?.prompt_tokens);
  const cached = Math.min(prompt, count(asRecord(u?.prompt_tokens_details)?.cached_tokens));
  return {
    input_tokens: prompt - cached,
    output_tokens: count(u?.completion_tokens),
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
};
