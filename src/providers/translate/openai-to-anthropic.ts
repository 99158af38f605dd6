/**
 * OpenAI client → Anthropic provider: a Chat Completions request becomes a Messages request, and
 * the Messages response / stream / error comes back as Chat Completions. Pure functions.
 */

import { badRequest } from "../../errors.js";
import { convertChatMessages } from "./chat-messages.js";
import { chatUsageFor, finishReasonFor } from "./maps.js";
import type { ChatCompletion, ChatToolCall, MessagesTool, MessagesToolChoice } from "./types.js";
import {
  asArray,
  asRecord,
  isAbsent,
  isBlank,
  num,
  requireArray,
  requireRecord,
  requireString,
  str,
  unsupported,
} from "./util.js";

export { anthropicErrorToOpenAI } from "./error-map.js";
export { createMessagesToChatStream } from "./messages-to-chat-stream.js";

const NOT_SUPPORTED = "is not supported by Anthropic Messages";

/** Reject OpenAI fields whose effect Anthropic cannot reproduce. Harmless ones are dropped silently. */
function rejectUntranslatable(body: Record<string, unknown>): void {
  const n = num(body.n);
  if (n !== undefined && n !== 1) throw unsupported("n", `> 1 ${NOT_SUPPORTED}`);
  if (body.logprobs === true) throw unsupported("logprobs", NOT_SUPPORTED);
  if ((num(body.top_logprobs) ?? 0) > 0) throw unsupported("top_logprobs", NOT_SUPPORTED);
  const bias = asRecord(body.logit_bias);
  if (bias && Object.keys(bias).length > 0) throw unsupported("logit_bias", NOT_SUPPORTED);
  if (!isAbsent(body.audio)) throw unsupported("audio", `output ${NOT_SUPPORTED}`);
  if (asArray(body.modalities)?.includes("audio")) {
    throw unsupported("modalities", `"audio" ${NOT_SUPPORTED}`);
  }
  if (!isAbsent(body.functions)) throw unsupported("functions", "(legacy) is not supported; use tools");
  if (!isAbsent(body.function_call)) {
    throw unsupported("function_call", "(legacy) is not supported; use tool_choice");
  }
  if (!isAbsent(body.web_search_options)) throw unsupported("web_search_options", NOT_SUPPORTED);
}

const convertTools = (raw: unknown): MessagesTool[] =>
  requireArray(raw, "tools").map((item, i) => {
    const t = requireRecord(item, `tools[${i}]`);
    if (t.type !== "function") {
      throw unsupported(`tools[${i}].type`, `"${String(t.type)}" has no Anthropic equivalent`);
    }
    const fn = requireRecord(t.function, `tools[${i}].function`);
    const description = str(fn.description);
    return {
      name: requireString(fn.name, `tools[${i}].function.name`),
      ...(description === undefined ? {} : { description }),
      input_schema: asRecord(fn.parameters) ?? { type: "object", properties: {} },
    };
  });

const convertToolChoice = (raw: unknown): MessagesToolChoice => {
  if (raw === "auto") return { type: "auto" };
  if (raw === "none") return { type: "none" };
  if (raw === "required") return { type: "any" };
  const rec = asRecord(raw);
  const name = str(asRecord(rec?.function)?.name);
  if (rec?.type === "function" && name !== undefined) return { type: "tool", name };
  throw unsupported("tool_choice", 'must be "auto", "none", "required" or {type:"function",function:{name}}');
};

const convertStop = (raw: unknown): string[] => {
  const list =
    typeof raw === "string" ? [raw] : requireArray(raw, "stop").map((s, i) => requireString(s, `stop[${i}]`));
  // Anthropic rejects whitespace-only stop sequences (e.g. "\n"); ignoring one would change the output.
  if (list.some(isBlank)) {
    throw unsupported("stop", "contains a whitespace-only sequence, which Anthropic rejects");
  }
  return list;
};

const maxTokens = (body: Record<string, unknown>, fallback: number): number => {
  const field = isAbsent(body.max_completion_tokens) ? "max_tokens" : "max_completion_tokens";
  const raw = body[field];
  if (isAbsent(raw)) return fallback;
  const n = num(raw);
  if (n === undefined || n < 1 || !Number.isInteger(n)) {
    throw badRequest(`\`${field}\` must be a positive integer`);
  }
  return n;
};

