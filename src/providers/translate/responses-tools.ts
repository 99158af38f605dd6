/**
 * The tool side of Responses translation, shared by the Chat and Anthropic directions: which declared
 * tools become upstream functions (custom and namespace tools included, under names the upstream
 * accepts), which hosted tools are dropped, how `tool_choice` maps, and how a call coming back is
 * turned into the right Responses item under its original name.
 */

import { badRequest } from "../../errors.js";
import { asArray, asRecord, type JsonRecord, str } from "./util.js";

/** One tool as the upstream sees it: a plain function. */
export interface UpstreamFunction {
  name: string;
  description?: string;
  parameters: JsonRecord;
  strict?: boolean;
}

/** What an upstream function name stands for on the client's side. */
export interface ToolOrigin {
  kind: "function" | "custom";
  name: string;
  namespace?: string;
}

export interface ToolPlan {
  functions: UpstreamFunction[];
  /** Upstream function name → the client's tool. */
  origins: Map<string, ToolOrigin>;
  /** Hosted tools (by type) that the upstream cannot run: left out, named in `x-aigw-dropped-tools`. */
  dropped: string[];
}

/** The single string argument a custom (freeform) tool is given as a function. */
export const CUSTOM_ARG = "input";

const NAME_SEP = "__";

const customParameters = (description: string | undefined): JsonRecord => ({
  type: "object",
  properties: { [CUSTOM_ARG]: { type: "string", description: description ?? "the raw tool input" } },
  required: [CUSTOM_ARG],
  additionalProperties: false,
});

/** Codex's "lite" requests declare their tools in an `additional_tools` input item, not in `tools`. */
export function declaredTools(body: JsonRecord): unknown[] {
  const tools = [...(asArray(body.tools) ?? [])];
  for (const item of asArray(body.input) ?? []) {
    const rec = asRecord(item);
    if (rec?.type === "additional_tools") tools.push(...(asArray(rec.tools) ?? []));
  }
  return tools;
}

export function planTools(body: JsonRecord): ToolPlan {
  const plan: ToolPlan = { functions: [], origins: new Map(), dropped: [] };
  const add = (tool: JsonRecord, field: string, namespace?: string) => {
    const name = str(tool.name);
    if (!name) throw badRequest(`${field}.name: required, a string`);
    const upstream = namespace ? `${namespace}${NAME_SEP}${name}` : name;
    const description = str(tool.description);
    if (tool.type === "function") {
      const fn: UpstreamFunction = {
        name: upstream,
        parameters: asRecord(tool.parameters) ?? { type: "object", properties: {} },
      };
      if (description) fn.description = description;
      if (typeof tool.strict === "boolean") fn.strict = tool.strict;
      plan.functions.push(fn);
      plan.origins.set(upstream, { kind: "function", name, ...(namespace ? { namespace } : {}) });
    } else {
      // A freeform tool: the model writes one string; its grammar (if any) is told in the description.
      const format = asRecord(tool.format);
      const grammar = str(format?.definition);
      const text = [
        description,
        grammar ? `Input grammar (${str(format?.syntax) ?? "grammar"}):\n${grammar}` : "",
      ]
        .filter(Boolean)
        .join("\n\n");
      const fn: UpstreamFunction = { name: upstream, parameters: customParameters(undefined) };
      if (text) fn.description = text;
      plan.functions.push(fn);
      plan.origins.set(upstream, { kind: "custom", name, ...(namespace ? { namespace } : {}) });
    }
  };
  for (const [i, raw] of declaredTools(body).entries()) {
    const tool = asRecord(raw);
    const field = `tools[${i}]`;
    if (!tool) throw badRequest(`${field}: must be an object`);
    const type = str(tool.type) ?? "";
    if (type === "function" || type === "custom") add(tool, field);
    else if (type === "namespace") {
      const ns = str(tool.name);
      if (!ns) throw badRequest(`${field}.name: required for a namespace tool`);
      for (const [j, inner] of (asArray(tool.tools) ?? []).entries()) {
        const rec = asRecord(inner);
        if (rec && (rec.type === "function" || rec.type === "custom")) add(rec, `${field}.tools[${j}]`, ns);
      }
    } else if (type) {
      if (!plan.dropped.includes(type)) plan.dropped.push(type);
    } else throw badRequest(`${field}.type: required`);
  }
  return plan;
}

/** `tool_choice` in neutral form: a mode, or the upstream name of the one function to call. */
export type NeutralChoice = { mode: "auto" | "none" | "required" } | { name: string };

export function neutralChoice(choice: unknown, plan: ToolPlan): NeutralChoice | null {
  if (choice === undefined || choice === null) return null;
  if (choice === "auto" || choice === "none" || choice === "required") return { mode: choice };
  const rec = asRecord(choice);
  if (!rec) throw badRequest("tool_choice: must be auto, none, required or an object");
  const type = str(rec.type) ?? "";
  if (type === "function" || type === "custom") {
    const name = str(rec.name) ?? "";
    const hit = [...plan.origins.entries()].find(([, o]) => o.name === name && o.kind === type);
    if (!hit) throw badRequest(`tool_choice.name: "${name}" is not a declared ${type} tool`);
    return { name: hit[0] };
  }
  if (type === "allowed_tools") return { mode: rec.mode === "required" ? "required" : "auto" };
  throw badRequest(
    `tool_choice: forces the hosted tool "${type}", which this provider cannot run`,
    "unsupported_parameter",
  );
}

/** A call the upstream made, as a Responses output item under the client's own tool name. */
export function callItem(
  plan: ToolPlan,
  call: { id: string; callId: string; name: string; arguments: string },
): JsonRecord {
  const origin = plan.origins.get(call.name);
  const ns = origin?.namespace ? { namespace: origin.namespace } : {};
  if (origin?.kind === "custom") {
    const parsed = asRecord(safeJson(call.arguments));
    const input = str(parsed?.[CUSTOM_ARG]) ?? call.arguments;
    return {
      type: "custom_tool_call",
      id: call.id,
      status: "completed",
      call_id: call.callId,
      name: origin.name,
      input,
      ...ns,
    };
  }
  return {
    type: "function_call",
    id: call.id,
    status: "completed",
    call_id: call.callId,
    name: origin?.name ?? call.name,
    arguments: call.arguments,
    ...ns,
  };
}

/** The upstream name a past call item (from the conversation) is sent under. */
export function upstreamCallName(item: JsonRecord): string {
  const name = str(item.name) ?? "";
  const ns = str(item.namespace);
  return ns ? `${ns}${NAME_SEP}${name}` : name;
}

/** A past call's arguments as the upstream saw them: custom tool input wrapped as `{input}`. */
export function upstreamCallArguments(item: JsonRecord): string {
  if (item.type === "custom_tool_call") return JSON.stringify({ [CUSTOM_ARG]: str(item.input) ?? "" });
  return str(item.arguments) ?? "{}";
}

/** A tool output's text: a string, or the text parts of a content array joined. */
export function outputText(output: unknown): string {
  if (typeof output === "string") return output;
  const parts = asArray(output) ?? [];
  return parts
    .map((p) => str(asRecord(p)?.text) ?? "")
    .filter(Boolean)
    .join("\n");
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
