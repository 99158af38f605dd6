/**
 * Anthropic client → OpenAI-type provider: a Messages request becomes a Chat Completions request,
 * and the Chat Completions response / stream / error comes back as Messages. Pure functions.
 */

import { createHash } from "node:crypto";
import { badRequest } from "../../errors.js";
import { convertAnthropicMessages } from "./anthropic-messages.js";
import { messagesUsageFor, stopReasonFor } from "./maps.js";
import type { ChatTool, ChatToolChoice, MessagesResponse } from "./types.js";
import {
  asArray,
  asRecord,
  isAbsent,
  num,
  parseJson,
  requireArray,
  requireRecord,
  requireString,
  str,
  unsupported,
} from "./util.js";

export { createChatToMessagesStream } from "./chat-to-messages-stream.js";
export { openAIErrorToAnthropic } from "./error-map.js";

/**
 * Reject Anthropic fields whose effect an OpenAI-type provider cannot reproduce. `thinking` is not
 * one: it asks the model to think first, an OpenAI-type model answers without thinking blocks, and
 * Claude Code asks for it on every request. Nor is `context_management` that only clears thinking.
 */
function rejectUntranslatable(body: Record<string, unknown>): void {
  for (const field of ["container", "mcp_servers"]) {
    if (!isAbsent(body[field])) {
      throw unsupported(field, "is not supported when the provider speaks OpenAI Chat Completions");
    }
  }
  if (isAbsent(body.context_management)) return;
  const edits = asArray(asRecord(body.context_management)?.edits) ?? [];
  const clearsThinkingOnly = edits.every((e) => (str(asRecord(e)?.type) ?? "").startsWith("clear_thinking"));
  if (!clearsThinkingOnly)
    throw unsupported(
      "context_management",
      "edits other than clear_thinking are not supported when the provider speaks OpenAI Chat Completions",
    );
}

/** OpenAI takes a `user` of at most 64 characters; a longer id (Claude Code's is JSON) goes hashed. */
const MAX_USER = 64;
const openAIUser = (id: string): string =>
  id.length <= MAX_USER ? id : createHash("sha256").update(id).digest("hex");

const convertTools = (raw: unknown): ChatTool[] =>
  requireArray(raw, "tools").map((item, i) => {
    const t = requireRecord(item, `tools[${i}]`);
    // Client tools have no type (or "custom"); anything else is an Anthropic server tool.
    if (!isAbsent(t.type) && t.type !== "custom") {
      throw unsupported(
        `tools[${i}].type`,
        `"${String(t.type)}" (an Anthropic server tool) has no OpenAI equivalent`,
      );
    }
    const description = str(t.description);
    return {
      type: "function",
      function: {
        name: requireString(t.name, `tools[${i}].name`),
        ...(description === undefined ? {} : { description }),
        parameters: requireRecord(t.input_schema, `tools[${i}].input_schema`),
      },
    };
  });

const convertToolChoice = (raw: unknown): ChatToolChoice => {
  const tc = requireRecord(raw, "tool_choice");
  switch (tc.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: requireString(tc.name, "tool_choice.name") } };
    default:
      throw unsupported("tool_choice.type", `"${String(tc.type)}" has no OpenAI equivalent`);
  }
};

/** An Anthropic Messages request body → an OpenAI Chat Completions request body. Throws 400s. */
export function messagesRequestToChat(
  body: Record<string, unknown>,
  opts: { upstreamModel: string },
): Record<string, unknown> {
  rejectUntranslatable(body);
  const out: Record<string, unknown> = {
    model: opts.upstreamModel,
    messages: convertAnthropicMessages(body.system, body.messages),
  };
  const maxTokens = num(body.max_tokens);
  if (maxTokens === undefined) throw badRequest("`max_tokens` is required and must be a number");
  out.max_tokens = maxTokens;
  if (!isAbsent(body.stop_sequences)) {
    const stop = requireArray(body.stop_sequences, "stop_sequences").map((s, i) =>
      requireString(s, `stop_sequences[${i}]`),
    );
    if (stop.length > 0) out.stop = stop;
  }
  const temperature = num(body.temperature);
  if (temperature !== undefined) out.temperature = temperature; // Anthropic 0..1 ⊂ OpenAI 0..2
  const topP = num(body.top_p);
  if (topP !== undefined) out.top_p = topP;
  // top_k has no OpenAI equivalent; it only narrows sampling, so it is dropped.

  const tools = isAbsent(body.tools) ? [] : convertTools(body.tools);
  if (tools.length > 0) out.tools = tools;
  if (!isAbsent(body.tool_choice)) {
    out.tool_choice = convertToolChoice(body.tool_choice);
    // OpenAI rejects parallel_tool_calls without tools.
    if (asRecord(body.tool_choice)?.disable_parallel_tool_use === true && tools.length > 0) {
      out.parallel_tool_calls = false;
    }
  }

  const format = asRecord(asRecord(body.output_config)?.format);
  if (format?.type === "json_schema") {
    const schema = requireRecord(format.schema, "output_config.format.schema");
    out.response_format = { type: "json_schema", json_schema: { name: "response", schema } };
  } else if (format) {
    throw unsupported("output_config.format.type", `"${String(format.type)}" has no OpenAI equivalent`);
  }

  const userId = str(asRecord(body.metadata)?.user_id);
  if (userId !== undefined && userId !== "") out.user = openAIUser(userId);
  if (body.stream === true) {
    out.stream = true;
    out.stream_options = { include_usage: true };
  }
  return out;
}

/** `chatcmpl-abc` → `msg_abc`: Anthropic SDKs and logs expect the `msg_` prefix. */
export const messageIdFor = (chatId: unknown): string =>
  `msg_${(str(chatId) ?? "").replace(/^chatcmpl-/, "")}`;

/** A full OpenAI `chat.completion` → an Anthropic `message`. Only the first choice is used. */
export function chatResponseToMessages(
  resp: Record<string, unknown>,
  opts: { model: string },
): Record<string, unknown> {
  const choice = asRecord(asArray(resp.choices)?.[0]);
  const message = asRecord(choice?.message);
  const content: MessagesResponse["content"] = [];

  let text = str(message?.content) ?? "";
  // Some OpenAI-compatible servers return content as an array of text parts.
  for (const part of asArray(message?.content) ?? []) text += str(asRecord(part)?.text) ?? "";
  const refusal = str(message?.refusal) ?? "";
  if (text !== "") content.push({ type: "text", text });
  if (refusal !== "") content.push({ type: "text", text: refusal });

  for (const item of asArray(message?.tool_calls) ?? []) {
    const call = asRecord(item);
    const fn = asRecord(call?.function);
    // Anthropic input must be an object; malformed arguments from the model degrade to {}.
    const input = asRecord(parseJson(str(fn?.arguments) ?? "")) ?? {};
    content.push({ type: "tool_use", id: str(call?.id) ?? "", name: str(fn?.name) ?? "", input });
  }

  const out: MessagesResponse = {
    id: messageIdFor(resp.id),
    type: "message",
    role: "assistant",
    model: opts.model,
    content,
    stop_reason: refusal !== "" ? "refusal" : stopReasonFor(choice?.finish_reason),
    stop_sequence: null,
    usage: messagesUsageFor(resp.usage),
  };
  return out;
}
