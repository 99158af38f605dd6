/**
 * The fake upstream's OpenAI Responses API (`POST /v1/responses`): the same deterministic answers as
 * its chat route ("Echo: " + the last user text, or a call of the first declared tool until a tool
 * output comes back), as JSON or as the exact Responses event stream OpenAI sends.
 */

import type { ToolCall } from "./fake-upstream.js";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const words = (s: string) => (s.trim() === "" ? 0 : s.trim().split(/\s+/).length);

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter(isObj)
    .map((p) => (typeof p.text === "string" ? p.text : ""))
    .join(" ");
}

/**
 * The answer to a Responses request: the complete response, and its stream frames. A scripted
 * `toolCall` is a call of the declared tool of that name with that input, whatever the input says.
 */
export function fakeResponse(
  b: Obj,
  seq: number,
  chunks: number,
  toolCall?: ToolCall,
): { status: number; json: Obj; frames: string[] } {
  const model = String(b.model ?? "");
  const input: Obj[] =
    typeof b.input === "string"
      ? [{ role: "user", content: b.input }]
      : Array.isArray(b.input)
        ? b.input.filter(isObj)
        : [];
  const last = input.at(-1);
  const lastIsOutput = last?.type === "function_call_output" || last?.type === "custom_tool_call_output";
  const userText = textOf(input.findLast((i) => i.role === "user")?.content);
  const tool = (Array.isArray(b.tools) ? b.tools : [])
    .filter(isObj)
    .find((t) => (toolCall ? t.name === toolCall.name : t.type === "function" || t.type === "custom"));
  const useTool =
    tool !== undefined && (toolCall !== undefined || (!lastIsOutput && b.tool_choice !== "none"));
  const id = `resp_fake${String(seq).padStart(6, "0")}`;
  const answer = `Echo: ${lastIsOutput ? textOf(last?.output) || String(last?.output ?? "") : userText}`;
  let item: Obj;
  if (useTool && tool.type === "custom") {
    item = {
      id: `ctc_${seq}`,
      type: "custom_tool_call",
      status: "completed",
      call_id: `call_${seq}`,
      name: tool.name,
      input: typeof toolCall?.input === "string" ? toolCall.input : userText,
    };
  } else if (useTool) {
    const args = JSON.stringify(
      typeof toolCall?.input === "string"
        ? { input: toolCall.input }
        : (toolCall?.input ?? { query: userText }),
    );
    item = {
      id: `fc_${seq}`,
      type: "function_call",
      status: "completed",
      arguments: args,
      call_id: `call_${seq}`,
      name: tool.name,
    };
  } else {
    item = {
      id: `msg_${seq}`,
      type: "message",
      status: "completed",
      content: [{ type: "output_text", annotations: [], logprobs: [], text: answer }],
      role: "assistant",
    };
  }
  const inputTokens = input.reduce((n, i) => n + words(textOf(i.content) || String(i.output ?? "")) + 3, 0);
  const outputTokens = words(String(item.arguments ?? item.input ?? answer));
  const usage = {
    input_tokens: inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: inputTokens + outputTokens,
  };
  const base = {
    id,
    object: "response",
    created_at: 1_760_000_000 + seq,
    status: "completed",
    background: false,
    error: null,
    incomplete_details: null,
    instructions: b.instructions ?? null,
    max_output_tokens: b.max_output_tokens ?? null,
    model,
    output: [item],
    parallel_tool_calls: true,
    previous_response_id: b.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    store: b.store !== false,
    temperature: 1,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: "auto",
    tools: b.tools ?? [],
    top_p: 1,
    truncation: "disabled",
    usage,
    user: null,
    metadata: {},
  };
  let n = 0;
  const ev = (type: string, payload: Obj) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: n++, ...payload })}\n\n`;
  const pending = { ...base, status: "in_progress", output: [], usage: null };
  const frames = [
    ev("response.created", { response: pending }),
    ev("response.in_progress", { response: pending }),
  ];
  const at = { item_id: item.id, output_index: 0 };
  if (item.type === "message") {
    frames.push(
      ev("response.output_item.added", {
        output_index: 0,
        item: { ...item, status: "in_progress", content: [] },
      }),
    );
    frames.push(
      ev("response.content_part.added", {
        ...at,
        content_index: 0,
        part: { type: "output_text", annotations: [], logprobs: [], text: "" },
      }),
    );
    for (const piece of pieces(answer, chunks))
      frames.push(
        ev("response.output_text.delta", {
          ...at,
          content_index: 0,
          delta: piece,
          logprobs: [],
          obfuscation: "x",
        }),
      );
    frames.push(ev("response.output_text.done", { ...at, content_index: 0, text: answer, logprobs: [] }));
    frames.push(
      ev("response.content_part.done", { ...at, content_index: 0, part: (item.content as Obj[])[0] }),
    );
  } else if (item.type === "function_call") {
    frames.push(
      ev("response.output_item.added", {
        output_index: 0,
        item: { ...item, status: "in_progress", arguments: "" },
      }),
    );
    for (const piece of pieces(String(item.arguments), chunks))
      frames.push(ev("response.function_call_arguments.delta", { ...at, delta: piece, obfuscation: "x" }));
    frames.push(ev("response.function_call_arguments.done", { ...at, arguments: item.arguments }));
  } else {
    frames.push(ev("response.output_item.added", { output_index: 0, item: { ...item, input: "" } }));
    frames.push(ev("response.custom_tool_call_input.delta", { ...at, delta: item.input }));
    frames.push(ev("response.custom_tool_call_input.done", { ...at, input: item.input }));
  }
  frames.push(ev("response.output_item.done", { output_index: 0, item }));
  frames.push(ev("response.completed", { response: base }));
  return { status: 200, json: base, frames };
}

function pieces(text: string, n: number): string[] {
  const chars = Array.from(text);
  const count = Math.max(1, Math.min(n, chars.length));
  const out: string[] = [];
  for (let i = 0; i < count; i++)
    out.push(
      chars
        .slice(Math.floor((i * chars.length) / count), Math.floor(((i + 1) * chars.length) / count))
        .join(""),
    );
  return out;
}
