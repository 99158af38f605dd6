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
