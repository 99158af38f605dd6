import { describe, expect, it } from "vitest";
import {
  countTextTokens,
  DEFAULT_OUTPUT_TOKENS,
  estimateTokens,
  loadTokenizer,
  SAMPLE_CHARS,
  tokenizerLoaded,
} from "./tokens.js";

// Runs first: the module loads the tokenizer lazily, approximating until it is in.
describe("before the tokenizer loads", () => {
  it("falls back to chars / 4 and starts loading", async () => {
    expect(tokenizerLoaded()).toBe(false);
    expect(countTextTokens("你好，世界")).toBe(2);
    expect(await loadTokenizer()).toBe(true);
    expect(tokenizerLoaded()).toBe(true);
  });
});

describe("countTextTokens", () => {
  it.each([
    { text: "", tokens: 0 },
    { text: "hello world", tokens: 2 },
    { text: "Hello, world!", tokens: 4 },
    { text: "1234567890", tokens: 4 },
    { text: "你好，世界", tokens: 3 },
    // Special-token text in a prompt is plain text, not an error.
    { text: "<|endoftext|>", tokens: 7 },
  ])("$text → $tokens (o200k_base, not chars / 4)", ({ text, tokens }) => {
    expect(countTextTokens(text)).toBe(tokens);
  });

  it("samples text longer than SAMPLE_CHARS, within a few percent", async () => {
    const words = ["gateway", "queue", "token", "limit", "upstream", "request", "the", "a", "of", "per"];
    const text = Array.from({ length: 60_000 }, (_, i) => words[(i * 7 + (i >> 3)) % words.length]).join(" ");
    expect(text.length).toBeGreaterThan(SAMPLE_CHARS * 10);
    const { countTokens } = await import("gpt-tokenizer/encoding/o200k_base");
    const exact = countTokens(text);
    expect(Math.abs(countTextTokens(text) / exact - 1)).toBeLessThan(0.05);
  });
});

const chat = (content: unknown, extra: Record<string, unknown> = {}) => ({
  model: "m",
  messages: [{ role: "user", content }],
  ...extra,
});

/** One message: 4 framing + 3 reply priming. */
const FRAMING = 7;

describe("estimateTokens", () => {
  it.each([
    { name: "string content", body: chat("hello world"), tokens: FRAMING + 2 + DEFAULT_OUTPUT_TOKENS },
    {
      name: "text parts",
      body: chat([{ type: "text", text: "hello world" }]),
      tokens: FRAMING + 2 + DEFAULT_OUTPUT_TOKENS,
    },
    { name: "max_tokens", body: chat("hello world", { max_tokens: 1000 }), tokens: FRAMING + 2 + 1000 },
    {
      name: "max_completion_tokens",
      body: chat("hello world", { max_completion_tokens: 50 }),
      tokens: FRAMING + 2 + 50,
    },
    { name: "n choices", body: chat("hello world", { max_tokens: 10, n: 3 }), tokens: FRAMING + 2 + 30 },
    {
      name: "an image part",
      body: chat([{ type: "image_url", image_url: { url: "data:image/png;base64,AAAA" } }], {
        max_tokens: 1,
      }),
      tokens: FRAMING + 1000 + 1,
    },
    { name: "embeddings string", body: { model: "e", input: "hello world" }, tokens: 2 },
    { name: "embeddings token arrays", body: { model: "e", input: [[1, 2, 3], [4]] }, tokens: 4 },
    { name: "no messages", body: { model: "m" }, tokens: DEFAULT_OUTPUT_TOKENS },
  ])("$name → $tokens", ({ body, tokens }) => {
    expect(estimateTokens(body)).toBe(tokens);
  });

  it("the default output is configurable", () => {
    expect(estimateTokens(chat("hello world"), 16)).toBe(FRAMING + 2 + 16);
  });

  it("counts an Anthropic system prompt as a string or as blocks", () => {
    const base = estimateTokens({ model: "m", max_tokens: 1, messages: [{ role: "user", content: "hi" }] });
    const asString = estimateTokens({
      model: "m",
      max_tokens: 1,
      system: "You are terse.",
      messages: [{ role: "user", content: "hi" }],
    });
    const asBlocks = estimateTokens({
      model: "m",
      max_tokens: 1,
      system: [{ type: "text", text: "You are terse." }],
      messages: [{ role: "user", content: "hi" }],
    });
    expect(asString).toBeGreaterThan(base);
    expect(asBlocks).toBe(asString);
  });

  it.each([
    {
      name: "OpenAI tool definitions",
      extra: {
        tools: [
          {
            type: "function",
            function: { name: "get_weather", parameters: { type: "object", properties: { city: {} } } },
          },
        ],
      },
    },
    {
      name: "an Anthropic tool_use / tool_result exchange",
      messages: [
        {
          role: "assistant",
          content: [{ type: "tool_use", id: "t1", name: "get_weather", input: { city: "Oslo" } }],
        },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "t1", content: "12 degrees and rain" }],
        },
      ],
    },
    {
      name: "OpenAI tool_calls",
      messages: [
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"city":"Oslo"}' } }],
        },
      ],
    },
  ])("counts $name", ({ extra = {}, messages = [] }) => {
    const without = estimateTokens(chat("weather?", { max_tokens: 1 }));
    const body = chat("weather?", { max_tokens: 1, ...extra });
    body.messages.push(...(messages as typeof body.messages));
    expect(estimateTokens(body)).toBeGreaterThan(without + 5);
  });

  it("ignores malformed fields instead of throwing", () => {
    const body = {
      model: "m",
      messages: [null, 3, { role: "user", content: { odd: true } }],
      max_tokens: -5,
    };
    expect(estimateTokens(body)).toBe(4 + 3 + DEFAULT_OUTPUT_TOKENS);
  });
});

