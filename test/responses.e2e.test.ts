/**
 * `POST /v1/responses` end to end through the official `openai` SDK: passed through to an `openai`
 * provider, translated to Anthropic Messages and to a chat-only `openai-compatible` server, streamed
 * and not, with a function-tool loop, one usage row per request.
 */
import http from "node:http";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: ["sk-up-openai", "sk-up-anthropic", "sk-up-local"] });
  gw = await startTestGateway({
    config: {
      providers: {
        openai: { base_url: fake.openaiBaseUrl },
        anthropic: { base_url: fake.anthropicBaseUrl },
        local: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
      },
      retry: { max_attempts: 1 },
    },
    env: {
      OPENAI_API_KEY: "sk-up-openai",
      ANTHROPIC_API_KEY: "sk-up-anthropic",
      LOCAL_API_KEY: "sk-up-local",
    },
  });
  client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  gw.db.exec("DELETE FROM usage");
});

const kinds = [
  { kind: "openai pass-through", model: "openai/gpt-4.1-mini", upstreamPath: "/v1/responses" },
  { kind: "anthropic translated", model: "anthropic/claude-haiku-4-5", upstreamPath: "/v1/messages" },
  { kind: "chat-only translated", model: "local/llama3.2", upstreamPath: "/v1/chat/completions" },
] as const;

const weatherTool = {
  type: "function" as const,
  name: "get_weather",
  description: "Weather for a city",
  parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  strict: false,
};

describe.each(kinds)("responses.create to $kind", ({ model, upstreamPath }) => {
  it("answers a plain prompt with text, usage and one usage row", async () => {
    const res = await client.responses.create({ model, input: "hello there", instructions: "Be brief." });
    expect(res.object).toBe("response");
    expect(res.status).toBe("completed");
    expect(res.output_text).toBe("Echo: hello there");
    expect(res.usage?.input_tokens).toBeGreaterThan(0);
    expect(res.usage?.total_tokens).toBe((res.usage?.input_tokens ?? 0) + (res.usage?.output_tokens ?? 0));
    expect(fake.requests.at(-1)?.path).toBe(upstreamPath);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ route: "responses", status: 200, input_tokens: res.usage?.input_tokens });
  });

  it("runs a function-tool loop, not streamed", async () => {
    const first = await client.responses.create({ model, input: "weather in Paris", tools: [weatherTool] });
    const call = first.output.find((i) => i.type === "function_call");
    expect(call).toMatchObject({ type: "function_call", name: "get_weather" });
    if (call?.type !== "function_call") throw new Error("no call");
    expect(JSON.parse(call.arguments)).toEqual({ query: "weather in Paris" });
    const second = await client.responses.create({
      model,
      tools: [weatherTool],
      input: [
        { role: "user", content: "weather in Paris" },
        call,
        { type: "function_call_output", call_id: call.call_id, output: "sunny 21C" },
      ],
    });
    expect(second.output_text).toBe("Echo: sunny 21C");
    await gw.waitForRows(2);
  });

  it("streams through the SDK's own parser: events in order, increasing sequence numbers", async () => {
    const stream = client.responses.stream({ model, input: "stream me please" });
    const types: string[] = [];
    const seqs: number[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      seqs.push(event.sequence_number);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe("Echo: stream me please");
    expect(final.output_text).toBe("Echo: stream me please");
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
    expect(types.slice(0, 2)).toEqual(["response.created", "response.in_progress"]);
    expect(types).toEqual(
      expect.arrayContaining([
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
      ]),
    );
    expect(types.at(-1)).toBe("response.completed");
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    expect(new Set(seqs).size).toBe(seqs.length);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ route: "responses", stream: true, status: 200, error_type: null });
    expect(row?.output_tokens).toBe(final.usage?.output_tokens);
  });

  it("streams a tool call with create({stream: true}) and finishes the loop streamed", async () => {
    const stream = await client.responses.create({
      model,
      input: "weather in Rome",
      tools: [weatherTool],
      stream: true,
    });
    let args = "";
    let done: OpenAI.Responses.ResponseOutputItem | null = null;
    let completed: OpenAI.Responses.Response | null = null;
    for await (const event of stream) {
      if (event.type === "response.function_call_arguments.delta") args += event.delta;
      if (event.type === "response.output_item.done") done = event.item;
      if (event.type === "response.completed") completed = event.response;
    }
    expect(JSON.parse(args)).toEqual({ query: "weather in Rome" });
    expect(done).toMatchObject({ type: "function_call", name: "get_weather" });
    expect(completed?.output.some((i) => i.type === "function_call")).toBe(true);
    if (done?.type !== "function_call") throw new Error("no call");
    const next = client.responses.stream({
      model,
      tools: [weatherTool],
      input: [
        { role: "user", content: "weather in Rome" },
        done,
        { type: "function_call_output", call_id: done.call_id, output: "rainy" },
      ],
    });
    expect((await next.finalResponse()).output_text).toBe("Echo: rainy");
  });
});

