/**
 * Any SDK to any provider: OpenAI ⇄ Anthropic translation end to end (stream and not, with a tool
 * round-trip), fallback groups, strategies, and the circuit breaker.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  gw = await startTestGateway({
    config: {
      providers: {
        claude: { type: "anthropic", base_url: a.anthropicBaseUrl },
        local: { type: "openai-compatible", base_url: b.openaiBaseUrl },
        backup: { type: "openai-compatible", base_url: a.openaiBaseUrl },
      },
      models: {
        smart: { targets: ["claude/claude-sonnet-4-6", "local/llama3.2"] },
        spread: { targets: ["backup/m", "local/m"], strategy: "round-robin" },
        capped: { targets: [{ model: "local/m", params: { max_tokens: 7 } }] },
      },
      retry: { max_attempts: 1 }, // fall back at once: retries have their own tests
    },
    env: { CLAUDE_API_KEY: "sk-ant-test" },
  });
  openai = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "x", baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await Promise.all([a.close(), b.close()]);
});

beforeEach(() => {
  a.reset();
  b.reset();
  gw.db.exec("DELETE FROM usage");
});

const weather = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Weather",
    parameters: { type: "object", properties: { query: { type: "string" } } },
  },
};

describe("OpenAI SDK → Anthropic provider", () => {
  it("translates a chat completion both ways and logs Anthropic's usage", async () => {
    const res = await openai.chat.completions.create({
      model: "claude/claude-haiku-4-5",
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
    });
    expect(res.object).toBe("chat.completion");
    expect(res.choices[0]?.message.content).toBe("Echo: hello there");
    expect(res.choices[0]?.finish_reason).toBe("stop");
    const sent = a.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages");
    expect(sent.body).toMatchObject({ model: "claude-haiku-4-5", system: "Be brief.", max_tokens: 4096 });
    expect(sent.headers["x-api-key"]).toBe("sk-ant-test");
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({
      provider: "claude",
      input_tokens: res.usage!.prompt_tokens,
      output_tokens: res.usage!.completion_tokens,
    });
  });

  it("streams translated chunks the SDK accumulates, usage included when asked", async () => {
    const stream = openai.chat.completions.stream({
      model: "claude/claude-haiku-4-5",
      messages: [{ role: "user", content: "stream me" }],
      stream_options: { include_usage: true },
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe("Echo: stream me");
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({
      stream: true,
      status: 200,
      error_type: null,
      output_tokens: final.usage!.completion_tokens,
    });
  });

  it("round-trips a tool call with its id", async () => {
    const first = await openai.chat.completions.create({
      model: "claude/claude-haiku-4-5",
      messages: [{ role: "user", content: "weather in Paris" }],
      tools: [weather],
    });
    const call = first.choices[0]!.message.tool_calls![0]!;
    expect(first.choices[0]?.finish_reason).toBe("tool_calls");
    expect(call.type === "function" && call.function.name).toBe("get_weather");
    const second = await openai.chat.completions.create({
      model: "claude/claude-haiku-4-5",
      messages: [
        { role: "user", content: "weather in Paris" },
        first.choices[0]!.message,
        { role: "tool", tool_call_id: call.id, content: "sunny, 21C" },
      ],
      tools: [weather],
    });
    expect(second.choices[0]?.message.content).toBe("Echo: sunny, 21C");
    const toolResult = a.requests.at(-1)!.body.messages.at(-1).content[0];
    expect(toolResult).toMatchObject({ type: "tool_result", tool_use_id: call.id, content: "sunny, 21C" });
  });

  it("renders the upstream's 400 in OpenAI's shape", async () => {
    a.script({ status: 400, message: "messages: roles must alternate" });
    const err = await openai.chat.completions
      .create({ model: "claude/claude-haiku-4-5", messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toMatch(/roles must alternate/);
  });

  it("answers a field it cannot translate with a 400 naming it", async () => {
    const err = await openai.chat.completions
      .create({ model: "claude/claude-haiku-4-5", n: 2, messages: [{ role: "user", content: "x" }] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toMatch(/\bn\b/);
    expect(a.requests).toHaveLength(0);
  });
});

describe("Anthropic SDK → OpenAI-compatible provider", () => {
  it("translates a message both ways", async () => {
    const msg = await anthropic.messages.create({
      model: "local/llama3.2",
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: "hello there" }],
    });
    expect(msg.type).toBe("message");
    expect(msg.content[0]).toMatchObject({ type: "text", text: "Echo: hello there" });
    expect(msg.stop_reason).toBe("end_turn");
    expect(b.requests.at(-1)!.body).toMatchObject({
      model: "llama3.2",
      max_tokens: 64,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "hello there" },
      ],
    });
  });

  it("streams the Anthropic event sequence from OpenAI chunks", async () => {
    const final = await anthropic.messages
      .stream({ model: "local/llama3.2", max_tokens: 64, messages: [{ role: "user", content: "stream me" }] })
      .finalMessage();
    expect(final.content[0]).toMatchObject({ type: "text", text: "Echo: stream me" });
    expect(final.usage.output_tokens).toBeGreaterThan(0);
    expect(b.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ stream: true, error_type: null, output_tokens: final.usage.output_tokens });
  });

  it("round-trips a tool use with its id, streamed", async () => {
    const tools = [
      {
        name: "get_weather",
        description: "Weather",
        input_schema: { type: "object" as const, properties: {} },
      },
    ];
    const first = await anthropic.messages
      .stream({
        model: "local/llama3.2",
        max_tokens: 64,
        tools,
        messages: [{ role: "user", content: "weather?" }],
      })
      .finalMessage();
    const use = first.content.find((c) => c.type === "tool_use")!;
    expect(first.stop_reason).toBe("tool_use");
    expect(use).toMatchObject({ type: "tool_use", name: "get_weather" });
    const second = await anthropic.messages.create({
      model: "local/llama3.2",
      max_tokens: 64,
      tools,
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "rainy" }] },
      ],
    });
    expect(second.content[0]).toMatchObject({ type: "text", text: "Echo: rainy" });
    expect(b.requests.at(-1)!.body.messages.at(-1)).toMatchObject({
      role: "tool",
      tool_call_id: use.id,
      content: "rainy",
    });
  });
});

describe("groups", () => {
  it("falls back to the next target when the first fails, and says so", async () => {
    a.script({ status: 500, message: "overloaded" });
    const { data, response } = await openai.chat.completions
      .create({ model: "smart", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(data.choices[0]?.message.content).toBe("Echo: hi");
    expect(response.headers.get("x-aigw-provider")).toBe("local/llama3.2");
    expect(response.headers.get("x-aigw-attempts")).toBe("2");
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({
      provider: "local",
      fallback_from: "claude/claude-sonnet-4-6",
      attempts: 2,
      status: 200,
    });
  });

  it("does not fall back on a 4xx the request caused", async () => {
    a.script({ status: 400, message: "bad image" });
    const err = await openai.chat.completions
      .create({ model: "smart", messages: [{ role: "user", content: "hi" }] })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(b.requests).toHaveLength(0);
  });

  it("spreads a round-robin group across its targets", async () => {
    for (let i = 0; i < 4; i++)
      await openai.chat.completions.create({ model: "spread", messages: [{ role: "user", content: "hi" }] });
    expect(a.requests).toHaveLength(2);
    expect(b.requests).toHaveLength(2);
  });

  it("applies per-target params", async () => {
    await openai.chat.completions.create({
      model: "capped",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 500,
    });
    expect(b.requests.at(-1)!.body.max_tokens).toBe(7);
  });

  it("lists groups and aliases with their targets", async () => {
    const models = await openai.models.list();
    const smart = models.data.find((m) => m.id === "smart") as unknown as {
      aigw: { kind: string; targets: string[] };
    };
    expect(smart.aigw).toEqual({ kind: "group", targets: ["claude/claude-sonnet-4-6", "local/llama3.2"] });
  });
});

describe("circuit breaker", () => {
  it("opens after N failures, skips the provider, and closes again through one probe", async () => {
    let now = Date.now();
    const down = await startFakeUpstream();
    const up = await startFakeUpstream();
    const cgw = await startTestGateway({
      clock: { now: () => now },
      config: {
        providers: {
          flaky: { type: "openai-compatible", base_url: down.openaiBaseUrl },
          steady: { type: "openai-compatible", base_url: up.openaiBaseUrl },
        },
        models: { pair: { targets: ["flaky/m", "steady/m"] } },
        circuit_breaker: { failures: 2, cool_off: "30s" },
      },
    });
    try {
      const client = new OpenAI({ apiKey: "x", baseURL: `${cgw.url}/v1`, maxRetries: 0 });
      const ask = () =>
        client.chat.completions
          .create({ model: "pair", messages: [{ role: "user", content: "hi" }] })
          .withResponse();
      down.script({ status: 503 }, { status: 503 });
      await ask();
      await ask();
      expect(down.requests).toHaveLength(2);
      const status = (await (await fetch(`${cgw.url}/aigw/status`)).json()) as {
        circuits: Record<string, unknown>;
      };
      expect(status.circuits.flaky).toMatchObject({ state: "open", failures: 2 });

      const skipped = await ask();
      expect(down.requests).toHaveLength(2); // not even tried
      expect(skipped.response.headers.get("x-aigw-provider")).toBe("steady/m");

      now += 30_000; // cool-off over: one probe goes to the provider, and it has recovered
      const probe = await ask();
      expect(probe.response.headers.get("x-aigw-provider")).toBe("flaky/m");
      const after = (await (await fetch(`${cgw.url}/aigw/status`)).json()) as {
        circuits: Record<string, { state: string }>;
      };
      expect(after.circuits.flaky?.state).toBe("closed");
    } finally {
      await cgw.close();
      await Promise.all([down.close(), up.close()]);
    }
  });
});
