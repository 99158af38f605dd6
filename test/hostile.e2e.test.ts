/**
 * What a run against the outside found, each through the real gateway, the fake upstream and the SDKs:
 * a deep body must not move a circuit, an open circuit must not lock out a lone provider, every
 * response says its attempts, loopback is not free, a failure is said once, and the request's own
 * fault comes before budgets.
 */
import { createServer } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;
let deadPort: number;

/** A loopback port nothing listens on: connecting to it is refused. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeUpstream(), startFakeUpstream()]);
  deadPort = await closedPort();
  gw = await startTestGateway({
    config: {
      providers: {
        up: { type: "openai-compatible", base_url: a.openaiBaseUrl },
        ant: { type: "anthropic", base_url: a.anthropicBaseUrl },
        flaky: { type: "openai-compatible", base_url: b.openaiBaseUrl },
        dead: { type: "openai-compatible", base_url: `http://127.0.0.1:${deadPort}/v1` },
        // A paid API reached through a loopback proxy, a free local server, an unknown local one.
        openai: { type: "openai", base_url: a.openaiBaseUrl },
        home: { type: "openai-compatible", base_url: a.openaiBaseUrl, free: true },
      },
      circuit_breaker: { failures: 3, cool_off: "10m" },
      retry: { max_attempts: 3, backoff: 1, max_backoff: 2 },
    },
    env: { ANT_API_KEY: "sk-ant", OPENAI_API_KEY: "sk-test" },
  });
  openai = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
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

const hi = (content = "hi") => [{ role: "user" as const, content }];

const circuits = async () =>
  ((await (await fetch(`${gw.url}/aigw/status`)).json()) as { circuits: Record<string, { state: string }> })
    .circuits;

describe("a body nested too deep", () => {
  const deep = (levels: number) => `${'{"a":'.repeat(levels)}1${"}".repeat(levels)}`;

  it("is a 400 naming the limit on both routes, and never moves the provider's circuit", async () => {
    for (let i = 0; i < 4; i++) {
      const chat = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"model":"up/m","messages":[{"role":"user","content":"hi"}],"metadata":${deep(100_000)}}`,
      });
      expect(chat.status).toBe(400);
      expect(((await chat.json()) as { error: { message: string } }).error.message).toMatch(
        /nested deeper than 100 levels/,
      );
      const messages = await fetch(`${gw.url}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: `{"model":"ant/claude-haiku-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"x":${deep(100_000)}}`,
      });
      expect(messages.status).toBe(400);
      expect(await messages.json()).toMatchObject({
        type: "error",
        error: { type: "invalid_request_error" },
      });
    }
    expect(a.requests).toHaveLength(0);
    const status = await circuits();
    expect(status.up?.state ?? "closed").toBe("closed");
    expect(status.ant?.state ?? "closed").toBe("closed");
    const ok = await openai.chat.completions.create({ model: "up/m", messages: hi() });
    expect(ok.choices[0]?.message.content).toBe("Echo: hi");
    expect((await gw.waitForRows(9)).map((r) => r.status)).toEqual([...Array(8).fill(400), 200]);
  });

  it("as deep as the limit still goes through", async () => {
    const res = await openai.chat.completions.create({
      model: "up/m",
      messages: hi(),
      metadata: JSON.parse(deep(95)), // an extra field the upstream ignores
    });
    expect(res.choices[0]?.message.content).toBe("Echo: hi");
  });
});

describe("every circuit open", () => {
  it("tries the provider anyway instead of refusing a request untried", async () => {
    b.script({ status: 500 }, { status: 500 }, { status: 500 });
    const failed = await openai.chat.completions.create({ model: "flaky/m", messages: hi() }).catch((e) => e);
    expect(failed).toBeInstanceOf(OpenAI.InternalServerError);
    expect((await circuits()).flaky?.state).toBe("open");
    // The provider is back; its cool-off (10 minutes) is far from over, and there is nowhere else to go.
    const res = await openai.chat.completions.create({ model: "flaky/m", messages: hi("back") });
    expect(res.choices[0]?.message.content).toBe("Echo: back");
    expect((await circuits()).flaky?.state).toBe("closed");
  });
});

describe("x-aigw-attempts and x-aigw-request-id", () => {
  it("are on an error after retries, and on one that failed before parsing (0 attempts)", async () => {
    a.script({ status: 503 }, { status: 503 }, { status: 503 });
    const err = await openai.chat.completions.create({ model: "up/m", messages: hi() }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.headers.get("x-aigw-attempts")).toBe("3");
    expect(err.headers.get("x-aigw-request-id")).toMatch(/^req_/);
    const bad = await fetch(`${gw.url}/v1/messages`, { method: "POST", body: "{not json" });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("x-aigw-attempts")).toBe("0");
    expect(bad.headers.get("x-aigw-request-id")).toMatch(/^req_/);
    const anthropic = new Anthropic({ apiKey: "x", baseURL: gw.url, maxRetries: 0 });
    const invalid = await anthropic.messages
      // @ts-expect-error: max_tokens missing on purpose
      .create({ model: "ant/claude-haiku-4-5", messages: hi() })
      .catch((e) => e);
    expect(invalid).toBeInstanceOf(Anthropic.BadRequestError);
    expect(invalid.headers.get("x-aigw-attempts")).toBe("0");
  });
});

describe("free is explicit", () => {
  it("prices an openai provider on loopback, leaves an unknown local model unpriced, and free: true at 0", async () => {
    const paid = await openai.chat.completions
      .create({ model: "openai/gpt-4o-mini", messages: hi() })
      .withResponse();
    expect(Number(paid.response.headers.get("x-aigw-cost-usd"))).toBeGreaterThan(0);
    await openai.chat.completions.create({ model: "up/some-local-model", messages: hi() });
    await openai.chat.completions.create({ model: "home/some-local-model", messages: hi() });
    const rows = await gw.waitForRows(3);
    expect(rows.map((r) => [r.provider, r.cost_usd === null ? null : r.cost_usd > 0])).toEqual([
      ["openai", true],
      ["up", null],
      ["home", false],
    ]);
  });
});

describe("an upstream that cannot be reached", () => {
  it("is said once, with its host and the number of tries", async () => {
    const err = await openai.chat.completions.create({ model: "dead/m", messages: hi() }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    const message = (err.error as { message: string }).message;
    expect(message).toBe(`dead/m could not be reached at 127.0.0.1:${deadPort} (ECONNREFUSED) after 3 tries`);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ status: 502, attempts: 3 });
  });
});

describe("the request's own fault first", () => {
  it("answers embeddings on a Claude model with 400 even when the budget is spent", async () => {
    const fake = await startFakeUpstream();
    const spent = await startTestGateway({
      config: {
        providers: {
          paid: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
          claude: { type: "anthropic", base_url: fake.anthropicBaseUrl },
        },
        pricing: { "paid/*": { input: 1_000_000, output: 1_000_000 } },
        budgets: { daily_usd: 1 },
      },
      env: { CLAUDE_API_KEY: "sk-ant" },
    });
    try {
      const client = new OpenAI({ apiKey: "x", baseURL: `${spent.url}/v1`, maxRetries: 0 });
      await client.chat.completions.create({ model: "paid/m", messages: hi() }); // costs more than $1
      const over = await client.chat.completions.create({ model: "paid/m", messages: hi() }).catch((e) => e);
      expect(over).toBeInstanceOf(OpenAI.RateLimitError);
      const err = await client.embeddings
        .create({ model: "claude/claude-haiku-4-5", input: "hello" })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err.message).toMatch(/does not serve embeddings/);
    } finally {
      await spent.close();
      await fake.close();
    }
  });
});