/**
 * Anthropic has no JSON mode the way Chat Completions does (`output_config.format` exists only on
 * some models), so `response_format` json_object / json_schema becomes an extra system instruction
 * asking for a bare JSON answer, with the schema inlined for json_schema. Best effort: the reply is
 * not validated.
 */
const jsonInstruction = (raw: unknown): string | undefined => {
  const rf = requireRecord(raw, "response_format");
  if (rf.type === "text") return undefined;
  const base =
    "Respond with valid JSON only: a single JSON value, with no prose and no Markdown code fences.";
  if (rf.type === "json_object") return base;
  if (rf.type === "json_schema") {
    const js = requireRecord(rf.json_schema, "response_format.json_schema");
    const schema = asRecord(js.schema);
    return schema ? `${base} The JSON must conform to this JSON Schema:\n${JSON.stringify(schema)}` : base;
  }
  throw unsupported("response_format.type", `"${String(rf.type)}" has no Anthropic equivalent`);
};

/** An OpenAI Chat Completions request body → an Anthropic Messages request body. Throws 400s. */
export function chatRequestToMessages(
  body: Record<string, unknown>,
  opts: { upstreamModel: string; defaultMaxTokens: number },
): Record<string, unknown> {
  rejectUntranslatable(body);
  const { system, messages } = convertChatMessages(body.messages);
  if (!isAbsent(body.response_format)) {
    const instruction = jsonInstruction(body.response_format);
    if (instruction !== undefined) system.push(instruction);
  }

  const out: Record<string, unknown> = {
    model: opts.upstreamModel,
    max_tokens: maxTokens(body, opts.defaultMaxTokens),
  };
  if (system.length > 0) out.system = system.join("\n\n");
  out.messages = messages;
  if (!isAbsent(body.stop)) {
    const stop = convertStop(body.stop);
    if (stop.length > 0) out.stop_sequences = stop;
  }
  const temperature = num(body.temperature);
  if (temperature !== undefined) out.temperature = Math.min(1, Math.max(0, temperature)); // OpenAI 0..2, Anthropic 0..1
  const topP = num(body.top_p);
  // top_p 1 is the no-op default; newer Claude models reject temperature and top_p together.
  if (topP !== undefined && topP !== 1) out.top_p = topP;

  const tools = isAbsent(body.tools) ? [] : convertTools(body.tools);
  if (tools.length > 0) out.tools = tools;
  let toolChoice = isAbsent(body.tool_choice) ? undefined : convertToolChoice(body.tool_choice);
  if (body.parallel_tool_calls === false && tools.length > 0) {
    toolChoice ??= { type: "auto" };
    if (toolChoice.type !== "none") toolChoice = { ...toolChoice, disable_parallel_tool_use: true };
  }
  if (toolChoice) out.tool_choice = toolChoice;

  const user = str(body.user);
  if (user !== undefined && user !== "") out.metadata = { user_id: user };
  if (typeof body.stream === "boolean") out.stream = body.stream;
  return out;
}

/** A full Anthropic `message` response → an OpenAI `chat.completion`. Thinking blocks are dropped. */
export function messagesResponseToChat(
  msg: Record<string, unknown>,
  opts: { model: string; created: number },
): Record<string, unknown> {
  let text = "";
  const toolCalls: ChatToolCall[] = [];
  for (const item of asArray(msg.content) ?? []) {
    const block = asRecord(item);
    if (block?.type === "text") text += str(block.text) ?? "";
    else if (block?.type === "tool_use") {
      toolCalls.push({
        id: str(block.id) ?? "",
        type: "function",
        function: { name: str(block.name) ?? "", arguments: JSON.stringify(block.input ?? {}) },
      });
    }
  }
  const message: ChatCompletion["choices"][number]["message"] = {
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const completion: ChatCompletion = {
    id: `chatcmpl-${str(msg.id) ?? ""}`,
    object: "chat.completion",
    created: opts.created,
    model: opts.model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonFor(msg.stop_reason) }],
    usage: chatUsageFor(msg.usage),
  };
  return completion;
}
