/**
 * A complete Responses object as its event stream (a cache hit asked for as a stream), and the
 * reverse: the complete object out of a recorded Responses stream (its terminal event carries it).
 */

import type { SseFrame } from "../sse.js";
import { asArray, asRecord, eventFrame, type JsonRecord, parseJson, str } from "./util.js";

export function responseToFrames(response: JsonRecord): string[] {
  let seq = 0;
  const out: string[] = [];
  const emit = (type: string, payload: JsonRecord) =>
    out.push(eventFrame(type, { type, sequence_number: seq++, ...payload }));
  const snapshot = { ...response, status: "in_progress", output: [], usage: null };
  emit("response.created", { response: snapshot });
  emit("response.in_progress", { response: snapshot });
  for (const [output_index, raw] of (asArray(response.output) ?? []).entries()) {
    const item = asRecord(raw) ?? {};
    const item_id = str(item.id) ?? "";
    if (item.type === "message") {
      emit("response.output_item.added", {
        output_index,
        item: { ...item, status: "in_progress", content: [] },
      });
      for (const [content_index, p] of (asArray(item.content) ?? []).entries()) {
        const part = asRecord(p) ?? {};
        const at = { item_id, output_index, content_index };
        emit("response.content_part.added", { ...at, part: { ...part, text: "" } });
        const text = str(part.text) ?? "";
        if (text) emit("response.output_text.delta", { ...at, delta: text, logprobs: [] });
        emit("response.output_text.done", { ...at, text, logprobs: [] });
        emit("response.content_part.done", { ...at, part });
      }
    } else if (item.type === "function_call") {
      emit("response.output_item.added", {
        output_index,
        item: { ...item, status: "in_progress", arguments: "" },
      });
      const args = str(item.arguments) ?? "";
      if (args) emit("response.function_call_arguments.delta", { item_id, output_index, delta: args });
      emit("response.function_call_arguments.done", {
        item_id,
        output_index,
        name: item.name,
        arguments: args,
      });
    } else {
      emit("response.output_item.added", { output_index, item });
    }
    emit("response.output_item.done", { output_index, item });
  }
  const status = str(response.status) ?? "completed";
  emit(status === "incomplete" ? "response.incomplete" : "response.completed", { response });
  return out;
}

/** The complete response of a recorded stream, or null when it did not complete. */
export function assembleResponse(frames: readonly SseFrame[]): JsonRecord | null {
  for (let i = frames.length - 1; i >= 0; i--) {
    const frame = frames[i]!;
    if (!frame.data.includes('"response.completed"')) continue;
    const data = asRecord(parseJson(frame.data));
    if (data?.type === "response.completed") return asRecord(data.response) ?? null;
  }
  return null;
}
