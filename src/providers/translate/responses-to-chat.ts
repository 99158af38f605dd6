/** Responses API ⇄ Chat Completions: a Responses request sent to a chat-only provider, and its answer back. */

import { checkRefused, type Part, readTurns } from "./responses-input.js";
import {
  incompleteReasonFor,
  messageItem,
  type ResponseContext,
  reasoningItem,
  responseObject,
  usageFromChat,
} from "./responses-object.js";
import { callItem, neutralChoice, type ToolPlan } from "./responses-tools.js";
import { asArray, asRecord, type JsonRecord, num, str } from "./util.js";

/** Sampling fields with the same meaning on both APIs. */
const COPIED = ["temperature", "top_p", "user", "seed"] as const;

export function responsesRequestToChat(
  body: JsonRecord,
  opts: { upstreamModel: string; plan: ToolPlan },
): JsonRecord {
  checkRefused(body);
  const messages: JsonRecord[] = [];
  for (const turn of readTurns(body)) {
    const last = messages.at(-1);
    switch (turn.kind) {
      case "system":
        messages.push({ role: "system", content: turn.text });
        break;
      case "user":
        // Plain text as a string: chat-only local servers do not all take content arrays.
        messages.push({
          role: "user",
          content: turn.parts.every((p) => p.type === "text")
            ? turn.parts.map((p) => p.text).join("\n")
            : turn.parts.map(chatPart),
        });
        break;
      case "assistant":
        messages.push({ role: "assistant", content: turn.text });
        break;
      case "call": {
        const call = {
          id: turn.callId,
          type: "function",
          function: { name: turn.name, arguments: turn.arguments },
        };
        // Calls of one turn (and the text before them) are one assistant message on Chat Completions.
        if (last?.role === "assistant") last.tool_calls = [...((last.tool_calls as unknown[]) ?? []), call];
        else messages.push({ role: "assistant", content: null, tool_calls: [call] });
        break;
      }
      case "result":
        messages.push({ role: "tool", tool_call_id: turn.callId, content: turn.text });
        break;
      case "thinking":
        break; // Anthropic's own; never sent elsewhere
    }
  }
  const out: JsonRecord = { model: opts.upstreamModel, messages };
  for (const field of COPIED) if (body[field] !== undefined && body[field] !== null) out[field] = body[field];
  const max = num(body.max_output_tokens);
  if (max !== undefined) out.max_tokens = max;
  if (opts.plan.functions.length > 0) {
    out.tools = opts.plan.functions.map((fn) => ({ type: "function", function: fn }));
    const choice = neutralChoice(body.tool_choice, opts.plan);
    if (choice)
      out.tool_choice =
        "mode" in choice ? choice.mode : { type: "function", function: { name: choice.name } };
    if (typeof body.parallel_tool_calls === "boolean") out.parallel_tool_calls = body.parallel_tool_calls;
  } else {
    neutralChoice(body.tool_choice, opts.plan); // a forced hosted tool is still a 400
  }
  const format = asRecord(asRecord(body.text)?.format);
  if (format?.type === "json_schema") {
    const schema: JsonRecord = { name: str(format.name) ?? "response", schema: format.schema ?? {} };
    if (typeof format.strict === "boolean") schema.strict = format.strict;
    if (str(format.description)) schema.description = format.description;
    out.response_format = { type: "json_schema", json_schema: schema };
  } else if (format?.type === "json_object") {
    out.response_format = { type: "json_object" };
  }
  const effort = str(asRecord(body.reasoning)?.effort);
  if (effort) out.reasoning_effort = effort;
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

function chatPart(part: Part): JsonRecord {
  if (part.type === "text") return { type: "text", text: part.text };
  if (part.type === "image")
    return {
      type: "image_url",
      image_url: { url: part.url, ...(part.detail ? { detail: part.detail } : {}) },
    };
  return {
    type: "file",
    file: { file_data: part.data, ...(part.filename ? { filename: part.filename } : {}) },
  };
}

/** A Chat Completions answer as a Responses `response` object. */
export function chatResponseToResponses(
  body: JsonRecord,
  ctx: ResponseContext & { plan: ToolPlan },
): JsonRecord {
  const choice = asRecord(asArray(body.choices)?.[0]);
  const message = asRecord(choice?.message) ?? {};
  const output: JsonRecord[] = [];
  const base = ctx.id.replace(/^resp_/, "");
  // Open-weight servers (vLLM, DeepSeek, Ollama) put thinking in `reasoning_content` or `reasoning`.
  const thinking = str(message.reasoning_content) ?? str(message.reasoning);
  if (thinking) output.push(reasoningItem(`rs_${base}`, thinking, null));
  const text = str(message.content) ?? str(message.refusal);
  if (text) output.push(messageItem(`msg_${base}`, text));
  for (const [i, raw] of (asArray(message.tool_calls) ?? []).entries()) {
    const call = asRecord(raw) ?? {};
    const fn = asRecord(call.function) ?? {};
    output.push(
      callItem(ctx.plan, {
        id: `fc_${base}_${i}`,
        callId: str(call.id) ?? `call_${base}_${i}`,
        name: str(fn.name) ?? "",
        arguments: str(fn.arguments) ?? "",
      }),
    );
  }
  const reason = incompleteReasonFor(choice?.finish_reason);
  const usage = usageFromChat(body.usage);
  return responseObject(
    ctx,
    reason ? "incomplete" : "completed",
    output,
    usage,
    reason ? { incompleteReason: reason } : {},
  );
}
