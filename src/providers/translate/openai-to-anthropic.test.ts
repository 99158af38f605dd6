import { describe, expect, it } from "vitest";
import {
  type Case,
  catchError,
  decode,
  type ErrorCase,
  type Frame,
  fixtureReader,
  type Json,
  openAIClientFor,
  run,
  type StatusCase,
  type StreamCase,
  toSse,
} from "../../../test/sse-replay.js";
import { GatewayError } from "../../errors.js";
import { createChatToMessagesStream } from "./anthropic-to-openai.js";
import {
  anthropicErrorToOpenAI,
  chatRequestToMessages,
  createMessagesToChatStream,
  messagesResponseToChat,
} from "./openai-to-anthropic.js";

const fixture = fixtureReader("translate/openai-to-anthropic");

// ---------------------------------------------------------------- requests

type RequestOpts = { upstreamModel: string; defaultMaxTokens: number };

describe("chatRequestToMessages", () => {
  const cases = fixture<Case<RequestOpts>[]>("requests.json");

  it.each(cases)("$name", ({ input, opts, expected }) => {
    const before = structuredClone(input);
    expect(chatRequestToMessages(input, opts)).toStrictEqual(expected);
    expect(input).toStrictEqual(before); // pure: the client's body is not mutated
  });

  it.each(fixture<ErrorCase[]>("request-errors.json"))("400 for $name", ({ input, error }) => {
    const e = catchError(() =>
      chatRequestToMessages(input, { upstreamModel: "claude-x", defaultMaxTokens: 1024 }),
    );
    expect(e).toBeInstanceOf(GatewayError);
    expect(e).toMatchObject({ status: 400, type: "invalid_request_error" });
    expect((e as GatewayError).message).toContain(error);
  });
});

// ---------------------------------------------------------------- responses and errors

describe("messagesResponseToChat", () => {
  it.each(fixture<Case<{ model: string; created: number }>[]>("responses.json"))(
    "$name",
    ({ input, opts, expected }) => {
      expect(messagesResponseToChat(input, opts)).toStrictEqual(expected);
    },
  );
});

describe("anthropicErrorToOpenAI", () => {
  it.each(fixture<StatusCase[]>("errors.json"))("$name ($status)", ({ status, input, expected }) => {
    expect(anthropicErrorToOpenAI(status, input)).toStrictEqual(expected);
  });
});

// ---------------------------------------------------------------- streams

type StreamOpts = { model: string; created: number; includeUsage: boolean };
const streamCases = fixture<StreamCase<StreamOpts>[]>("streams.json");
const streamCase = (prefix: string): StreamCase<StreamOpts> => {
  const c = streamCases.find((s) => s.name.startsWith(prefix));
  if (!c) throw new Error(`no stream fixture "${prefix}"`);
  return c;
};

describe("createMessagesToChatStream", () => {
  it.each(streamCases)("$name", ({ opts, frames, expected }) => {
    const out = run(createMessagesToChatStream(opts), frames);
    expect(out.map(decode)).toStrictEqual(expected);
    // OpenAI frames carry no `event:` line.
    expect(out.every((f) => f.startsWith("data: "))).toBe(true);
  });

  it("emits nothing after [DONE] and nothing more from end()", () => {
    const t = createMessagesToChatStream({ model: "gpt-4o", created: 1, includeUsage: false });
    const frames = streamCase("text stream").frames;
    frames.forEach((f) => {
      t.push(toSse(f));
    });
    expect(t.push(toSse({ event: "ping", data: { type: "ping" } }))).toEqual([]);
    expect(t.end()).toEqual([]);
  });

  it("a stream that never started still ends with [DONE]", () => {
    expect(createMessagesToChatStream({ model: "gpt-4o", created: 1, includeUsage: true }).end()).toEqual([
      "data: [DONE]\n\n",
    ]);
  });

  it("the OpenAI SDK accumulates the translated text stream", async () => {
    const c = streamCase("text stream");
    const frames = run(createMessagesToChatStream(c.opts), c.frames);
    const stream = openAIClientFor(frames).chat.completions.stream({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hi" }],
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    stream.on("content", (delta) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    expect(deltas.join("")).toBe("Hello! How can I help you today?");
    expect(final.id).toBe("chatcmpl-msg_01Stream7xXB2a3LZ");
    expect(final.choices[0]?.message.content).toBe("Hello! How can I help you today?");
    expect(final.choices[0]?.finish_reason).toBe("stop");
    expect(final.usage).toMatchObject({ prompt_tokens: 1825, completion_tokens: 12, total_tokens: 1837 });
    expect(final.usage?.prompt_tokens_details?.cached_tokens).toBe(1800);
  });

  it("the OpenAI SDK accumulates the translated tool-call stream", async () => {
    const c = streamCase("text then two tool calls");
    const frames = run(createMessagesToChatStream(c.opts), c.frames);
    const final = await openAIClientFor(frames)
      .chat.completions.stream({ model: "gpt-4o", messages: [{ role: "user", content: "Weather?" }] })
      .finalChatCompletion();
    const message = final.choices[0]?.message;
    expect(message?.content).toBe("Checking both cities.");
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    expect(
      message?.tool_calls?.map((tc) =>
        tc.type === "function" ? [tc.id, tc.function.name, tc.function.arguments] : [],
      ),
    ).toEqual([
      ["toolu_01T1x1fJ34qAmk2tNTrN7Up6", "get_weather", '{"location": "Paris, France"}'],
      ["toolu_01Qx8AVtmDgBs9A2c3pTFiLz", "get_weather", '{"location": "Tokyo, Japan"}'],
    ]);
  });

  it("the OpenAI SDK raises an APIError for a translated error event", async () => {
    const c = streamCase("overloaded error");
    const frames = run(createMessagesToChatStream(c.opts), c.frames);
    const stream = openAIClientFor(frames).chat.completions.stream({
      model: "gpt-4o",
      messages: [{ role: "user", content: "Hi" }],
    });
    await expect(stream.finalChatCompletion()).rejects.toMatchObject({
      error: { type: "server_error", code: "overloaded" },
    });
  });

  it.each(streamCases.filter((c) => !c.name.includes("error")))(
    "round trip: $name survives Anthropic → OpenAI → Anthropic",
    ({ opts, frames }) => {
      const openAIFrames = run(createMessagesToChatStream({ ...opts, includeUsage: true }), frames);
      const back = createChatToMessagesStream({ model: "claude", messageId: "msg_rt" });
      const events = [...openAIFrames.flatMap((f) => back.push(toSse(decode(f)))), ...back.end()].map(decode);
      const text = (fs: Frame[]): string =>
        fs
          .map((f) => f.data as Json)
          .filter((d) => d.type === "content_block_delta" && (d.delta as Json).type === "text_delta")
          .map((d) => (d.delta as Json).text)
          .join("");
      const toolJson = (fs: Frame[]): string =>
        fs
          .map((f) => f.data as Json)
          .filter((d) => d.type === "content_block_delta" && (d.delta as Json).type === "input_json_delta")
          .map((d) => (d.delta as Json).partial_json)
          .join("");
      expect(text(events)).toBe(text(frames));
      expect(toolJson(events).replaceAll("{}", "")).toBe(toolJson(frames));
    },
  );
});
