/** Responses API ⇄ Anthropic Messages: a Responses request sent to Anthropic, and its answer back. */

import { checkRefused, type Part, readTurns } from "./responses-input.js";
import {
  incompleteReasonFor,
  messageItem,
  type ResponseContext,
  reasoningItem,
  responseObject,
  usageFromMessages,
} from "./responses-object.js";
import { callItem, neutralChoice, type ToolPlan } from "./responses-tools.js";
import { asArray, asRecord, type JsonRecord, num, parseJson, str } from "./util.js";

/** Thinking budget per `reasoning.effort` (Anthropic needs at least 1024). */
const BUDGETS: Record<string, number> = { minimal: 1024, low: 2048, medium: 8192, high: 16384, xhigh: 32000 };

export function responsesRequestToMessages(
  body: JsonRecord,
  opts: { upstreamModel: string; plan: ToolPlan; defaultMaxTokens: number },
): JsonRecord {
  checkRefused(body);
  const system: string[] = [];
  const messages: Array<{ role: "user" | "assistant"; content: JsonRecord[] }> = [];
  const push = (role: "user" | "assistant", block: JsonRecord) => {
    const last = messages.at(-1);
    // Anthropic wants one message per turn: results of parallel calls share one user message.
    if (last?.role === role) last.content.push(block);
    else messages.push({ role, content: [block] });
  };
  for (const turn of readTurns(body)) {
    switch (turn.kind) {
      case "system":
        system.push(turn.text);
        break;
      case "user":
        for (const part of turn.parts) push("user", messagesPart(part));
        break;
      case "assistant":
        if (turn.text) push("assistant", { type: "text", text: turn.text });
        break;
      case "thinking":
        push("assistant", { type: "thinking", thinking: turn.text, signature: turn.signature });
        break;
      case "call":
        push("assistant", {
          type: "tool_use",
          id: turn.callId,
          name: turn.name,
          input: asRecord(parseJson(turn.arguments)) ?? {},
        });
        break;
      case "result":
        push("user", { type: "tool_result", tool_use_id: turn.callId, content: turn.text });
        break;
    }
  }
  const format = asRecord(asRecord(body.text)?.format);
  if (format?.type === "json_schema" || format?.type === "json_object") {
    // Anthropic has no response_format: the schema is stated as an instruction.
    const schema =
      format.type === "json_schema"
        ? ` matching this JSON schema:\n${JSON.stringify(format.schema ?? {})}`
        : "";
    system.push(`Respond with a single JSON value only, no prose or code fences${schema}`);
  }
  const effort = str(asRecord(body.reasoning)?.effort);
  const choice = neutralChoice(body.tool_choice, opts.plan);
  // Anthropic's thinking only goes with tool_choice auto or none: a forced call wins over thinking.
  const forced = choice !== null && ("name" in choice || choice.mode === "required");
  const budget = effort && !forced ? BUDGETS[effort] : undefined;
  // Thinking counts against max_tokens: without a client cap, room is made for it and the answer.
  const max = num(body.max_output_tokens) ?? opts.defaultMaxTokens + (budget ?? 0);
  const out: JsonRecord = { model: opts.upstreamModel, max_tokens: max, messages };
  if (system.length > 0) out.system = system.join("\n\n");
  if (budget !== undefined) {
    const fits = Math.min(budget, max - 1);
    if (fits >= 1024) out.thinking = { type: "enabled", budget_tokens: fits };
  }
  // Anthropic refuses temperature/top_p alongside thinking.
  if (!out.thinking) {
    if (typeof body.temperature === "number") out.temperature = Math.min(1, body.temperature);
    if (typeof body.top_p === "number") out.top_p = body.top_p;
  }
  if (opts.plan.functions.length > 0) {
    out.tools = opts.plan.functions.map((fn) => ({
      name: fn.name,
      ...(fn.description ? { description: fn.description } : {}),
      input_schema: fn.parameters,
    }));
    const noParallel = body.parallel_tool_calls === false ? { disable_parallel_tool_use: true } : {};
    if (choice && "name" in choice) out.tool_choice = { type: "tool", name: choice.name, ...noParallel };
    else if (choice?.mode === "none") out.tool_choice = { type: "none" };
    else if (choice?.mode === "required") out.tool_choice = { type: "any", ...noParallel };
    else if (body.parallel_tool_calls === false) out.tool_choice = { type: "auto", ...noParallel };
  }
  if (body.stream === true) out.stream = true;
  return out;
}

function messagesPart(part: Part): JsonRecord {
  if (part.type === "text") return { type: "text", text: part.text };
  const data = /^data:([^;,]+);base64,(.*)$/s.exec(part.type === "image" ? part.url : part.data);
  if (part.type === "image") {
    if (data) return { type: "image", source: { type: "base64", media_type: data[1], data: data[2] } };
    return { type: "image", source: { type: "url", url: part.url } };
  }
  return {
    type: "document",
    source: { type: "base64", media_type: data?.[1] ?? "application/pdf", data: data?.[2] ?? part.data },
  };
}

/** An Anthropic answer as a Responses `response` object. */
export function messagesResponseToResponses(
  body: JsonRecord,
  ctx: ResponseContext & { plan: ToolPlan },
): JsonRecord {
  const output: JsonRecord[] = [];
  const base = ctx.id.replace(/^resp_/, "");
  for (const [i, raw] of (asArray(body.content) ?? []).entries()) {
    const block = asRecord(raw) ?? {};
    if (block.type === "text") {
      const text = str(block.text) ?? "";
      const prev = output.at(-1);
      // Text blocks of one answer (split around citations) read as one message.
      if (prev?.type === "message") {
        const part = (prev.content as JsonRecord[])[0]!;
        part.text = `${str(part.text) ?? ""}${text}`;
      } else output.push(messageItem(`msg_${base}_${i}`, text));
    } else if (block.type === "thinking") {
      output.push(reasoningItem(`rs_${base}_${i}`, str(block.thinking) ?? "", str(block.signature) ?? null));
    } else if (block.type === "tool_use") {
      output.push(
        callItem(ctx.plan, {
          id: `fc_${base}_${i}`,
          callId: str(block.id) ?? `call_${base}_${i}`,
          name: str(block.name) ?? "",
          arguments: JSON.stringify(block.input ?? {}),
        }),
      );
    }
  }
  const reason = incompleteReasonFor(body.stop_reason);
  const usage = usageFromMessages(body.usage);
  return responseObject(
    ctx,
    reason ? "incomplete" : "completed",
    output,
    usage,
    reason ? { incompleteReason: reason } : {},
  );
}
