/**
 * Anthropic Messages stream events → OpenAI `chat.completion.chunk` SSE frames, for an OpenAI
 * client served by an Anthropic provider. Stateful but pure: frames in, encoded frames out.
 */

import { anthropicErrorToOpenAI } from "./error-map.js";
import { chatUsageFor, finishReasonFor } from "./maps.js";
import type { ChatChunkDelta, ChatCompletionChunk, ChatFinishReason, StreamTranslator } from "./types.js";
import { asRecord, DONE_FRAME, dataFrame, num, parseJson, str } from "./util.js";

/**
 * Translate an Anthropic event stream to OpenAI chunks. Emits a first `{role:"assistant",
 * content:""}` chunk, content / tool_calls deltas, a finish chunk on `message_delta`, a usage chunk
 * (`choices: []`) when `includeUsage`, and `data: [DONE]`. An `error` event becomes an OpenAI
 * `{"error":{...}}` frame and ends the translation (no `[DONE]`).
 */
export function createMessagesToChatStream(opts: {
  model: string;
  created: number;
  includeUsage: boolean;
}): StreamTranslator {
  let id = "chatcmpl-";
  let started = false;
  let finished = false;
  /** Whole-message usage, Anthropic-shaped; message_delta totals overwrite message_start's. */
  const usage: Record<string, number> = {};
  /** Anthropic content-block index → OpenAI tool_calls index, plus whether arguments were sent. */
  const tools = new Map<number, { index: number; sentArgs: boolean }>();

  const chunk = (delta: ChatChunkDelta, finishReason: ChatFinishReason | null = null): string => {
    const c: ChatCompletionChunk = {
      id,
      object: "chat.completion.chunk",
      created: opts.created,
      model: opts.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    };
    // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
    if (opts.includeUsage) c.usage = null;
    return dataFrame(c);
  };

  const mergeUsage = (raw: unknown): void => {
    const u = asRecord(raw);
    for (const key of [
      "input_tokens",
      "output_tokens",
      "cache_read_input_tokens",
      "cache_creation_input_tokens",
    ]) {
      const n = num(u?.[key]);
      if (n !== undefined) usage[key] = n;
    }
  };

  /** The role chunk, once, before anything else (also when message_start never came). */
  const start = (out: string[]): void => {
    if (started) return;
    started = true;
    out.push(chunk({ role: "assistant", content: "" }));
  };

  const finish = (out: string[]): void => {
    if (opts.includeUsage && started) {
      const last: ChatCompletionChunk = {
        id,
        object: "chat.completion.chunk",
        created: opts.created,
        model: opts.model,
        choices: [],
        usage: chatUsageFor(usage),
      };
      out.push(dataFrame(last));
    }
    out.push(DONE_FRAME);
    finished = true;
  };

  const onEvent = (type: string, data: Record<string, unknown>, out: string[]): void => {
    switch (type) {
      case "message_start": {
        const message = asRecord(data.message);
        id = `chatcmpl-${str(message?.id) ?? ""}`;
        mergeUsage(message?.usage);
        start(out);
        return;
      }
      case "content_block_start": {
        start(out);
        const block = asRecord(data.content_block);
        const index = num(data.index) ?? -1;
        if (block?.type === "text") {
          const text = str(block.text) ?? "";
          if (text !== "") out.push(chunk({ content: text }));
        } else if (block?.type === "tool_use") {
          const toolIndex = tools.size;
          tools.set(index, { index: toolIndex, sentArgs: false });
          out.push(
            chunk({
              tool_calls: [
                {
                  index: toolIndex,
                  id: str(block.id) ?? "",
                  type: "function",
                  function: { name: str(block.name) ?? "", arguments: "" },
                },
              ],
            }),
          );
        } // thinking, redacted_thinking, server tool blocks: nothing to show an OpenAI client.
        return;
      }
      case "content_block_delta": {
        start(out);
        const delta = asRecord(data.delta);
        if (delta?.type === "text_delta") {
          const text = str(delta.text) ?? "";
          if (text !== "") out.push(chunk({ content: text }));
        } else if (delta?.type === "input_json_delta") {
          const tool = tools.get(num(data.index) ?? -1);
          const partial = str(delta.partial_json) ?? "";
          if (tool && partial !== "") {
            tool.sentArgs = true;
            out.push(chunk({ tool_calls: [{ index: tool.index, function: { arguments: partial } }] }));
          }
        }
        return;
      }
      case "content_block_stop": {
        // A tool called without arguments streams no JSON at all; OpenAI clients JSON.parse the
        // accumulated arguments, so close it as "{}" rather than "".
        const tool = tools.get(num(data.index) ?? -1);
        if (tool && !tool.sentArgs) {
          tool.sentArgs = true;
          out.push(chunk({ tool_calls: [{ index: tool.index, function: { arguments: "{}" } }] }));
        }
        return;
      }
      case "message_delta":
        start(out);
        mergeUsage(data.usage);
        out.push(chunk({}, finishReasonFor(asRecord(data.delta)?.stop_reason)));
        return;
      case "message_stop":
        start(out);
        finish(out);
        return;
      default: // ping, and event types added later
        return;
    }
  };

  return {
    push(ev) {
      if (finished) return [];
      const data = asRecord(parseJson(ev.data));
      const type = str(data?.type) ?? ev.event;
      const out: string[] = [];
      if (type === "error") {
        out.push(dataFrame(anthropicErrorToOpenAI(0, data ?? ev.data)));
        finished = true;
      } else if (data && type !== undefined) onEvent(type, data, out);
      return out;
    },
    end() {
      if (finished) return [];
      const out: string[] = [];
      finish(out);
      return out;
    },
  };
}