describe("responses route details", () => {
  it("passes the body through to openai untouched except model", async () => {
    await client.responses.create({
      model: "openai/gpt-4.1-mini",
      input: [
        { type: "message", role: "developer", content: "x" },
        { role: "user", content: "hi" },
      ],
      ...({ some_future_field: { a: 1 } } as object),
    });
    const sent = fake.requests.at(-1)?.body;
    expect(sent.model).toBe("gpt-4.1-mini");
    expect(sent.some_future_field).toEqual({ a: 1 });
    expect(sent.input[0]).toEqual({ type: "message", role: "developer", content: "x" });
  });

  it("drops hosted tools for a translated provider and names them in x-aigw-dropped-tools", async () => {
    const { data, response } = await client.responses
      .create({
        model: "anthropic/claude-haiku-4-5",
        input: "hi",
        tools: [{ type: "web_search" }, weatherTool],
        tool_choice: "none",
      })
      .withResponse();
    expect(response.headers.get("x-aigw-dropped-tools")).toBe("web_search");
    expect(data.output_text).toBe("Echo: hi");
    const sent = fake.requests.at(-1)?.body;
    expect(sent.tools.map((t: { name: string }) => t.name)).toEqual(["get_weather"]);
  });

  it("refuses to force a hosted tool on a translated provider with a 400 naming it", async () => {
    const err = await client.responses
      .create({
        model: "local/llama3.2",
        input: "hi",
        tools: [{ type: "web_search" }],
        tool_choice: { type: "web_search" } as never,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("web_search");
    expect(fake.requests).toHaveLength(0);
  });

  it("answers a WebSocket upgrade with 426", async () => {
    // fetch refuses to send Upgrade; Codex's WebSocket client sends it as a plain GET.
    const status = await new Promise<number | undefined>((resolve, reject) => {
      const req = http.get(`${gw.url}/v1/responses`, {
        headers: {
          upgrade: "websocket",
          connection: "Upgrade",
          "sec-websocket-version": "13",
          "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
      });
      req.on("response", (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on("upgrade", () => resolve(101));
      req.on("error", reject);
    });
    expect(status).toBe(426);
  });
});

describe("stored responses (translated providers)", () => {
  it("continues a conversation with previous_response_id, streamed, and answers GET, input_items and DELETE", async () => {
    const model = "anthropic/claude-haiku-4-5";
    const first = await client.responses.create({ model, input: "weather in Oslo", tools: [weatherTool] });
    const call = first.output.find((i) => i.type === "function_call");
    if (call?.type !== "function_call") throw new Error("no call");
    const second = await client.responses
      .stream({
        model,
        tools: [weatherTool],
        previous_response_id: first.id,
        input: [{ type: "function_call_output", call_id: call.call_id, output: "snow" }],
      })
      .finalResponse();
    expect(second.output_text).toBe("Echo: snow");
    // The provider saw the whole conversation: the first turn, the call, and its result.
    const sent = fake.requests.at(-1)?.body;
    expect(sent.messages.map((m: { role: string }) => m.role)).toEqual(["user", "assistant", "user"]);
    expect(sent.messages[1].content[0]).toMatchObject({
      type: "tool_use",
      id: call.call_id,
      name: "get_weather",
    });

    const got = await client.responses.retrieve(second.id);
    expect(got.output_text).toBe("Echo: snow");
    const items = await client.responses.inputItems.list(second.id, { order: "asc" });
    expect(items.data.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output"]);
    await client.responses.delete(second.id);
    await expect(client.responses.retrieve(second.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(fake.requests.filter((r) => r.method === "GET")).toHaveLength(0); // answered locally
  });

  it("keeps nothing when store is false, and a later previous_response_id to it is a 400", async () => {
    const model = "local/llama3.2";
    const res = await client.responses.create({ model, input: "hi", store: false });
    await expect(client.responses.retrieve(res.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const err = await client.responses
      .create({ model, input: "again", previous_response_id: res.id })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("previous_response_id");
  });

  it("forwards previous_response_id of a pass-through response to openai untouched", async () => {
    await client.responses.create({
      model: "openai/gpt-4.1-mini",
      input: "next",
      previous_response_id: "resp_upstream1",
    });
    expect(fake.requests.at(-1)?.body.previous_response_id).toBe("resp_upstream1");
  });
});
