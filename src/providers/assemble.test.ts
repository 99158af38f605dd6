import { describe, expect, it } from "vitest";
import {
  anthropicClientFor,
  type Frame,
  fixtureReader,
  type Json,
  openAIClientFor,
} from "../../test/sse-replay.js";
import { assembleChat, assembleMessage, chatToFrames, messageToFrames } from "./assemble.js";
import { SseParser } from "./sse.js";

type Case = { name: string; frames: Frame[]; expected: Json | null };

const fixture = fixtureReader("assemble");
const chatCases = fixture<Case[]>("chat-streams.json");
const messageCases = fixture<Case[]>("message-streams.json");
const complete = (cases: Case[]) => cases.filter((c): c is Case & { expected: Json } => c.expected !== null);

/** Recorded frames as the bytes an upstream sends (data stored as JSON for readability). */
const encode = (frames: Frame[]): string =>
  frames
    .map((f) => {
      const data = typeof f.data === "string" ? f.data : JSON.stringify(f.data);
      return `${f.event === undefined ? "" : `event: ${f.event}\n`}data: ${data}\n\n`;
    })
    .join("");

/** Bytes → frames through the gateway's own incremental parser, fed in odd-sized slices. */
const parse = (text: string) => {
  const parser = new SseParser();
  const out = [];
  for (let i = 0; i < text.length; i += 7) out.push(...parser.push(text.slice(i, i + 7)));
  return [...out, ...parser.flush()];
};

describe("assembleChat", () => {
  it.each(chatCases)("$name", ({ frames, expected }) => {
    expect(assembleChat(parse(encode(frames)))).toStrictEqual(expected);
  });
});

describe("assembleMessage", () => {
  it.each(messageCases)("$name", ({ frames, expected }) => {
    expect(assembleMessage(parse(encode(frames)))).toStrictEqual(expected);
  });
});

describe("chatToFrames", () => {
  it.each(complete(chatCases))("round trip: $name", ({ expected }) => {
    expect(assembleChat(parse(chatToFrames(expected, { includeUsage: true }).join("")))).toStrictEqual(
      expected,
    );
    const { usage: _usage, ...withoutUsage } = expected;
    const frames = chatToFrames(expected, { includeUsage: false, chunks: 2 });
    expect(frames.join("")).not.toContain('"usage"');
    expect(assembleChat(parse(frames.join("")))).toStrictEqual(withoutUsage);
  });

  it("splits content into `chunks` pieces, never inside a code point, and ends with [DONE]", () => {
    const completion = complete(chatCases)[0]!.expected;
    const choice = (completion.choices as Json[])[0]!;
    const text = "Grüße 👋🏽 from the cache";
    const frames = chatToFrames(
      { ...completion, choices: [{ ...choice, message: { role: "assistant", content: text } }] },
      { includeUsage: false, chunks: 5 },
    );
    const contents = parse(frames.join(""))
      .filter((f) => f.data !== "[DONE]")
      .map((f) => (JSON.parse(f.data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta)
      .map((d) => d?.content)
      .filter((c) => c);
    expect(contents).toHaveLength(5);
    expect(contents.join("")).toBe(text);
    expect(contents.every((c) => !/[\uD800-\uDBFF]$/.test(c ?? ""))).toBe(true);
    expect(frames.at(-1)).toBe("data: [DONE]\n\n");
  });

  it("the OpenAI SDK's `for await` and finalChatCompletion() read a replayed text answer", async () => {
    const stored = complete(chatCases).find((c) => c.name.includes("include_usage"))!.expected;
    const frames = chatToFrames(stored, { includeUsage: true });
    const chunks = await openAIClientFor(frames).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const chunk of chunks) {
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe("Hello! How can I help you today?");
    expect(usage).toStrictEqual(stored.usage);

    const final = await openAIClientFor(frames)
      .chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Hi" }] })
      .finalChatCompletion();
    expect(final).toMatchObject(stored);
  });

  it("the OpenAI SDK's finalChatCompletion() rebuilds replayed tool calls", async () => {
    const stored = complete(chatCases).find((c) => c.name.includes("tool calls"))!.expected;
    const final = await openAIClientFor(chatToFrames(stored, { includeUsage: false, chunks: 3 }))
      .chat.completions.stream({ model: "gpt-4o-mini", messages: [{ role: "user", content: "Weather?" }] })
      .finalChatCompletion();
    const { usage: _usage, ...rest } = stored;
    expect(final).toMatchObject(rest);
    expect(final.usage).toBeUndefined();
    expect(final.choices[0]?.message.tool_calls).toStrictEqual(
      (stored.choices as { message: { tool_calls: unknown } }[])[0]?.message.tool_calls,
    );
  });
});

describe("messageToFrames", () => {
  it.each(complete(messageCases))("round trip: $name", ({ expected }) => {
    const frames = messageToFrames(expected, { chunks: 3 });
    expect(assembleMessage(parse(frames.join("")))).toStrictEqual(expected);
    const events = parse(frames.join("")).map((f) => f.event);
    expect(events[0]).toBe("message_start");
    expect(events.slice(-2)).toEqual(["message_delta", "message_stop"]);
    const start = JSON.parse(parse(frames[0]!)[0]!.data) as { message: Json };
    expect(start.message).toMatchObject({ content: [], stop_reason: null, stop_sequence: null });
  });

  it("the Anthropic SDK's messages.stream().finalMessage() rebuilds every replayed answer", async () => {
    for (const { expected } of complete(messageCases)) {
      const final = await anthropicClientFor(messageToFrames(expected))
        .messages.stream({ model: "claude", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] })
        .finalMessage();
      const { parsed_output, ...message } = JSON.parse(JSON.stringify(final)) as Json;
      expect(parsed_output).toBeNull(); // the SDK's own addition
      expect(message).toStrictEqual(expected);
    }
  });

  it("keeps newer message fields (stop_details, container) through a replay and the SDK", async () => {
    const stored = {
      ...complete(messageCases)[0]!.expected,
      stop_details: null,
      container: { id: "container_011", expires_at: "2026-11-01T13:00:00Z" },
    };
    expect(assembleMessage(parse(messageToFrames(stored).join("")))).toStrictEqual(stored);
    const final = await anthropicClientFor(messageToFrames(stored))
      .messages.stream({ model: "claude", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] })
      .finalMessage();
    expect(final).toMatchObject(stored);
  });

  it("refuses to assemble a stream with a delta type it cannot fold", () => {
    const frames = parse(messageToFrames(complete(messageCases)[0]!.expected).join(""));
    const odd = {
      raw: "",
      event: "content_block_delta",
      data: '{"type":"content_block_delta","index":0,"delta":{"type":"future_delta","x":1}}',
    };
    expect(assembleMessage([...frames.slice(0, 2), odd, ...frames.slice(2)])).toBeNull();
  });

  it("the Anthropic SDK's `for await` over create({stream: true}) sees the text deltas", async () => {
    const stored = complete(messageCases)[0]!.expected;
    const events = await anthropicClientFor(messageToFrames(stored, { chunks: 6 })).messages.create({
      model: "claude",
      max_tokens: 100,
      messages: [{ role: "user", content: "Hi" }],
      stream: true,
    });
    let text = "";
    let deltas = 0;
    for await (const ev of events) {
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") {
        text += ev.delta.text;
        deltas++;
      }
    }
    expect(text).toBe("Hello! How can I help you today?");
    expect(deltas).toBe(6);
  });
});
