/**
 * OpenAI `chat.completion.chunk` SSE frames → the Anthropic Messages event sequence, for an
 * Anthropic client served by an OpenAI-type provider. Stateful but pure.
 *
 * Output: `message_start`, then for each text run / tool call a `content_block_start`, its deltas
 * and a `content_block_stop` (blocks are sequential, indices 0..n), then `message_delta` (stop
 * reason + usage) and `message_stop`. OpenAI reports usage in a separate chunk after the
 * finish_reason chunk, so `message_delta` waits for that chunk, for `[DONE]`, or for `end()`.
 * An upstream that ends with neither a finish_reason nor `[DONE]` gets an `error` event instead.
 */

import { openAIErrorToAnthropic } from "./error-map.js";
import { messagesUsageFor, stopReasonFor } from "./maps.js";
import type {
  MessagesContentBlock,
  MessagesResponse,
  MessagesStreamEvent,
  SseEvent,
  StreamTranslator,
} from "./types.js";
import { asArray, asRecord, eventFrame, num, parseJson, str } from "./util.js";

export function createChatToMessagesStream(opts: { model: string; messageId: string }): StreamTranslator {
  let started = false;
  let finished = false;
  let nextIndex = 0;
  /** The block currently open (Anthropic blocks never interleave). */
  let open: { index: number; kind: "text" | "tool" } | undefined;
  /** OpenAI tool_calls index → the Anthropic block index and the call id it was opened with. */
  const tools = new Map<number, { block: number; id: string | undefined }>();
  let finishReason: unknown = null;
  let usage: Record<string, unknown> | undefined;

  const emit = (out: string[], ev: MessagesStreamEvent): void => {
    out.push(eventFrame(ev.type, ev));
  };

  const start = (out: string[]): void => {
    if (started) return;
    started = true;
    const message: MessagesResponse = {
      id: opts.messageId,
      type: "message",
      role: "assistant",
      model: opts.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // Input tokens are known here only if the provider reports usage on every chunk.
      usage: { ...messagesUsageFor(usage), output_tokens: 0 },
    };
    emit(out, { type: "message_start", message });
  };

  const closeBlock = (out: string[]): void => {
    if (!open) return;
    emit(out, { type: "content_block_stop", index: open.index });
    open = undefined;
  };

  const openBlock = (out: string[], block: MessagesContentBlock & { type: "text" | "tool_use" }): number => {
    closeBlock(out);
    const index = nextIndex++;
    open = { index, kind: block.type === "text" ? "text" : "tool" };
    emit(out, { type: "content_block_start", index, content_block: block });
    return index;
  };

  const finish = (out: string[]): void => {
    start(out);
    closeBlock(out);
    emit(out, {
      type: "message_delta",
      delta: { stop_reason: stopReasonFor(finishReason), stop_sequence: null },
      usage: usage ? messagesUsageFor(usage) : { output_tokens: 0 },
    });
    emit(out, { type: "message_stop" });
    finished = true;
  };

  const onText = (out: string[], text: string): void => {
    if (text === "") return;
    if (open?.kind !== "text") openBlock(out, { type: "text", text: "" });
    emit(out, { type: "content_block_delta", index: open?.index ?? 0, delta: { type: "text_delta", text } });
  };

  const onToolCall = (out: string[], raw: unknown): void => {
    const tc = asRecord(raw);
    const fn = asRecord(tc?.function);
    const index = num(tc?.index) ?? 0;
    const id = str(tc?.id);
    let tool = tools.get(index);
    // A new call: first sight of this index, or (for servers that omit `index`) a different id.
    if (!tool || (id !== undefined && tool.id !== undefined && id !== tool.id)) {
      const block = openBlock(out, {
        type: "tool_use",
        id: id ?? `toolu_${opts.messageId}_${index}`,
        name: str(fn?.name) ?? "",
        input: {},
      });
      tool = { block, id };
      tools.set(index, tool);
    }
    const partial = str(fn?.arguments) ?? "";
    if (partial !== "") {
      emit(out, {
        type: "content_block_delta",
        index: tool.block,
        delta: { type: "input_json_delta", partial_json: partial },
      });
    }
  };

  const onChunk = (out: string[], chunk: Record<string, unknown>): void => {
    const chunkUsage = asRecord(chunk.usage);
    if (chunkUsage) usage = chunkUsage;
    start(out);
    const choices = asArray(chunk.choices) ?? [];
    const choice = asRecord(choices.find((c) => (num(asRecord(c)?.index) ?? 0) === 0));
    const delta = asRecord(choice?.delta);
    onText(out, str(delta?.content) ?? "");
    onText(out, str(delta?.refusal) ?? "");
    for (const tc of asArray(delta?.tool_calls) ?? []) onToolCall(out, tc);
    if (!(choice?.finish_reason === null || choice?.finish_reason === undefined)) {
      finishReason = choice.finish_reason;
      closeBlock(out);
    }
    // Usage after (or with) the finish reason is final: nothing but [DONE] follows it.
    if (finishReason !== null && chunkUsage) finish(out);
  };

  return {
    push(ev: SseEvent) {
      if (finished) return [];
      const out: string[] = [];
      if (ev.data.trim() === "[DONE]") {
        finish(out);
        return out;
      }
      const chunk = asRecord(parseJson(ev.data));
      if (!chunk) return out;
      if (chunk.error !== undefined && chunk.error !== null) {
        emit(out, openAIErrorToAnthropic(0, chunk));
        finished = true;
        return out;
      }
      onChunk(out, chunk);
      return out;
    },
    end() {
      if (finished) return [];
      const out: string[] = [];
      if (finishReason === null) {
        // No finish_reason and no [DONE]: the upstream died mid-answer. Say so rather than
        // presenting a truncated reply as a normal end_turn.
        const message = "The upstream stream ended before the response was complete";
        emit(out, { type: "error", error: { type: "api_error", message } });
        finished = true;
      } else finish(out);
      return out;
    },
  };
}
