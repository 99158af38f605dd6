/**
 * Anthropic `system` + `messages[]` → OpenAI `messages[]`. Used by `messagesRequestToChat`; split
 * out to keep files small.
 */

import type { ChatContentPart, ChatMessage, ChatToolCall } from "./types.js";
import { asArray, isAbsent, requireArray, requireRecord, requireString, str, unsupported } from "./util.js";

/** Text of a `system` value or `system`-role message: a string or an array of text blocks. */
export const systemText = (raw: unknown, field: string): string => {
  if (typeof raw === "string") return raw;
  const blocks = asArray(raw);
  if (!blocks) throw unsupported(field, "must be a string or an array of text blocks");
  return blocks
    .map((b, j) => {
      const block = requireRecord(b, `${field}[${j}]`);
      if (block.type !== "text") {
        throw unsupported(`${field}[${j}].type`, `"${String(block.type)}" must be "text"`);
      }
      return requireString(block.text, `${field}[${j}].text`);
    })
    .join("\n\n");
};

/** image / document block → an OpenAI content part (images as URL or data URL, PDFs as `file`). */
const mediaPart = (block: Record<string, unknown>, field: string): ChatContentPart => {
  const source = requireRecord(block.source, `${field}.source`);
  if (block.type === "image") {
    if (source.type === "url") {
      return { type: "image_url", image_url: { url: requireString(source.url, `${field}.source.url`) } };
    }
    if (source.type === "base64") {
      const mediaType = requireString(source.media_type, `${field}.source.media_type`);
      const data = requireString(source.data, `${field}.source.data`);
      return { type: "image_url", image_url: { url: `data:${mediaType};base64,${data}` } };
    }
  } else if (
    block.type === "document" &&
    source.type === "base64" &&
    source.media_type === "application/pdf"
  ) {
    const data = requireString(source.data, `${field}.source.data`);
    return {
      type: "file",
      file: { filename: "document.pdf", file_data: `data:application/pdf;base64,${data}` },
    };
  } else if (block.type === "document" && source.type === "text") {
    return { type: "text", text: requireString(source.data, `${field}.source.data`) };
  }
  throw unsupported(`${field}.source.type`, `"${String(source.type)}" has no OpenAI equivalent here`);
};

/**
 * A `tool_result` → an OpenAI `tool` message. Text content is joined; images (which OpenAI tool
 * messages cannot carry) are returned separately, to be sent in the user message that follows.
 */
const toolMessage = (
  block: Record<string, unknown>,
  field: string,
): { msg: ChatMessage; media: ChatContentPart[] } => {
  const id = requireString(block.tool_use_id, `${field}.tool_use_id`);
  const media: ChatContentPart[] = [];
  let text = "";
  if (typeof block.content === "string") text = block.content;
  else if (!isAbsent(block.content)) {
    const parts = asArray(block.content);
    if (!parts) throw unsupported(`${field}.content`, "must be a string or an array of blocks");
    const texts: string[] = [];
    parts.forEach((p, k) => {
      const f = `${field}.content[${k}]`;
      const part = requireRecord(p, f);
      if (part.type === "text") {
        texts.push(requireString(part.text, `${f}.text`));
      } else if (part.type === "image" || part.type === "document") {
        media.push(mediaPart(part, f));
      } else {
        throw unsupported(`${f}.type`, `"${String(part.type)}" has no OpenAI equivalent`);
      }
    });
    text = texts.join("\n");
  }
  if (block.is_error === true) text = `Error: ${text}`;
  return { msg: { role: "tool", tool_call_id: id, content: text }, media };
};

const userMessages = (content: unknown, field: string): ChatMessage[] => {
  if (typeof content === "string") return [{ role: "user", content }];
  const blocks = asArray(content);
  if (!blocks) throw unsupported(field, "must be a string or an array of content blocks");
  const tools: ChatMessage[] = [];
  const parts: ChatContentPart[] = [];
  const toolMedia: ChatContentPart[] = [];
  blocks.forEach((b, j) => {
    const f = `${field}[${j}]`;
    const block = requireRecord(b, f);
    switch (block.type) {
      case "text":
        parts.push({ type: "text", text: requireString(block.text, `${f}.text`) });
        break;
      case "image":
      case "document":
        parts.push(mediaPart(block, f));
        break;
      case "tool_result": {
        const { msg, media } = toolMessage(block, f);
        tools.push(msg);
        toolMedia.push(...media);
        break;
      }
      default:
        throw unsupported(`${f}.type`, `"${String(block.type)}" has no OpenAI equivalent`);
    }
  });
  // OpenAI wants tool messages right after the assistant's tool_calls, so they go first.
  const rest = [...toolMedia, ...parts];
  if (rest.length === 0) return tools;
  const only = rest.length === 1 ? rest[0] : undefined;
  return [...tools, { role: "user", content: only?.type === "text" ? only.text : rest }];
};

const assistantMessage = (content: unknown, field: string): ChatMessage | undefined => {
  if (typeof content === "string") return { role: "assistant", content };
  const blocks = asArray(content);
  if (!blocks) throw unsupported(field, "must be a string or an array of content blocks");
  let text = "";
  const calls: ChatToolCall[] = [];
  blocks.forEach((b, j) => {
    const f = `${field}[${j}]`;
    const block = requireRecord(b, f);
    switch (block.type) {
      case "text":
        text += requireString(block.text, `${f}.text`);
        break;
      case "tool_use":
        calls.push({
          id: requireString(block.id, `${f}.id`),
          type: "function",
          function: {
            name: requireString(block.name, `${f}.name`),
            arguments: JSON.stringify(block.input ?? {}),
          },
        });
        break;
      case "thinking":
      case "redacted_thinking":
        break; // earlier reasoning: not replayable to an OpenAI-type model, and harmless to omit
      default:
        throw unsupported(`${f}.type`, `"${String(block.type)}" has no OpenAI equivalent`);
    }
  });
  if (calls.length > 0) return { role: "assistant", content: text === "" ? null : text, tool_calls: calls };
  return text === "" ? undefined : { role: "assistant", content: text };
};

/** Anthropic `system` and `messages` → OpenAI messages (system first, tool results as `tool` messages). */
export function convertAnthropicMessages(system: unknown, raw: unknown): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (!isAbsent(system)) {
    const text = systemText(system, "system");
    if (text !== "") out.push({ role: "system", content: text });
  }
  requireArray(raw, "messages").forEach((item, i) => {
    const field = `messages[${i}]`;
    const m = requireRecord(item, field);
    switch (str(m.role)) {
      case "system": // newer API versions accept system-role messages inline
        out.push({ role: "system", content: systemText(m.content, `${field}.content`) });
        break;
      case "user":
        out.push(...userMessages(m.content, `${field}.content`));
        break;
      case "assistant": {
        const msg = assistantMessage(m.content, `${field}.content`);
        if (msg) out.push(msg);
        break;
      }
      default:
        throw unsupported(`${field}.role`, `"${String(m.role)}" has no OpenAI equivalent`);
    }
  });
  return out;
}
