import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";

const KEY = "sk-test-good";
let fake: FakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: [KEY], chunks: 4 });
  openai = new OpenAI({ apiKey: KEY, baseURL: fake.openaiBaseUrl, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: KEY, baseURL: fake.anthropicBaseUrl, maxRetries: 0 });
});
afterAll(async () => {
  await fake.close();
});
beforeEach(() => {
  fake.reset();
});

async function until(cond: () => boolean, ms = 1000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting for condition");
    await new Promise((r) => setTimeout(r, 5));
  }
}

const weatherTool = {
  type: "function" as const,
  function: {
    name: "lookup",
    description: "Look something up",
    parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  },
};

describe("OpenAI chat completions", () => {
  it("non-stream returns a full chat.completion", async () => {
    const { data: res, response } = await openai.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: [
          { role: "system", content: "be brief" },
          { role: "user", content: "hello there world" },
        ],
      })
      .withResponse();
    expect(res.object).toBe("chat.completion");
    expect(res.id).toMatch(/^chatcmpl-/);
    expect(res.model).toBe("gpt-4o-mini");
    expect(res.choices[0]?.message).toMatchObject({
      role: "assistant",
      content: "Echo: hello there world",
      refusal: null,
    });
    expect(res.choices[0]?.finish_reason).toBe("stop");
    expect(res.choices[0]?.logprobs).toBeNull();
    expect(res.usage).toMatchObject({
      prompt_tokens: 2 + 3 + 3 + 3,
      completion_tokens: 4,
      total_tokens: 15,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(res.system_fingerprint).toMatch(/^fp_/);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-ratelimit-limit-requests")).toBe("10000");
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      method: "POST",
      path: "/v1/chat/completions",
      body: { model: "gpt-4o-mini" },
    });
    expect(fake.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it("honours max_tokens with finish_reason length", async () => {
    const res = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      max_completion_tokens: 2,
      messages: [{ role: "user", content: "one two three four" }],
    });
    expect(res.choices[0]?.message.content).toBe("Echo: one");
    expect(res.choices[0]?.finish_reason).toBe("length");
    expect(res.usage?.completion_tokens).toBe(2);
  });

  it("streams without include_usage", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "stream me please" }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks).toHaveLength(1 + 4 + 1);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: "assistant", content: "" });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Echo: stream me please");
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe("stop");
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && !("usage" in c))).toBe(true);
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it("streams with include_usage: usage null on every chunk, then a usage chunk with no choices", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "count my tokens" }],
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 4, total_tokens: 10 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Echo: count my tokens");
  });

  it("streams through the SDK helper with finalChatCompletion", async () => {
    const runner = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "helper" }],
    });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("Echo: helper");
  });

  it("answers with a tool call (non-stream) and then echoes the tool result", async () => {
    const res = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      tools: [weatherTool],
      messages: [{ role: "user", content: "weather in Paris" }],
    });
    const choice = res.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    const call = choice?.message.tool_calls?.[0];
    expect(call?.id).toMatch(/^call_/);
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(call.function.name).toBe("lookup");
    expect(JSON.parse(call.function.arguments)).toEqual({ query: "weather in Paris" });

    const again = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      tools: [weatherTool],
      messages: [
        { role: "user", content: "weather in Paris" },
        { role: "assistant", content: null, tool_calls: [call] },
        { role: "tool", tool_call_id: call.id, content: "sunny 21C" },
      ],
    });
    expect(again.choices[0]?.message.content).toBe("Echo: sunny 21C");
    expect(again.choices[0]?.finish_reason).toBe("stop");
  });

  it("streams a tool call that the SDK accumulates", async () => {
    const runner = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      tools: [weatherTool],
      messages: [{ role: "user", content: "find cats" }],
    });
    const final = await runner.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(final.choices[0]?.finish_reason).toBe("tool_calls");
    if (call?.type !== "function") throw new Error("expected a function tool call");
    expect(call.function.name).toBe("lookup");
    expect(JSON.parse(call.function.arguments)).toEqual({ query: "find cats" });
  });

  it("rejects a wrong key with AuthenticationError", async () => {
    const bad = new OpenAI({ apiKey: "sk-wrong-key-123", baseURL: fake.openaiBaseUrl, maxRetries: 0 });
    const err = await bad.models.list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("invalid_api_key");
  });

  it("turns scripted 429 and 500 into typed errors", async () => {
    fake.script({ status: 429, message: "slow down", headers: { "retry-after": "1" } }, { status: 500 });
    const params = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "hi" }] };
    const e1 = await openai.chat.completions.create(params).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.RateLimitError);
    const rl = e1 as InstanceType<typeof OpenAI.RateLimitError>;
    expect(rl.message).toContain("slow down");
    expect(rl.type).toBe("requests");
    expect(rl.code).toBe("rate_limit_exceeded");
    expect(rl.headers.get("retry-after")).toBe("1");
    const e2 = await openai.chat.completions.create(params).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(OpenAI.InternalServerError);
    const ok = await openai.chat.completions.create(params);
    expect(ok.choices[0]?.message.content).toBe("Echo: hi");
  });

  it("makes the SDK stream throw on failMidStream", async () => {
    fake.script({ failMidStream: true, streamChunks: 6 });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: [{ role: "user", content: "break me" }],
    });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const c of stream) got.push(c.choices[0]?.delta.content ?? "");
      })(),
    ).rejects.toThrow();
    expect(got.length).toBe(1 + 3);
    expect(fake.clientAborts).toBe(0);
  });
});

