/**
 * Reads a Responses request's `instructions` and `input` into a neutral list of turns, shared by the
 * Chat and Anthropic request translators. Unknown item types are a 400 naming the item.
 */

import { badRequest } from "../../errors.js";
import { ANTHROPIC_SIGNATURE } from "./responses-object.js";
import { outputText, upstreamCallArguments, upstreamCallName } from "./responses-tools.js";
import { asArray, asRecord, type JsonRecord, str, unsupported } from "./util.js";

export type Part =
  | { type: "text"; text: string }
  | { type: "image"; url: string; detail?: string }
  | { type: "file"; filename?: string; data: string };

export type Turn =
  | { kind: "system"; text: string }
  | { kind: "user"; parts: Part[] }
  | { kind: "assistant"; text: string }
  | { kind: "call"; callId: string; name: string; arguments: string }
  | { kind: "result"; callId: string; text: string }
  /** Thinking that came from Anthropic (its signature intact); only ever sent back to Anthropic. */
  | { kind: "thinking"; text: string; signature: string };

/** Fields that make no sense on a translated upstream: a 400 naming them, never silently dropped. */
const REFUSED: Record<string, string> = {
  background: "background responses are not supported on a translated provider",
  conversation: "conversations are not supported on a translated provider; use previous_response_id",
  prompt: "stored prompt templates only exist on OpenAI",
};

export function checkRefused(body: JsonRecord): void {
  for (const [field, why] of Object.entries(REFUSED)) {
    const value = body[field];
    if (value !== undefined && value !== null && value !== false) throw unsupported(field, `: ${why}`);
  }
  if (typeof body.previous_response_id === "string")
    throw badRequest(
      `previous_response_id: "${body.previous_response_id}" is not a response aigw stored (translated responses with store not false are kept)`,
      "previous_response_not_found",
    );
}

export function readTurns(body: JsonRecord): Turn[] {
  const turns: Turn[] = [];
  const instructions = str(body.instructions);
  if (instructions) turns.push({ kind: "system", text: instructions });
  if (typeof body.input === "string") {
    turns.push({ kind: "user", parts: [{ type: "text", text: body.input }] });
    return turns;
  }
  const input = asArray(body.input);
  if (!input) throw badRequest("input: required, a string or an array of items");
  for (const [i, raw] of input.entries()) {
    const item = asRecord(raw);
    if (!item) throw badRequest(`input[${i}]: must be an object`);
    readItem(item, `input[${i}]`, turns);
  }
  return turns;
}

function readItem(item: JsonRecord, field: string, turns: Turn[]): void {
  const type = str(item.type) ?? (item.role !== undefined ? "message" : "");
  switch (type) {
    case "message":
      readMessage(item, field, turns);
      return;
    case "function_call":
    case "custom_tool_call":
      turns.push({
        kind: "call",
        callId: str(item.call_id) ?? "",
        name: upstreamCallName(item),
        arguments: upstreamCallArguments(item),
      });
      return;
    case "function_call_output":
    case "custom_tool_call_output":
      turns.push({ kind: "result", callId: str(item.call_id) ?? "", text: outputText(item.output) });
      return;
    case "reasoning": {
      const encrypted = str(item.encrypted_content) ?? "";
      // Another provider's encrypted reasoning is opaque to this one: it never crosses.
      if (!encrypted.startsWith(ANTHROPIC_SIGNATURE)) return;
      const text = (asArray(item.summary) ?? []).map((s) => str(asRecord(s)?.text) ?? "").join("\n");
      turns.push({ kind: "thinking", text, signature: encrypted.slice(ANTHROPIC_SIGNATURE.length) });
      return;
    }
    case "additional_tools":
      return; // declarations, read by planTools
    default:
      throw unsupported(`${field}.type`, `"${type}" cannot be sent to a translated provider`);
  }
}

function readMessage(item: JsonRecord, field: string, turns: Turn[]): void {
  const role = str(item.role);
  const parts = readParts(item.content, `${field}.content`);
  if (role === "system" || role === "developer") {
    turns.push({ kind: "system", text: textOf(parts) });
  } else if (role === "user") {
    turns.push({ kind: "user", parts });
  } else if (role === "assistant") {
    turns.push({ kind: "assistant", text: textOf(parts) });
  } else {
    throw badRequest(`${field}.role: must be user, assistant, system or developer`);
  }
}

const textOf = (parts: Part[]): string =>
  parts
    .filter((p): p is Extract<Part, { type: "text" }> => p.type === "text")
    .map((p) => p.text)
    .join("\n");

function readParts(content: unknown, field: string): Part[] {
  if (typeof content === "string") return [{ type: "text", text: content }];
  const list = asArray(content);
  if (!list) throw badRequest(`${field}: must be a string or an array of content parts`);
  return list.map((raw, i) => {
    const part = asRecord(raw) ?? {};
    const type = str(part.type) ?? "";
    if (type === "input_text" || type === "output_text" || type === "text")
      return { type: "text", text: str(part.text) ?? "" };
    if (type === "refusal") return { type: "text", text: str(part.refusal) ?? "" };
    if (type === "input_image") {
      const url = str(part.image_url);
      if (!url)
        throw unsupported(`${field}[${i}].image_url`, "is required (file_id images only exist on OpenAI)");
      return { type: "image", url, ...(str(part.detail) ? { detail: str(part.detail) } : {}) };
    }
    if (type === "input_file") {
      const data = str(part.file_data);
      if (!data)
        throw unsupported(
          `${field}[${i}].file_data`,
          "is required (file_id and file_url only exist on OpenAI)",
        );
      return { type: "file", data, ...(str(part.filename) ? { filename: str(part.filename) } : {}) };
    }
    throw unsupported(`${field}[${i}].type`, `"${type}" cannot be sent to a translated provider`);
  });
}
