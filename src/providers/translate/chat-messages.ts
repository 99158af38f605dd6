/**
 * OpenAI `messages[]` → Anthropic `system` + alternating `messages[]`. Used by
 * `chatRequestToMessages`; split out to keep files small.
 */

import { badRequest } from "../../errors.js";
import type {
  MessagesContentBlock,
  MessagesDocumentBlock,
  MessagesImageBlock,
  MessagesMessage,
  MessagesTextBlock,
  MessagesToolResultBlock,
  MessagesToolUseBlock,
} from "./types.js";
import {
  asArray,
  asRecord,
  isAbsent,
  isBlank,
  parseJson,
  requireRecord,
  requireString,
  str,
  unsupported,
} from "./util.js";

const IMAGE_MEDIA_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

/** `data:<media>;base64,<data>` → its parts; undefined for any other URL. */
export const parseDataUrl = (url: string): { mediaType: string; data: string } | undefined => {
  const m = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return m?.[1] !== undefined && m[2] !== undefined
    ? { mediaType: m[1].toLowerCase(), data: m[2] }
    : undefined;
};

const imageBlock = (part: Record<string, unknown>, field: string): MessagesImageBlock => {
  const url = requireString(
    requireRecord(part.image_url, `${field}.image_url`).url,
    `${field}.image_url.url`,
  );
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  const parsed = parseDataUrl(url);
  if (!parsed) throw badRequest(`\`${field}.image_url.url\` must be an http(s) URL or a base64 data URL`);
  if (!IMAGE_MEDIA_TYPES.has(parsed.mediaType)) {
    throw unsupported(
      `${field}.image_url.url`,
      `has media type ${parsed.mediaType}; Anthropic accepts jpeg, png, gif, webp`,
    );
  }
  return { type: "image", source: { type: "base64", media_type: parsed.mediaType, data: parsed.data } };
};

const fileBlock = (part: Record<string, unknown>, field: string): MessagesDocumentBlock => {
  const file = requireRecord(part.file, `${field}.file`);
  const parsed = parseDataUrl(str(file.file_data) ?? "");
  if (parsed?.mediaType !== "application/pdf") {
    throw unsupported(`${field}.file`, "is only translatable as a base64 PDF in `file_data` (no `file_id`)");
  }
  return { type: "document", source: { type: "base64", media_type: "application/pdf", data: parsed.data } };
};

/** Text of a system/developer/tool message: a string or an array of text parts. */
const plainText = (content: unknown, field: string, sep: string): string => {
  if (isAbsent(content)) return "";
  if (typeof content === "string") return content;
  return requireArrayOf(content, field)
    .map((part, j) => {
      const p = requireRecord(part, `${field}[${j}]`);
      if (p.type !== "text") {
        throw unsupported(`${field}[${j}].type`, `"${String(p.type)}" must be "text" here`);
      }
      return requireString(p.text, `${field}[${j}].text`);
    })
    .join(sep);
};

const requireArrayOf = (v: unknown, field: string): unknown[] => {
  const arr = asArray(v);
  if (!arr) throw badRequest(`\`${field}\` must be a string or an array of content parts`);
  return arr;
};

/**
 * Anthropic tool ids must match `^[a-zA-Z0-9_-]+$`; OpenAI's are free-form (some OpenAI-compatible
 * servers emit e.g. `functions.get_weather:0`). Valid ids pass unchanged; the mapping is applied to
 * both the tool_use id and the tool_result's tool_use_id, so the pair still matches.
 */
export const anthropicToolId = (id: string): string => id.replace(/[^a-zA-Z0-9_-]/g, "_");

/** Anthropic rejects empty and whitespace-only text blocks; they carry nothing, so drop them. */
const textBlocks = (text: string): MessagesTextBlock[] => (isBlank(text) ? [] : [{ type: "text", text }]);

const userBlocks = (content: unknown, field: string): MessagesContentBlock[] => {
  if (isAbsent(content)) return [];
  if (typeof content === "string") return textBlocks(content);
  return requireArrayOf(content, field).flatMap((part, j): MessagesContentBlock[] => {
    const p = requireRecord(part, `${field}[${j}]`);
    const f = `${field}[${j}]`;
    switch (p.type) {
      case "text":
        return textBlocks(requireString(p.text, `${f}.text`));
      case "image_url":
        return [imageBlock(p, f)];
      case "file":
        return [fileBlock(p, f)];
      default:
        throw unsupported(`${f}.type`, `"${String(p.type)}" has no Anthropic equivalent`);
    }
  });
};