describe("OpenAI embeddings and models", () => {
  it("base64 embeddings decoded by the SDK equal the float ones", async () => {
    const input = ["alpha", "beta gamma"];
    const decoded = await openai.embeddings.create({ model: "text-embedding-3-small", input });
    expect(fake.requests[0]?.body.encoding_format).toBe("base64");
    const floats = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input,
      encoding_format: "float",
    });
    expect(decoded.object).toBe("list");
    expect(decoded.data).toHaveLength(2);
    expect(decoded.data[1]?.index).toBe(1);
    expect(decoded.data[0]?.embedding).toHaveLength(8);
    expect(decoded.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
    expect(floats.data[0]?.embedding).not.toEqual(floats.data[1]?.embedding);
    expect(decoded.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
  });

  it("lists models", async () => {
    const ids: string[] = [];
    for await (const m of openai.models.list()) {
      expect(m.object).toBe("model");
      ids.push(m.id);
    }
    expect(ids).toContain("gpt-4o-mini");
  });
});

describe("Anthropic messages", () => {
  it("non-stream returns a Message", async () => {
    const { data: msg, response } = await anthropic.messages
      .create({
        model: "claude-sonnet-4-6",
        max_tokens: 64,
        system: "be nice",
        messages: [{ role: "user", content: [{ type: "text", text: "hi claude" }] }],
      })
      .withResponse();
    expect(msg).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-6",
      content: [{ type: "text", text: "Echo: hi claude" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: {
        input_tokens: 2 + 3 + 2 + 3,
        output_tokens: 3,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
        service_tier: "standard",
      },
    });
    expect(msg.id).toMatch(/^msg_/);
    expect(response.headers.get("request-id")).toMatch(/^req_/);
    expect(response.headers.get("anthropic-ratelimit-requests-limit")).toBe("4000");
    // This SDK version sends the key as `Authorization: Bearer`; older ones used `x-api-key`. Both are accepted.
    const h = fake.requests[0]?.headers;
    expect(h?.["x-api-key"] === KEY || h?.authorization === `Bearer ${KEY}`).toBe(true);
    expect(fake.requests[0]?.headers["anthropic-version"]).toBeDefined();
  });

  it("stream() with finalMessage()", async () => {
    const stream = anthropic.messages.stream({
      model: "claude-sonnet-4-6",
      max_tokens: 64,
      messages: [{ role: "user", content: "tell me a story" }],
    });
    const deltas: string[] = [];
    stream.on("text", (t) => deltas.push(t));
    const msg = await stream.finalMessage();
    expect(deltas).toHaveLength(4);
    expect(deltas.join("")).toBe("Echo: tell me a story");
    expect(msg.content).toEqual([{ type: "text", text: "Echo: tell me a story" }]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.usage.output_tokens).toBe(5);
    expect(msg.usage.input_tokens).toBe(7);
  });

  it("raw stream has the exact event sequence", async () => {
    const stream = await anthropic.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 64,
      stream: true,
      messages: [{ role: "user", content: "abc" }],
    });
    const types: string[] = [];
    for await (const ev of stream) types.push(ev.type);
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });

  it("max_tokens truncates with stop_reason max_tokens", async () => {
    const msg = await anthropic.messages.create({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 2,
      messages: [{ role: "user", content: "a b c d" }],
    });
    expect(msg.content).toEqual([{ type: "text", text: "Echo: a" }]);
    expect(msg.stop_reason).toBe("max_tokens");
  });

  it("answers with tool_use, then echoes a tool_result, and streams tool input", async () => {
    const tools = [
      { name: "lookup", description: "look up", input_schema: { type: "object" as const, properties: {} } },
    ];
    const msg = await anthropic.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 64,
      tools,
      messages: [{ role: "user", content: "search dogs" }],
    });
    expect(msg.stop_reason).toBe("tool_use");
    const block = msg.content[0];
    if (block?.type !== "tool_use") throw new Error("expected tool_use");
    expect(block.id).toMatch(/^toolu_/);
    expect(block.name).toBe("lookup");
    expect(block.input).toEqual({ query: "search dogs" });

    const next = await anthropic.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 64,
      tools,
      messages: [
        { role: "user", content: "search dogs" },
        { role: "assistant", content: [block] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: block.id, content: "3 dogs found" }] },
      ],
    });
    expect(next.content).toEqual([{ type: "text", text: "Echo: 3 dogs found" }]);
    expect(next.stop_reason).toBe("end_turn");

    const streamed = await anthropic.messages
      .stream({
        model: "claude-sonnet-4-6",
        max_tokens: 64,
        tools,
        messages: [{ role: "user", content: "x y" }],
      })
      .finalMessage();
    expect(streamed.stop_reason).toBe("tool_use");
    expect(streamed.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "x y" } });
  });

  it("calls a scripted tool with the scripted input, only for a request that declares it", async () => {
    fake.script({ toolCall: { name: "write", input: { path: "a.txt" } } });
    const tools = [{ name: "write", input_schema: { type: "object" as const } }];
    const without = await anthropic.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 50,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(without.content[0]).toMatchObject({ type: "text", text: "Echo: hi" });
    const res = await anthropic.messages.create({
      model: "claude-sonnet-4-6",
      max_tokens: 50,
      tools: [{ name: "first", input_schema: { type: "object" } }, ...tools],
      messages: [{ role: "user", content: "hi" }],
    });
    expect(res.content[0]).toMatchObject({ type: "tool_use", name: "write", input: { path: "a.txt" } });
  });

  it("with thinking on, starts with a signed thinking block and refuses a tool turn sent back without it", async () => {
    const thinking = { type: "enabled" as const, budget_tokens: 1024 };
    const tools = [{ name: "lookup", input_schema: { type: "object" as const } }];
    const ask = { model: "claude-sonnet-4-6", max_tokens: 2048, thinking, tools };
    const first = await anthropic.messages
      .stream({ ...ask, messages: [{ role: "user", content: "x y" }] })
      .finalMessage();
    expect(first.content.map((b) => b.type)).toEqual(["thinking", "tool_use"]);
    const [thought, call] = first.content as [Anthropic.ThinkingBlock, Anthropic.ToolUseBlock];
    const result = { type: "tool_result" as const, tool_use_id: call.id, content: "done" };
    const turn = (content: Anthropic.ContentBlockParam[]) => ({
      ...ask,
      messages: [
        { role: "user" as const, content: "x y" },
        { role: "assistant" as const, content },
        { role: "user" as const, content: [result] },
      ],
    });
    const next = await anthropic.messages.create(turn([thought, call]));
    expect(next.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    for (const content of [[call], [{ ...thought, thinking: "changed" }, call]]) {
      const err = await anthropic.messages.create(turn(content)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    }
  });

  it("lists models in Anthropic shape", async () => {
    const page = await anthropic.models.list();
    expect(page.data[0]).toMatchObject({ type: "model", id: "claude-sonnet-4-6" });
    expect(page.has_more).toBe(false);
    expect(page.first_id).toBe("claude-sonnet-4-6");
  });

  it("requires anthropic-version and max_tokens", async () => {
    const noVersion = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": KEY, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 5, messages: [] }),
    });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    const noMax = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [] }),
    });
    expect(noMax.status).toBe(400);
    expect(((await noMax.json()) as { error: { message: string } }).error.message).toContain("max_tokens");
    const badJson = await fetch(`${fake.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: "{nope",
    });
    expect(badJson.status).toBe(400);
    expect(await badJson.json()).toMatchObject({ error: { type: "invalid_request_error", param: null } });
    const unknown = await fetch(`${fake.url}/v1/nothing`);
    expect(unknown.status).toBe(404);
  });

  it("wrong key, scripted 429/500/529 become typed errors", async () => {
    const bad = new Anthropic({ apiKey: "nope", baseURL: fake.anthropicBaseUrl, maxRetries: 0 });
    const params = {
      model: "claude-haiku-4-5-20251001",
      max_tokens: 8,
      messages: [{ role: "user" as const, content: "x" }],
    };
    await expect(bad.messages.create(params)).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    fake.script(
      { match: "/v1/chat", status: 500 }, // not consumed by /v1/messages
      { match: "/v1/messages", status: 429 },
      { match: "/v1/messages", status: 500, message: "boom" },
      { match: "/v1/messages", status: 529 },
    );
    const e1 = await anthropic.messages.create(params).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(Anthropic.RateLimitError);
    expect((e1 as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error" },
    });
    const e2 = await anthropic.messages.create(params).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(Anthropic.InternalServerError);
    expect((e2 as Error).message).toContain("boom");
    const e3 = await anthropic.messages.create(params).catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(Anthropic.InternalServerError);
    expect((e3 as InstanceType<typeof Anthropic.InternalServerError>).status).toBe(529);
    const openaiErr = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(openaiErr).toBeInstanceOf(OpenAI.InternalServerError);
  });

  it("failMidStream makes messages.stream() throw", async () => {
    fake.script({ failMidStream: true });
    const stream = anthropic.messages.stream({
      model: "claude-haiku-4-5-20251001",
      max_tokens: 64,
      messages: [{ role: "user", content: "break" }],
    });
    await expect(stream.finalMessage()).rejects.toThrow();
  });
});

describe("concurrency, latency and aborts", () => {
  it("hang + AbortController counts a client abort and frees the slot", async () => {
    fake.script({ hang: true });
    const ac = new AbortController();
    const p = openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x" }] }, { signal: ac.signal })
      .catch((e: unknown) => e);
    await until(() => fake.inFlight === 1);
    ac.abort();
    expect(await p).toBeInstanceOf(OpenAI.APIUserAbortError);
    await until(() => fake.clientAborts === 1 && fake.inFlight === 0);
  });

  it("tracks maxConcurrent and applies delayMs", async () => {
    fake.script({ delayMs: 60 }, { delayMs: 60 }, { delayMs: 60 });
    const t0 = Date.now();
    await Promise.all(
      [1, 2, 3].map((i) =>
        openai.chat.completions.create({
          model: "gpt-4o-mini",
          messages: [{ role: "user", content: `n${i}` }],
        }),
      ),
    );
    expect(Date.now() - t0).toBeGreaterThanOrEqual(55);
    expect(fake.maxConcurrent).toBe(3);
    expect(fake.inFlight).toBe(0);
    expect(fake.requests).toHaveLength(3);
  });

  it("scripted body is sent verbatim", async () => {
    fake.script({
      status: 200,
      body: { object: "list", data: [{ id: "only", object: "model", created: 1, owned_by: "me" }] },
    });
    const page = await openai.models.list();
    expect(page.data.map((m) => m.id)).toEqual(["only"]);
  });

  it("close() does not wait for hanging requests", async () => {
    const other = await startFakeUpstream({ chunkDelayMs: 5 });
    other.script({ hang: true });
    const p = fetch(`${other.url}/v1/models`).catch((e: unknown) => e);
    await until(() => other.inFlight === 1);
    const t0 = Date.now();
    await other.close();
    expect(Date.now() - t0).toBeLessThan(500);
    expect(await p).toBeInstanceOf(Error);
  });
});

describe("raw wire format", () => {
  it("OpenAI SSE frames are `data: {json}\\n\\n` ending with [DONE]", async () => {
    const res = await fetch(`${fake.openaiBaseUrl}/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "m", stream: true, messages: [{ role: "user", content: "hey" }] }),
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const text = await res.text();
    const frames = text.split("\n\n");
    expect(frames.at(-1)).toBe("");
    expect(frames.at(-2)).toBe("data: [DONE]");
    expect(frames.slice(0, -2).every((f) => f.startsWith("data: {") && !f.includes("\n"))).toBe(true);
  });

  it("Anthropic SSE frames carry `event:` lines, including ping", async () => {
    const res = await fetch(`${fake.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({
        model: "m",
        max_tokens: 9,
        stream: true,
        messages: [{ role: "user", content: "hey" }],
      }),
    });
    const frames = (await res.text()).split("\n\n").filter(Boolean);
    const events = frames.map((f) => /^event: (\w+)\ndata: \{/.exec(f)?.[1]);
    expect(events.slice(0, 3)).toEqual(["message_start", "content_block_start", "ping"]);
    expect(events.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const delta = JSON.parse(frames.at(-2)?.split("data: ")[1] ?? "{}");
    expect(delta).toMatchObject({
      delta: { stop_reason: "end_turn", stop_sequence: null },
      usage: { output_tokens: 2 },
    });
  });

  it("CLI entry prints its URL and exits on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/fake-upstream-main.ts", "--port", "0", "--chunks", "3"],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once("line", resolve);
        child.once("exit", () => reject(new Error("exited early")));
      });
      const { url } = JSON.parse(line) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const res = await fetch(`${url}/v1/models`);
      expect(res.status).toBe(200);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});
