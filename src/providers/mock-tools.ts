import { createHash } from "node:crypto";
import type { Route } from "./types.js";

/** What the mock does with a request that declares tools: call one, or answer from a tool's result. */
export type ToolPlan =
  | { kind: "call"; id: string; name: string; args: Record<string, unknown> }
  | { kind: "answer"; text: string };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * As a real model would: after a tool result, answer with it (quoted); else, when tools are declared
 * and tool_choice allows, call the forced tool or the first one with arguments shaped by its schema.
 * Null: answer in plain text. Deterministic: the same request gets the same plan.
 */
export function toolPlan(route: Route, body: Obj): ToolPlan | null {
  const messages = Array.isArray(body.messages) ? body.messages.filter(isObj) : [];
  const results = route === "messages" ? anthropicResults(messages) : openaiResults(messages);
  if (results.length) {
    const quoted = results.map((r) => `${r.name ?? "the tool"} said ${JSON.stringify(clip(r.text))}`);
    return { kind: "answer", text: `Mock answer using the tool result: ${quoted.join("; ")}.` };
  }
  const tools = route === "messages" ? anthropicTools(body.tools) : openaiTools(body.tools);
  const choice = body.tool_choice;
  if (!tools.length || choice === "none" || (isObj(choice) && choice.type === "none")) return null;
  const forced = isObj(choice)
    ? ((isObj(choice.function) ? choice.function.name : undefined) ?? choice.name)
    : undefined;
  const tool = tools.find((t) => t.name === forced) ?? tools[0]!;
  const args = sampleObject(tool.schema, 0);
  const digest = createHash("sha1")
    .update(`${tool.name}|${JSON.stringify(args)}|${messages.length}`)
    .digest("hex");
  const id = route === "messages" ? `toolu_mock${digest.slice(0, 20)}` : `call_mock${digest.slice(0, 20)}`;
  return { kind: "call", id, name: tool.name, args };
}

interface Tool {
  name: string;
  schema: unknown;
}

function openaiTools(tools: unknown): Tool[] {
  if (!Array.isArray(tools)) return [];
  return tools
    .filter((t): t is Obj & { function: Obj } => isObj(t) && t.type === "function" && isObj(t.function))
    .filter((t) => typeof t.function.name === "string")
    .map((t) => ({ name: String(t.function.name), schema: t.function.parameters }));
}

/** Client tools only: server tools (web_search, ...) have no input_schema and run upstream, not here. */
function anthropicTools(tools: unknown): Tool[] {
  if (!Array.isArray(tools)) return [];
  return tools
    .filter((t): t is Obj => isObj(t) && typeof t.name === "string" && isObj(t.input_schema))
    .map((t) => ({ name: String(t.name), schema: t.input_schema }));
}

interface Result {
  name: string | undefined;
  text: string;
}

/** Tool messages that end the conversation (the answer to the last assistant turn's calls). */
function openaiResults(messages: Obj[]): Result[] {
  const tail: Obj[] = [];
  for (let i = messages.length - 1; i >= 0 && messages[i]!.role === "tool"; i--) tail.unshift(messages[i]!);
  if (!tail.length) return [];
  const names = new Map<string, string>();
  for (const m of messages) {
    if (m.role !== "assistant" || !Array.isArray(m.tool_calls)) continue;
    for (const c of m.tool_calls)
      if (isObj(c) && isObj(c.function)) names.set(String(c.id), String(c.function.name));
  }
  return tail.map((m) => ({ name: names.get(String(m.tool_call_id)), text: textOf(m.content) }));
}

function anthropicResults(messages: Obj[]): Result[] {
  const last = messages.at(-1);
  if (last?.role !== "user" || !Array.isArray(last.content)) return [];
  const blocks = last.content.filter((b): b is Obj => isObj(b) && b.type === "tool_result");
  if (!blocks.length) return [];
  const names = new Map<string, string>();
  for (const m of messages) {
    if (m.role !== "assistant" || !Array.isArray(m.content)) continue;
    for (const b of m.content) if (isObj(b) && b.type === "tool_use") names.set(String(b.id), String(b.name));
  }
  return blocks.map((b) => ({ name: names.get(String(b.tool_use_id)), text: textOf(b.content) }));
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p) => (isObj(p) && typeof p.text === "string" ? p.text : ""))
    .filter(Boolean)
    .join(" ");
}

const clip = (text: string) => (text.length > 200 ? `${text.slice(0, 197)}...` : text);

/** A value of the schema's type: its default, const or first enum value when it names one. */
function sample(schema: unknown, depth: number): unknown {
  if (!isObj(schema)) return "sample";
  if ("default" in schema) return schema.default;
  if ("const" in schema) return schema.const;
  if (Array.isArray(schema.enum) && schema.enum.length) return schema.enum[0];
  const variants = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(variants) && variants.length) return sample(variants[0], depth);
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== "null") : schema.type;
  switch (type) {
    case "string":
      return "sample";
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 1;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array":
      return depth < 4 ? [sample(schema.items, depth + 1)] : [];
    default:
      return isObj(schema.properties) || type === "object" ? sampleObject(schema, depth + 1) : "sample";
  }
}

/** The required properties of an object schema, each with a sample value (bounded depth). */
function sampleObject(schema: unknown, depth: number): Record<string, unknown> {
  if (!isObj(schema) || !isObj(schema.properties) || depth > 4) return {};
  const required = Array.isArray(schema.required) ? schema.required.map(String) : [];
  const out: Record<string, unknown> = {};
  for (const name of required) out[name] = sample(schema.properties[name], depth);
  return out;
}
