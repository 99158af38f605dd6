/**
 * The request path end to end: the official SDKs → a real aigw on a loopback port → a fake upstream
 * speaking OpenAI's and Anthropic's wire formats, with the usage log in a real SQLite file.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
const UPSTREAM_OPENAI_KEY = "sk-upstream-openai-0001";
const UPSTREAM_ANTHROPIC_KEY = "sk-ant-upstream-0002";

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: [UPSTREAM_OPENAI_KEY, UPSTREAM_ANTHROPIC_KEY] });
  gw = await startTestGateway({
    config: {
      providers: {
        openai: { base_url: fake.openaiBaseUrl, timeouts: { first_byte: "300ms" } },
        anthropic: { base_url: fake.anthropicBaseUrl },
        local: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
      },
      models: { fast: "openai/gpt-4o-mini" },
      server: { max_body: "64KB" },
      retry: { max_attempts: 1 }, // retries have their own tests (limits.e2e)
    },
    env: {
      OPENAI_API_KEY: UPSTREAM_OPENAI_KEY,
      ANTHROPIC_API_KEY: UPSTREAM_ANTHROPIC_KEY,
      LOCAL_API_KEY: UPSTREAM_OPENAI_KEY,
    },
  });
  openai = new OpenAI({ apiKey: "client-key-unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "client-key-unused", baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  gw.db.exec("DELETE FROM usage");
});

const hello = [{ role: "user" as const, content: "hello there" }];

describe("OpenAI chat completions", () => {
  it("passes a request through with only the model rewritten, and logs its usage", async () => {
    const { data, response } = await openai.chat.completions
      .create({
        model: "gpt-4o-mini",
        messages: hello,
        temperature: 0.2,
        ...({ custom_field: { a: 1 } } as object),
      })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Echo: hello there");
    expect(response.headers.get("x-aigw-provider")).toBe("openai/gpt-4o-mini");
    expect(response.headers.get("x-aigw-attempts")).toBe("1");
    expect(response.headers.get("x-aigw-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-request-id")).toBeTruthy(); // upstream's own headers come back

    const sent = fake.requests.at(-1)!;
    expect(sent.body).toEqual({
      model: "gpt-4o-mini",
      messages: hello,
      temperature: 0.2,
      custom_field: { a: 1 },
    });
    expect(sent.headers.authorization).toBe(`Bearer ${UPSTREAM_OPENAI_KEY}`);

    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({
      route: "chat",
      requested_model: "gpt-4o-mini",
      provider: "openai",
      upstream_model: "gpt-4o-mini",
      key_id: "env:OPENAI_API_KEY",
      status: 200,
      error_type: null,
      stream: false,
      attempts: 1,
      input_tokens: data.usage!.prompt_tokens,
      cached_input_tokens: 0,
      output_tokens: data.usage!.completion_tokens,
    });
    expect(row!.latency_ms).toBeGreaterThan(0);
  });

  it("resolves aliases and provider/model names", async () => {
    const viaAlias = await openai.chat.completions.create({ model: "fast", messages: hello }).withResponse();
    expect(viaAlias.response.headers.get("x-aigw-provider")).toBe("openai/gpt-4o-mini");
    const viaLocal = await openai.chat.completions
      .create({ model: "local/llama3.2", messages: hello })
      .withResponse();
    expect(viaLocal.response.headers.get("x-aigw-provider")).toBe("local/llama3.2");
    expect(fake.requests.map((r) => r.body.model)).toEqual(["gpt-4o-mini", "llama3.2"]);
  });

  it("streams chunk by chunk, asks upstream for usage and hides that chunk from a client that did not ask", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: hello,
      stream: true,
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe("Echo: hello there");
    expect(chunks.every((c) => c.choices.length === 1)).toBe(true);
    expect(fake.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });

    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ stream: true, status: 200, error_type: null, aborted: false });
    expect(row!.input_tokens).toBeGreaterThan(0);
    expect(row!.output_tokens).toBeGreaterThan(0);
    expect(row!.ttfb_ms).toBeGreaterThan(0);
  });

  it("keeps the usage chunk for a client that asked for it", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: hello,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    const [row] = await gw.waitForRows(1);
    expect(row!.input_tokens).toBe(last.usage!.prompt_tokens);
    expect(row!.output_tokens).toBe(last.usage!.completion_tokens);
  });

  it("passes tool calls through, streamed and not", async () => {
    const tools = [
      {
        type: "function" as const,
        function: { name: "search", parameters: { type: "object", properties: {} } },
      },
    ];
    const plain = await openai.chat.completions.create({ model: "gpt-4o-mini", messages: hello, tools });
    expect(plain.choices[0]?.message.tool_calls?.[0]).toMatchObject({
      type: "function",
      function: { name: "search" },
    });
    const streamed = await openai.chat.completions
      .stream({ model: "gpt-4o-mini", messages: hello, tools })
      .finalChatCompletion();
    expect(streamed.choices[0]?.message.tool_calls?.[0]?.function.arguments).toBe(
      plain.choices[0]?.message.tool_calls?.[0]?.type === "function"
        ? plain.choices[0].message.tool_calls[0].function.arguments
        : "",
    );
    expect(fake.requests.at(-1)!.body.tools).toEqual(tools);
  });

  it("serves embeddings in the SDK's default base64 encoding", async () => {
    const viaGateway = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
    });
    const direct = await new OpenAI({
      apiKey: UPSTREAM_OPENAI_KEY,
      baseURL: fake.openaiBaseUrl,
      maxRetries: 0,
    }).embeddings.create({
      model: "text-embedding-3-small",
      input: ["alpha", "beta"],
    });
    expect(viaGateway.data).toEqual(direct.data);
    const rows = await gw.waitForRows(1);
    expect(rows[0]).toMatchObject({
      route: "embeddings",
      status: 200,
      input_tokens: direct.usage.prompt_tokens,
    });
  });
});

describe("Anthropic messages", () => {
  it("passes a message through with the gateway's key and the client's version", async () => {
    const msg = await anthropic.messages.create({
      model: "claude-haiku-4-5",
      max_tokens: 100,
      messages: hello,
    });
    expect(msg.content[0]).toMatchObject({ type: "text", text: "Echo: hello there" });
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.headers["x-api-key"]).toBe(UPSTREAM_ANTHROPIC_KEY);
    expect(sent.headers.authorization).toBeUndefined(); // the client's own credential never goes upstream
    expect(sent.headers["anthropic-version"]).toBeTruthy();
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({
      route: "messages",
      provider: "anthropic",
      status: 200,
      input_tokens: msg.usage.input_tokens,
      output_tokens: msg.usage.output_tokens,
    });
  });

  it("streams the event sequence and logs the final usage", async () => {
    const final = await anthropic.messages
      .stream({ model: "claude-haiku-4-5", max_tokens: 100, messages: hello })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "Echo: hello there" });
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ stream: true, status: 200, error_type: null });
    expect(row!.input_tokens).toBe(final.usage.input_tokens);
    expect(row!.output_tokens).toBe(final.usage.output_tokens);
  });

  it("forwards anthropic-beta and the query string, and adds a version for clients that send none", async () => {
    const res = await fetch(`${gw.url}/v1/messages?beta=true`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "anthropic-beta": "tools-2024-04-04",
        "x-api-key": "client-secret",
      },
      body: JSON.stringify({ model: "claude-haiku-4-5", max_tokens: 50, messages: hello }),
    });
    expect(res.status).toBe(200);
    const sent = fake.requests.at(-1)!;
    expect(sent.query).toBe("beta=true");
    expect(sent.headers["anthropic-beta"]).toBe("tools-2024-04-04");
    expect(sent.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent.headers["x-api-key"]).toBe(UPSTREAM_ANTHROPIC_KEY);
  });
});

describe("models", () => {
  it("lists routable names in OpenAI's shape and, for Anthropic clients, in theirs", async () => {
    const ids = [];
    for await (const model of openai.models.list()) ids.push(model.id);
    expect(ids[0]).toBe("fast");
    expect(ids).toEqual(
      expect.arrayContaining(["openai/gpt-4o-mini", "anthropic/claude-haiku-4-5", "mock/echo"]),
    );
    const anthropicIds = [];
    for await (const model of anthropic.models.list()) anthropicIds.push(model.id);
    expect(anthropicIds).toEqual(ids);
  });
});

describe("errors in the shape each SDK expects", () => {
  it("names the missing field", async () => {
    const err = await openai.chat.completions.create({ model: "gpt-4o-mini" } as never).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toMatch(/messages/);
    const aerr = await anthropic.messages
      .create({ model: "claude-haiku-4-5", messages: hello } as never)
      .catch((e) => e);
    expect(aerr).toBeInstanceOf(Anthropic.BadRequestError);
    expect(aerr.message).toMatch(/max_tokens/);
  });

  it("answers an unknown model with 404 listing what is routable", async () => {
    const err = await openai.chat.completions.create({ model: "nonesuch", messages: hello }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.message).toMatch(/fast.*openai\/\*/);
    const aerr = await anthropic.messages
      .create({ model: "nonesuch", max_tokens: 5, messages: hello })
      .catch((e) => e);
    expect(aerr).toBeInstanceOf(Anthropic.NotFoundError);
    expect(aerr.error).toMatchObject({ type: "error", error: { type: "not_found_error" } });
  });

  it("rejects bad JSON, a non-object body and an oversized body, and logs each", async () => {
    const post = (body: string, path = "/v1/chat/completions") =>
      fetch(`${gw.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
    const bad = await post("{nope");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({
      error: { type: "invalid_request_error", message: expect.stringMatching(/JSON/) },
    });
    const array = await post("[1,2]", "/v1/messages");
    expect(array.status).toBe(400);
    expect(await array.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    const big = await post(
      JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "x".repeat(70_000) }] }),
    );
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ error: { type: "request_too_large" } });
    const rows = await gw.waitForRows(3);
    expect(rows.map((r) => r.status)).toEqual([400, 400, 413]);
  });

  it("answers an unknown route with JSON 404", async () => {
    const res = await fetch(`${gw.url}/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { type: "not_found_error" } });
  });

  it("passes an upstream 4xx through unchanged", async () => {
    const body = {
      error: {
        message: "max_tokens is too large",
        type: "invalid_request_error",
        param: "max_tokens",
        code: null,
      },
    };
    fake.script({ status: 400, body });
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: hello }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual(body);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ status: 400, provider: "openai" });
  });

  it("turns an upstream 500 into 502 saying what was tried", async () => {
    fake.script({ status: 500, message: "boom" });
    const err = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: hello })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err.status).toBe(502);
    expect(err.message).toMatch(/openai\/gpt-4o-mini answered HTTP 500: boom/);
  });

  it("times out an upstream that sends nothing with 504", async () => {
    fake.script({ hang: true });
    const err = await openai.chat.completions
      .create({ model: "gpt-4o-mini", messages: hello })
      .catch((e) => e);
    expect(err.status).toBe(504);
    expect(err.error).toMatchObject({ type: "upstream_timeout" });
    await waitFor(() => fake.inFlight === 0, 3000, "the hung upstream request to close");
  });

  it("answers 502 naming the missing key for a provider that has none", async () => {
    const keyless = await startTestGateway({
      config: { providers: { openai: { base_url: fake.openaiBaseUrl } } },
    });
    try {
      const client = new OpenAI({ apiKey: "x", baseURL: `${keyless.url}/v1`, maxRetries: 0 });
      const err = await client.chat.completions
        .create({ model: "gpt-4o-mini", messages: hello })
        .catch((e) => e);
      expect(err.status).toBe(502);
      expect(err.message).toMatch(/OPENAI_API_KEY.*aigw keys add openai/);
      expect(fake.requests).toHaveLength(0);
    } finally {
      await keyless.close();
    }
  });
});

