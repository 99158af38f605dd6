import { describe, expect, it } from "vitest";
import {
  anthropicClientFor,
  type Case,
  catchError,
  decode,
  type ErrorCase,
  fixtureReader,
  type Json,
  run,
  type StatusCase,
  type StreamCase,
  toSse,
} from "../../../test/sse-replay.js";
import { GatewayError } from "../../errors.js";
import {
  chatResponseToMessages,
  createChatToMessagesStream,
  messagesRequestToChat,
  openAIErrorToAnthropic,
} from "./anthropic-to-openai.js";

type StreamOpts = { model: string; messageId: string };
const fixture = fixtureReader("translate/anthropic-to-openai");

// ---------------------------------------------------------------- requests

describe("messagesRequestToChat", () => {
  it.each(fixture<Case<{ upstreamModel: string }>[]>("requests.json"))(
    "$name",
    ({ input, opts, expected }) => {
      const before = structuredClone(input);
      expect(messagesRequestToChat(input, opts)).toStrictEqual(expected);
      expect(input).toStrictEqual(before); // pure: the client's body is not mutated
    },
  );

  it.each(fixture<ErrorCase[]>("request-errors.json"))("400 for $name", ({ input, error }) => {
    const e = catchError(() => messagesRequestToChat(input, { upstreamModel: "gpt-x" }));
    expect(e).toBeInstanceOf(GatewayError);
    expect(e).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect((e as GatewayError).message).toContain(error);
  });
});

// ---------------------------------------------------------------- responses and errors

describe("chatResponseToMessages", () => {
  it.each(fixture<Case<{ model: string }>[]>("responses.json"))("$name", ({ input, opts, expected }) => {
    expect(chatResponseToMessages(input, opts)).toStrictEqual(expected);
  });
});

describe("openAIErrorToAnthropic", () => {
  it.each(fixture<StatusCase[]>("errors.json"))("$name ($status)", ({ status, input, expected }) => {
    expect(openAIErrorToAnthropic(status, input)).toStrictEqual(expected);
  });
});

// ---------------------------------------------------------------- streams

const streamCases = fixture<StreamCase<StreamOpts>[]>("streams.json");
const streamCase = (prefix: string): StreamCase<StreamOpts> => {
  const c = streamCases.find((s) => s.name.startsWith(prefix));
  if (!c) throw new Error(`no stream fixture "${prefix}"`);
  return c;
};

const EVENT_ORDER =
  /^message_start (content_block_start (content_block_delta )*content_block_stop )*message_delta message_stop $/;

describe("createChatToMessagesStream", () => {
  it.each(streamCases)("$name", ({ opts, frames, expected }) => {
    const out = run(createChatToMessagesStream(opts), frames).map(decode);
    expect(out).toStrictEqual(expected);
    // Every Anthropic frame names its event, and the name matches the payload's type.
    for (const f of out) expect(f.event).toBe((f.data as Json).type);
  });

  it.each(streamCases.filter((c) => !c.name.includes("error")))(
    "event grammar and block indices are valid: $name",
    ({ opts, frames }) => {
      const out = run(createChatToMessagesStream(opts), frames).map((f) => decode(f).data as Json);
      expect(`${out.map((d) => d.type).join(" ")} `).toMatch(EVENT_ORDER);
      const starts = out.filter((d) => d.type === "content_block_start").map((d) => d.index);
      expect(starts).toEqual(starts.map((_, i) => i));
    },
  );

  it("emits nothing after message_stop", () => {
    const t = createChatToMessagesStream({ model: "claude", messageId: "msg_x" });
    for (const f of streamCase("text stream").frames) t.push(toSse(f));
    expect(t.push({ data: "[DONE]" })).toEqual([]);
    expect(t.end()).toEqual([]);
  });

  it("the Anthropic SDK accumulates the translated text stream", async () => {
    const c = streamCase("text stream");
    const frames = run(createChatToMessagesStream(c.opts), c.frames);
    const stream = anthropicClientFor(frames).messages.stream({
      model: "claude",
      max_tokens: 1024,
      messages: [{ role: "user", content: "Hi" }],
    });
    const deltas: string[] = [];
    stream.on("text", (delta) => deltas.push(delta));
    const message = await stream.finalMessage();
    expect(deltas.join("")).toBe("Hello! How can I help you today?");
    expect(message).toMatchObject({
      id: "msg_gw_01TextStream",
      role: "assistant",
      content: [{ type: "text", text: "Hello! How can I help you today?" }],
      stop_reason: "end_turn",
      usage: { input_tokens: 176, output_tokens: 9, cache_read_input_tokens: 1024 },
    });
  });

  it("the Anthropic SDK accumulates the translated tool-call stream", async () => {
    const c = streamCase("two parallel tool calls");
    const frames = run(createChatToMessagesStream(c.opts), c.frames);
    const message = await anthropicClientFor(frames)
      .messages.stream({
        model: "claude",
        max_tokens: 1024,
        messages: [{ role: "user", content: "Weather?" }],
      })
      .finalMessage();
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content).toMatchObject([
      {
        type: "tool_use",
        id: "call_Kq3ZP2jPU4dRpv7D0bU5sGq1",
        name: "get_weather",
        input: { location: "Paris, France" },
      },
      {
        type: "tool_use",
        id: "call_8tfTXC9e2w1P6QKkXf3iWmXr",
        name: "get_weather",
        input: { location: "Tokyo, Japan" },
      },
    ]);
    expect(message.usage).toMatchObject({ input_tokens: 82, output_tokens: 47 });
  });

  it("the Anthropic SDK accumulates text followed by a tool call", async () => {
    const c = streamCase("text then a tool call");
    const frames = run(createChatToMessagesStream(c.opts), c.frames);
    const message = await anthropicClientFor(frames)
      .messages.stream({ model: "claude", max_tokens: 1024, messages: [{ role: "user", content: "Time?" }] })
      .finalMessage();
    expect(message.content).toMatchObject([
      { type: "text", text: "Let me check." },
      { type: "tool_use", id: "call_local_1", name: "get_time", input: {} },
    ]);
  });

  it("the Anthropic SDK raises an APIError for a translated error frame", async () => {
    const c = streamCase("error frame");
    const frames = run(createChatToMessagesStream(c.opts), c.frames);
    const stream = anthropicClientFor(frames).messages.stream({
      model: "claude",
      max_tokens: 1024,
      messages: [{ role: "user", content: "Hi" }],
    });
    await expect(stream.finalMessage()).rejects.toMatchObject({
      error: { type: "error", error: { type: "api_error" } },
    });
  });
});
