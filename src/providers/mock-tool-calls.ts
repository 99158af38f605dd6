import type { ToolPlan } from "./mock-tools.js";

type Call = Extract<ToolPlan, { kind: "call" }>;

interface Usage {
  input: number;
  output: number;
}

/** The mock's tool calls on the OpenAI chat wire: `tool_calls`, streamed as argument deltas. */
export const openaiToolCall = {
  message: (model: string, call: Call, usage: Usage) => ({
    id: `chatcmpl-${call.id.slice(5)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: call.id,
              type: "function",
              function: { name: call.name, arguments: JSON.stringify(call.args) },
            },
          ],
          refusal: null,
        },
        logprobs: null,
        finish_reason: "tool_calls",
      },
    ],
    usage: openaiUsage(usage),
  }),
  frames(model: string, call: Call, pieces: string[], usage: Usage, includeUsage: boolean): string[] {
    const base = {
      id: `chatcmpl-${call.id.slice(5)}`,
      object: "chat.completion.chunk",
      created: Math.floor(Date.now() / 1000),
      model,
    };
    const extra = includeUsage ? { usage: null } : {};
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
    const head = { index: 0, id: call.id, type: "function", function: { name: call.name, arguments: "" } };
    const frames = [
      chunk({ role: "assistant", content: null, tool_calls: [head], refusal: null }, null),
      ...pieces.map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }, null)),
      chunk({}, "tool_calls"),
    ];
    if (includeUsage)
      frames.push(`data: ${JSON.stringify({ ...base, choices: [], usage: openaiUsage(usage) })}\n\n`);
    frames.push("data: [DONE]\n\n");
    return frames;
  },
};

/** The mock's tool calls on the Anthropic wire: a `tool_use` block, streamed as `input_json_delta`s. */
export const anthropicToolCall = {
  message: (model: string, call: Call, usage: Usage) => ({
    id: `msg_${call.id.slice(6)}`,
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "tool_use", id: call.id, name: call.name, input: call.args }],
    stop_reason: "tool_use",
    stop_sequence: null,
    usage: anthropicUsage(usage),
  }),
  frames(model: string, call: Call, pieces: string[], usage: Usage): string[] {
    const ev = (event: string, data: object) =>
      `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
    const start = {
      ...anthropicToolCall.message(model, call, { input: usage.input, output: 1 }),
      content: [],
      stop_reason: null,
    };
    return [
      ev("message_start", { message: start }),
      ev("content_block_start", {
        index: 0,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
      }),
      ...pieces.map((partial_json) =>
        ev("content_block_delta", { index: 0, delta: { type: "input_json_delta", partial_json } }),
      ),
      ev("content_block_stop", { index: 0 }),
      ev("message_delta", {
        delta: { stop_reason: "tool_use", stop_sequence: null },
        usage: { output_tokens: usage.output },
      }),
      ev("message_stop", {}),
    ];
  },
};

function openaiUsage(u: Usage) {
  return {
    prompt_tokens: u.input,
    completion_tokens: u.output,
    total_tokens: u.input + u.output,
    prompt_tokens_details: { cached_tokens: 0 },
  };
}

function anthropicUsage(u: Usage) {
  return {
    input_tokens: u.input,
    output_tokens: u.output,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: 0,
  };
}
