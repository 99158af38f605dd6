/** Chat Completions and Anthropic Messages streams, read into the Responses event sequence. */

import {
  incompleteReasonFor,
  type ResponseContext,
  type ResponsesUsage,
  usageFromChat,
  usageFromMessages,
} from "./responses-object.js";
import { ResponsesStreamWriter } from "./responses-stream.js";
import type { ToolPlan } from "./responses-tools.js";
import type { SseEvent, StreamTranslator } from "./types.js";
import { asArray, asRecord, type JsonRecord, parseJson, str } from "./util.js";

/** A stream translator that can also close the stream with `response.failed`. */
export interface ResponsesStreamTranslator extends StreamTranslator {
  fail(code: string, message: string): string[];
  /** The final response object once the stream completed, else null. */
  readonly final: JsonRecord | null;
}

const TRUNCATED = "the upstream ended the stream before the answer was complete";

type Ctx = ResponseContext & { plan: ToolPlan };

export function createChatToResponsesStream(ctx: Ctx): ResponsesStreamTranslator {
  const w = new ResponsesStreamWriter(ctx);
  let usage: ResponsesUsage = usageFromChat(null);
  let reason: string | null = null;
  /** Chat tool-call index → whether its item is the open one. */
  let callIndex = -1;
  let stopped = false;
  const finish = () => w.finish(usage, reason);
  return {
    push(ev: SseEvent): string[] {
      if (w.ended) return [];
      if (ev.data === "[DONE]") return finish();
      const chunk = asRecord(parseJson(ev.data));
      if (!chunk) return [];
      const error = asRecord(chunk.error);
      if (error)
        return w.fail(
          str(error.code) ?? str(error.type) ?? "server_error",
          str(error.message) ?? "upstream error",
        );
      const out = w.start();
      if (asRecord(chunk.usage)) usage = usageFromChat(chunk.usage);
      for (const raw of asArray(chunk.choices) ?? []) {
        const choice = asRecord(raw) ?? {};
        const delta = asRecord(choice.delta) ?? {};
        const thinking = str(delta.reasoning_content) ?? str(delta.reasoning);
        if (thinking) out.push(...w.reasoning(thinking));
        const text = str(delta.content);
        if (text) out.push(...w.text(text));
        for (const tc of asArray(delta.tool_calls) ?? []) {
          const call = asRecord(tc) ?? {};
          const fn = asRecord(call.function) ?? {};
          const index = typeof call.index === "number" ? call.index : callIndex;
          if (index !== callIndex || str(call.id)) {
            callIndex = index;
            out.push(...w.call(str(call.id) ?? `call_${ctx.id}_${index}`, str(fn.name) ?? ""));
          }
          out.push(...w.args(str(fn.arguments) ?? ""));
        }
        if (choice.finish_reason) {
          stopped = true;
          reason = incompleteReasonFor(choice.finish_reason);
        }
      }
      return out;
    },
    // Cut off before a finish_reason: the answer is not complete, and the client is told so.
    end: () => (stopped ? finish() : w.fail("server_error", TRUNCATED)),
    fail: (code, message) => w.fail(code, message),
    get final() {
      return w.final;
    },
  };
}

export function createMessagesToResponsesStream(ctx: Ctx): ResponsesStreamTranslator {
  const w = new ResponsesStreamWriter(ctx);
  let rawUsage: JsonRecord = {};
  let reason: string | null = null;
  let stopped = false;
  const finish = () => w.finish(usageFromMessages(rawUsage), reason);
  return {
    push(ev: SseEvent): string[] {
      if (w.ended) return [];
      const data = asRecord(parseJson(ev.data));
      if (!data) return [];
      switch (data.type) {
        case "message_start":
          rawUsage = { ...(asRecord(asRecord(data.message)?.usage) ?? {}) };
          return w.start();
        case "content_block_start": {
          const block = asRecord(data.content_block) ?? {};
          if (block.type === "text") return w.text(str(block.text) ?? "");
          if (block.type === "thinking") return w.reasoning(str(block.thinking) ?? "");
          if (block.type === "tool_use") return w.call(str(block.id) ?? "", str(block.name) ?? "");
          return [];
        }
        case "content_block_delta": {
          const delta = asRecord(data.delta) ?? {};
          if (delta.type === "text_delta") return w.text(str(delta.text) ?? "");
          if (delta.type === "thinking_delta") return w.reasoning(str(delta.thinking) ?? "");
          if (delta.type === "signature_delta") return w.reasoning("", str(delta.signature));
          if (delta.type === "input_json_delta") return w.args(str(delta.partial_json) ?? "");
          return [];
        }
        case "content_block_stop":
          return w.close();
        case "message_delta": {
          // Later counters are cumulative totals: they replace the earlier ones.
          for (const [k, v] of Object.entries(asRecord(data.usage) ?? {}))
            if (typeof v === "number") rawUsage[k] = v;
          reason = incompleteReasonFor(asRecord(data.delta)?.stop_reason);
          stopped = true;
          return [];
        }
        case "message_stop":
          return finish();
        case "error": {
          const error = asRecord(data.error) ?? {};
          const type = str(error.type) ?? "api_error";
          const code =
            type === "overloaded_error"
              ? "server_is_overloaded"
              : type === "rate_limit_error"
                ? "rate_limit_exceeded"
                : "server_error";
          return w.fail(code, str(error.message) ?? "upstream error");
        }
        default:
          return [];
      }
    },
    end: () => (stopped ? finish() : w.fail("server_error", TRUNCATED)),
    fail: (code, message) => w.fail(code, message),
    get final() {
      return w.final;
    },
  };
}