const toolUseBlock = (call: unknown, field: string): MessagesToolUseBlock => {
  const c = requireRecord(call, field);
  if (c.type !== undefined && c.type !== "function") {
    throw unsupported(`${field}.type`, `"${String(c.type)}" has no Anthropic equivalent`);
  }
  const fn = requireRecord(c.function, `${field}.function`);
  const args = str(fn.arguments) ?? "";
  // Some clients send "" for a call without arguments; Anthropic needs an object.
  const input = isBlank(args) ? {} : asRecord(parseJson(args));
  if (!input) throw badRequest(`\`${field}.function.arguments\` is not a JSON object`);
  return {
    type: "tool_use",
    id: anthropicToolId(requireString(c.id, `${field}.id`)),
    name: requireString(fn.name, `${field}.function.name`),
    input,
  };
};

const assistantBlocks = (m: Record<string, unknown>, field: string): MessagesContentBlock[] => {
  if (!isAbsent(m.function_call)) {
    throw unsupported(`${field}.function_call`, "(legacy) is not supported; use tool_calls");
  }
  let text = "";
  if (typeof m.content === "string") text = m.content;
  else if (!isAbsent(m.content)) {
    text = requireArrayOf(m.content, `${field}.content`)
      .map((part, j) => {
        const p = requireRecord(part, `${field}.content[${j}]`);
        if (p.type === "text") return requireString(p.text, `${field}.content[${j}].text`);
        if (p.type === "refusal") return requireString(p.refusal, `${field}.content[${j}].refusal`);
        throw unsupported(`${field}.content[${j}].type`, `"${String(p.type)}" has no Anthropic equivalent`);
      })
      .join("");
  }
  const calls = isAbsent(m.tool_calls) ? [] : requireArrayOf(m.tool_calls, `${field}.tool_calls`);
  return [...textBlocks(text), ...calls.map((c, j) => toolUseBlock(c, `${field}.tool_calls[${j}]`))];
};

const toolResultBlock = (m: Record<string, unknown>, field: string): MessagesToolResultBlock => {
  const text = plainText(m.content, `${field}.content`, "");
  const block: MessagesToolResultBlock = {
    type: "tool_result",
    tool_use_id: anthropicToolId(requireString(m.tool_call_id, `${field}.tool_call_id`)),
  };
  if (text !== "") block.content = text;
  return block;
};

type Turn = { role: "user" | "assistant"; blocks: MessagesContentBlock[] };

/**
 * Split OpenAI messages into Anthropic's system prompt parts and strictly alternating turns.
 * System/developer messages anywhere are hoisted into `system`; `tool` messages become user turns
 * of `tool_result` blocks; consecutive same-role turns are merged, with `tool_result` blocks moved
 * to the front of a user turn (Anthropic requires them before any other content).
 */
export function convertChatMessages(raw: unknown): { system: string[]; messages: MessagesMessage[] } {
  const system: string[] = [];
  const turns: Turn[] = [];
  const push = (role: Turn["role"], blocks: MessagesContentBlock[]): void => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last?.role === role) last.blocks.push(...blocks);
    else turns.push({ role, blocks });
  };

  const list = asArray(raw);
  if (!list || list.length === 0) throw badRequest("`messages` must be a non-empty array");
  list.forEach((item, i) => {
    const field = `messages[${i}]`;
    const m = requireRecord(item, field);
    switch (m.role) {
      case "system":
      case "developer": {
        const text = plainText(m.content, `${field}.content`, "\n");
        if (!isBlank(text)) system.push(text);
        break;
      }
      case "user":
        push("user", userBlocks(m.content, `${field}.content`));
        break;
      case "assistant":
        push("assistant", assistantBlocks(m, field));
        break;
      case "tool":
        push("user", [toolResultBlock(m, field)]);
        break;
      default:
        throw unsupported(`${field}.role`, `"${String(m.role)}" has no Anthropic equivalent`);
    }
  });

  for (const turn of turns) {
    if (turn.role === "user") {
      turn.blocks = [
        ...turn.blocks.filter((b) => b.type === "tool_result"),
        ...turn.blocks.filter((b) => b.type !== "tool_result"),
      ];
    }
  }
  // A trailing assistant turn is a prefill; Anthropic rejects one that ends in whitespace.
  const last = turns.at(-1);
  const tail = last?.role === "assistant" ? last.blocks.at(-1) : undefined;
  if (tail?.type === "text") tail.text = tail.text.trimEnd();

  const messages = turns.map(({ role, blocks }): MessagesMessage => {
    const only = blocks.length === 1 ? blocks[0] : undefined;
    return { role, content: only?.type === "text" ? only.text : blocks };
  });
  return { system, messages };
}
