/**
 * Anthropic Messages: a complete event stream ⇄ the complete `message`, for the response cache.
 * Pure; re-exported by `assemble.ts`, which has the OpenAI half and the overview.
 */

import type { SseFrame } from "./sse.js";
import { asRecord, eventFrame, type JsonRecord, num, parseJson, str } from "./translate/util.js";

/** Pieces a replayed text is cut into: enough to look like a stream, few enough to stay cheap. */
export const DEFAULT_CHUNKS = 4;

/** Blocks whose `input` streams as `input_json_delta` (the SDK accumulates exactly these two). */
const JSON_INPUT_BLOCKS = new Set(["tool_use", "server_tool_use"]);

/** Folds Anthropic message events into a `message`; null without `message_stop` or after an `error`. */
export function assembleMessage(frames: readonly SseFrame[]): JsonRecord | null {
  let message: JsonRecord | undefined;
  let content: JsonRecord[] = [];
  const json = new Map<number, string>();
  let stopped = false;

  for (const frame of frames) {
    const data = asRecord(parseJson(frame.data));
    const type = str(data?.type) ?? frame.event;
    if (!data || type === "error") return null;
    switch (type) {
      case "message_start": {
        const start = asRecord(data.message);
        if (!start) return null;
        message = { ...structuredClone(start), usage: { ...asRecord(start.usage) } };
        content = [];
        break;
      }
      case "content_block_start": {
        const block = asRecord(data.content_block);
        if (block) content[num(data.index) ?? content.length] = structuredClone(block);
        break;
      }
      case "content_block_delta": {
        const index = num(data.index) ?? -1;
        const block = content[index];
        const delta = asRecord(data.delta);
        if (!block || !delta) break;
        if (delta.type === "input_json_delta")
          json.set(index, (json.get(index) ?? "") + (str(delta.partial_json) ?? ""));
        else if (delta.type === "text_delta") block.text = (str(block.text) ?? "") + (str(delta.text) ?? "");
        else if (delta.type === "thinking_delta")
          block.thinking = (str(block.thinking) ?? "") + (str(delta.thinking) ?? "");
        else if (delta.type === "signature_delta") block.signature = delta.signature;
        else if (delta.type === "citations_delta") {
          block.citations = [...(Array.isArray(block.citations) ? block.citations : []), delta.citation];
        } else return null; // a delta aigw cannot fold: better no cache entry than a partial one
        break;
      }
      case "content_block_stop": {
        const index = num(data.index) ?? -1;
        const block = content[index];
        const text = json.get(index);
        if (block && text !== undefined && text.trim() !== "") {
          const input = parseJson(text);
          if (input === undefined) return null; // a tool input that is not JSON: not a whole answer
          block.input = input;
        }
        json.delete(index);
        break;
      }
      case "message_delta": {
        if (!message) return null;
        Object.assign(message, asRecord(data.delta));
        // The live API's message_delta usage holds cumulative totals: overwrite, never add.
        const usage = message.usage as JsonRecord;
        for (const [key, value] of Object.entries(asRecord(data.usage) ?? {}))
          if (value != null) usage[key] = value;
        break;
      }
      case "message_stop":
        stopped = true;
        break;
    }
  }
  if (!message || !stopped) return null;
  return { ...message, content: content.filter((b) => b !== undefined) };
}

/** Replays a stored `message` as the event sequence of a live Anthropic stream. */
export function messageToFrames(message: JsonRecord, opts: { chunks?: number } = {}): string[] {
  const n = opts.chunks ?? DEFAULT_CHUNKS;
  const usage = asRecord(message.usage) ?? {};
  const output = num(usage.output_tokens) ?? 0;
  const { stop_reason, stop_sequence, content, ...rest } = message;
  const start: JsonRecord = {
    ...rest,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    // As the live API: message_start counts the first output token; message_delta has the total.
    usage: { ...usage, output_tokens: Math.min(1, output) },
  };
  if ("stop_details" in message) start.stop_details = null;
  const out = [eventFrame("message_start", { type: "message_start", message: start })];
  const ev = (type: string, payload: JsonRecord): number => out.push(eventFrame(type, { type, ...payload }));
  const delta = (index: number, d: JsonRecord): number => ev("content_block_delta", { index, delta: d });

  for (const [index, raw] of (Array.isArray(content) ? content : []).entries()) {
    const block = asRecord(raw) ?? {};
    if (block.type === "text") {
      const citations = Array.isArray(block.citations) && block.citations.length > 0 ? block.citations : null;
      ev("content_block_start", {
        index,
        content_block: { ...block, text: "", ...(citations ? { citations: [] } : {}) },
      });
      for (const citation of citations ?? []) delta(index, { type: "citations_delta", citation });
      for (const piece of pieces(str(block.text) ?? "", n)) delta(index, { type: "text_delta", text: piece });
    } else if (block.type === "thinking") {
      ev("content_block_start", { index, content_block: { ...block, thinking: "", signature: "" } });
      for (const piece of pieces(str(block.thinking) ?? "", n))
        delta(index, { type: "thinking_delta", thinking: piece });
      if (str(block.signature)) delta(index, { type: "signature_delta", signature: block.signature });
    } else if (JSON_INPUT_BLOCKS.has(str(block.type) ?? "")) {
      ev("content_block_start", { index, content_block: { ...block, input: {} } });
      const input = JSON.stringify(block.input ?? {});
      if (input !== "{}")
        for (const piece of pieces(input, n)) delta(index, { type: "input_json_delta", partial_json: piece });
    } else {
      // redacted_thinking, server tool results, ...: the live API sends these whole in the start event.
      ev("content_block_start", { index, content_block: block });
    }
    ev("content_block_stop", { index });
  }

  const finalDelta: JsonRecord = { stop_reason: stop_reason ?? null, stop_sequence: stop_sequence ?? null };
  if ("stop_details" in message) finalDelta.stop_details = message.stop_details ?? null;
  if (message.container != null) finalDelta.container = message.container;
  const finalUsage: JsonRecord = {};
  for (const key of [
    "input_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "server_tool_use",
  ]) {
    if (usage[key] != null) finalUsage[key] = usage[key];
  }
  finalUsage.output_tokens = output;
  ev("message_delta", { delta: finalDelta, usage: finalUsage });
  ev("message_stop", {});
  return out;
}

/** `text` cut into at most `n` non-empty pieces of similar length, never inside a code point. */
export function pieces(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(Math.floor(n), chars.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const piece = chars.slice(
      Math.floor((i * chars.length) / count),
      Math.floor(((i + 1) * chars.length) / count),
    );
    if (piece.length > 0) out.push(piece.join(""));
  }
  return out;
}