describe("client aborts", () => {
  it("closes the upstream request when the client goes away mid-stream, and still logs the row", async () => {
    const slow = await startFakeUpstream({ chunkDelayMs: 50, chunks: 40 });
    const slowGw = await startTestGateway({
      config: { providers: { slow: { type: "openai-compatible", base_url: slow.openaiBaseUrl } } },
    });
    try {
      const controller = new AbortController();
      const client = new OpenAI({ apiKey: "x", baseURL: `${slowGw.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create(
        { model: "slow/m", messages: hello, stream: true },
        { signal: controller.signal },
      );
      let seen = 0;
      try {
        for await (const _ of stream) if (++seen === 2) controller.abort();
      } catch {
        // The SDK may end the loop or throw on abort; either way the client is gone.
      }
      expect(seen).toBeLessThan(40);
      await waitFor(() => slow.clientAborts === 1, 3000, "the upstream to see the close");
      const [row] = await slowGw.waitForRows(1);
      expect(row).toMatchObject({ aborted: true, error_type: "client_aborted", stream: true });
    } finally {
      await slowGw.close();
      await slow.close();
    }
  });
});

describe("admin routes", () => {
  it("streams one event per finished request on /aigw/events", async () => {
    const res = await fetch(`${gw.url}/aigw/events`, {
      headers: { authorization: `Bearer ${gw.adminToken}` },
    });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const reader = res.body!.getReader();
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: hello });
    let text = "";
    while (!text.includes("event: request")) text += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain("event: start");
    const data = text.split("event: request\ndata: ")[1]!.split("\n")[0]!;
    expect(JSON.parse(data).record).toMatchObject({ requested_model: "gpt-4o-mini", status: 200 });
  });

  it("exposes Prometheus metrics on /aigw/metrics", async () => {
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: hello });
    const res = await fetch(`${gw.url}/aigw/metrics`);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toMatch(
      /aigw_requests_total\{route="chat",provider="openai",model="gpt-4o-mini",status="200",cache="BYPASS"\} [1-9]/,
    );
    expect(text).toMatch(/aigw_tokens_total\{provider="openai",model="gpt-4o-mini",kind="output"\} [1-9]/);
    expect(text).toContain("aigw_request_duration_seconds_bucket");
    expect(text).toMatch(/aigw_key_up\{provider="openai",key="env:OPENAI_API_KEY",state="ok"\} 1/);
  });

  it("answers health, and GET/HEAD / for probing clients", async () => {
    expect((await fetch(`${gw.url}/aigw/health`)).status).toBe(200);
    expect((await fetch(`${gw.url}/`)).status).toBe(200);
    expect((await fetch(`${gw.url}/`, { method: "HEAD" })).status).toBe(200);
  });
});
