/**
 * The mock calls tools as real models do, in both wire formats, streamed and not: a full agent loop
 * (tool call → tool result → answer) through the official SDKs and their helpers, against `--demo`.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  gw = await startTestGateway({
    demo: true,
    config: { providers: { mock: { type: "mock", chunk_delay: 0 } } },
  });
  openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "unused", baseURL: gw.url, maxRetries: 0 });
});
afterAll(() => gw.close());

const weatherSchema = {
  type: "object",
  properties: {
    city: { type: "string" },
    unit: { type: "string", enum: ["celsius", "fahrenheit"] },
    days: { type: "integer", minimum: 1 },
    detailed: { type: "boolean" },
    when: { type: "object", properties: { hour: { type: "number" } }, required: ["hour"] },
    tags: { type: "array", items: { type: "string" } },
    note: { type: "string" },
  },
  required: ["city", "unit", "days", "detailed", "when", "tags"],
};
const sampleArgs = {
  city: "sample",
  unit: "celsius",
  days: 1,
  detailed: true,
  when: { hour: 1 },
  tags: ["sample"],
};
const openaiTools: OpenAI.Chat.ChatCompletionTool[] = [
  { type: "function", function: { name: "get_weather", parameters: weatherSchema } },
  { type: "function", function: { name: "get_time", parameters: { type: "object", properties: {} } } },
];
const anthropicTools: Anthropic.Tool[] = [
  { name: "get_weather", input_schema: weatherSchema as Anthropic.Tool.InputSchema },
  { name: "get_time", input_schema: { type: "object", properties: {} } },
];
const question = [{ role: "user" as const, content: "weather in Paris?" }];

describe("OpenAI chat: tool calls", () => {
  it("calls the first tool with arguments shaped by its schema, then answers with the result", async () => {
    const first = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: question,
      tools: openaiTools,
    });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe("tool_calls");
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual(sampleArgs);
    const again = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: question,
      tools: openaiTools,
    });
    expect(again.choices[0]!.message.tool_calls).toEqual(choice.message.tool_calls); // deterministic

    const second = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      tools: openaiTools,
      messages: [
        ...question,
        choice.message,
        { role: "tool", tool_call_id: call.id, content: "18°C and sunny" },
      ],
    });
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toContain('get_weather said "18°C and sunny"');
  });

  it("honours tool_choice: a forced tool, and none", async () => {
    const forced = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: question,
      tools: openaiTools,
      tool_choice: { type: "function", function: { name: "get_time" } },
    });
    const call = forced.choices[0]!.message
      .tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(call.function).toEqual({ name: "get_time", arguments: "{}" });
    const none = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: question,
      tools: openaiTools,
      tool_choice: "none",
    });
    expect(none.choices[0]!.message.tool_calls).toBeUndefined();
    expect(none.choices[0]!.message.content).toMatch(/^Mock answer/);
  });

  it("streams tool-call deltas that the SDK's stream helper assembles", async () => {
    const stream = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: question,
      tools: openaiTools,
    });
    let deltas = 0;
    stream.on("tool_calls.function.arguments.delta", () => deltas++);
    const final = await stream.finalChatCompletion();
    expect(deltas).toBeGreaterThan(1);
    expect(final.choices[0]!.finish_reason).toBe("tool_calls");
    const call = final.choices[0]!.message
      .tool_calls![0]! as OpenAI.Chat.ChatCompletionMessageFunctionToolCall;
    expect(JSON.parse(call.function.arguments)).toEqual(sampleArgs);
  });

  it("runs a full loop with runTools, streamed and not", async () => {
    const seen: unknown[] = [];
    const tool = {
      type: "function" as const,
      function: {
        name: "get_weather",
        description: "the weather in a city",
        parameters: weatherSchema,
        parse: (text: string) => JSON.parse(text) as object,
        function: (args: object) => {
          seen.push(args);
          return "rainy, 12 degrees";
        },
      },
    };
    const plain = openai.chat.completions.runTools({ model: "gpt-4o", messages: question, tools: [tool] });
    expect(await plain.finalContent()).toContain('get_weather said "rainy, 12 degrees"');
    const streamed = openai.chat.completions.runTools({
      model: "gpt-4o",
      messages: question,
      tools: [tool],
      stream: true,
    });
    expect(await streamed.finalContent()).toContain('get_weather said "rainy, 12 degrees"');
    expect(seen).toEqual([sampleArgs, sampleArgs]);
    const rows = gw.rows().filter((r) => r.requested_model === "gpt-4o");
    expect(rows.length).toBeGreaterThanOrEqual(4);
    expect(rows.every((r) => r.status === 200 && (r.output_tokens ?? 0) > 0)).toBe(true);
  });
});

describe("Anthropic messages: tool use", () => {
  it("answers with a tool_use block, then uses the tool_result", async () => {
    const first = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 200,
      messages: question,
      tools: anthropicTools,
    });
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content[0] as Anthropic.ToolUseBlock;
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather", input: sampleArgs });
    expect(use.id).toMatch(/^toolu_/);

    const second = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 200,
      tools: anthropicTools,
      messages: [
        ...question,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "18°C and sunny" }] },
      ],
    });
    expect(second.stop_reason).toBe("end_turn");
    expect((second.content[0] as Anthropic.TextBlock).text).toContain('get_weather said "18°C and sunny"');
  });

  it("streams input_json_delta events that messages.stream().finalMessage() assembles, in a full loop", async () => {
    const tools = anthropicTools;
    const forced = { type: "tool" as const, name: "get_weather" };
    const stream = anthropic.messages.stream({
      model: "claude-sonnet-4-6",
      max_tokens: 200,
      messages: question,
      tools,
      tool_choice: forced,
    });
    let partials = 0;
    stream.on("inputJson", () => partials++);
    const first = await stream.finalMessage();
    expect(partials).toBeGreaterThan(1);
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content[0] as Anthropic.ToolUseBlock;
    expect(use.input).toEqual(sampleArgs);

    const answer = await anthropic.messages
      .stream({
        model: "claude-sonnet-4-6",
        max_tokens: 200,
        tools,
        messages: [
          ...question,
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [
              { type: "tool_result", tool_use_id: use.id, content: [{ type: "text", text: "windy" }] },
            ],
          },
        ],
      })
      .finalMessage();
    expect(answer.stop_reason).toBe("end_turn");
    expect((answer.content[0] as Anthropic.TextBlock).text).toContain('get_weather said "windy"');
  });

  it("answers in text when tool_choice is none", async () => {
    const none = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 50,
      messages: question,
      tools: anthropicTools,
      tool_choice: { type: "none" },
    });
    expect(none.stop_reason).toBe("end_turn");
    expect(none.content[0]!.type).toBe("text");
  });
});