describe("estimateTokens for Responses API requests", () => {
  const tokensOf = (text: string) => countTextTokens(text);
  const base = { model: "m", max_output_tokens: 10 };

  it("counts a string input as one message, with the instructions and the output limit", () => {
    const body = { ...base, instructions: "Be brief.", input: "hello world" };
    // instructions + input joined by a newline; one message of framing and the reply's priming.
    expect(estimateTokens(body)).toBe(FRAMING + tokensOf("Be brief.\nhello world") + 10);
  });

  it("reserves the default output for a streamed string input (not read as embeddings)", () => {
    expect(estimateTokens({ model: "m", input: "hello world", stream: true })).toBe(
      FRAMING + 2 + DEFAULT_OUTPUT_TOKENS,
    );
  });

  const call = { type: "function_call", call_id: "c1", name: "get_weather", arguments: '{"city":"Oslo"}' };
  it.each([
    {
      name: "message with input_text parts",
      item: { role: "user", content: [{ type: "input_text", text: "weather in Oslo please" }] },
    },
    {
      name: "typed message",
      item: { type: "message", role: "developer", content: "Always answer in French, briefly." },
    },
    {
      name: "assistant output_text",
      item: {
        type: "message",
        role: "assistant",
        content: [{ type: "output_text", text: "It is raining in Oslo today." }],
      },
    },
    { name: "function_call arguments", item: call },
    {
      name: "function_call_output",
      item: { type: "function_call_output", call_id: "c1", output: "12 degrees and rain all day" },
    },
    {
      name: "function_call_output as parts",
      item: {
        type: "function_call_output",
        call_id: "c1",
        output: [{ type: "input_text", text: "12 degrees and rain" }],
      },
    },
    {
      name: "custom_tool_call input",
      item: {
        type: "custom_tool_call",
        call_id: "c2",
        name: "apply_patch",
        input: "*** Begin Patch\n*** Add File: a.txt\n+hello\n*** End Patch",
      },
    },
    {
      name: "custom_tool_call_output",
      item: { type: "custom_tool_call_output", call_id: "c2", output: "Done! Applied the patch to a.txt" },
    },
    {
      name: "reasoning summary",
      item: {
        type: "reasoning",
        summary: [{ type: "summary_text", text: "The user wants the weather in Oslo." }],
      },
    },
    {
      name: "an unknown item type (Codex's additional_tools)",
      item: { type: "additional_tools", tools: [{ type: "function", name: "shell" }] },
    },
  ])("counts a $name item", ({ item }) => {
    const empty = estimateTokens({ ...base, input: [], instructions: "x" });
    const text = JSON.stringify(item);
    const got = estimateTokens({ ...base, input: [item], instructions: "x" });
    expect(got).toBeGreaterThan(empty + 5);
    // Never far above what the item's whole JSON would count.
    expect(got).toBeLessThan(empty + tokensOf(text) + 10);
  });

  it("counts an image item as an attachment and tools and text.format as their JSON", () => {
    const image = {
      role: "user",
      content: [{ type: "input_image", image_url: "data:image/png;base64,AAAA" }],
    };
    expect(estimateTokens({ ...base, input: [image] })).toBe(FRAMING + 1000 + 10);
    const tools = [{ type: "function", name: "get_weather", parameters: { type: "object", properties: {} } }];
    const format = { format: { type: "json_schema", name: "w", schema: { type: "object" } } };
    const plain = estimateTokens({ ...base, input: "hi" });
    expect(estimateTokens({ ...base, input: "hi", tools })).toBeGreaterThan(plain + 10);
    expect(estimateTokens({ ...base, input: "hi", text: format })).toBeGreaterThan(plain + 10);
  });

  it("counts a Codex-like turn close to the tokenizer's count of its text", () => {
    const instructions = "You are a coding agent. ".repeat(50);
    const log = "error: expected 2, got 3\n".repeat(20);
    const input = [
      {
        type: "message",
        role: "user",
        content: [{ type: "input_text", text: "fix the failing test in src/a.ts" }],
      },
      call,
      { type: "function_call_output", call_id: "c1", output: log },
    ];
    const text = [instructions, "fix the failing test in src/a.ts", "get_weather", call.arguments, log].join(
      "\n",
    );
    expect(estimateTokens({ ...base, instructions, input })).toBe(3 * 4 + 3 + tokensOf(text) + 10);
  });
});
