/** Edge cases a review found: each once let a request hang, double-log, or fail the wrong way. */
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let a: FakeUpstream;
let b: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  [a, b] = await Promise.all([startFakeUpstream({ latencyMs: 60 }), startFakeUpstream({ latencyMs: 60 })]);
  gw = await startTestGateway({
    config: {
      providers: {
        up: { type: "openai-compatible", base_url: a.openaiBaseUrl, limits: { concurrency: 2 } },
        other: { type: "openai-compatible", base_url: b.openaiBaseUrl },
        ant: { type: "anthropic", base_url: a.anthropicBaseUrl },
      },
      models: { busy: { targets: ["up/m", "other/m"], strategy: "least-busy" } },
      cache: { enabled: true },
      retry: { max_attempts: 1 },
    },
    env: { UP_API_KEY: "sk-up", ANT_API_KEY: "sk-ant" },
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

describe("edge cases", () => {
  it("refuses a model name that cannot go in a header, with a row and no stuck limiter", async () => {
    const err = await openai.chat.completions
      .create({ model: "up/gpt’", messages: hi(), stream: true })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.message).toMatch(/model: only printable ASCII/);
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ status: 400 });
    await openai.chat.completions.create({ model: "up/m", messages: hi("after") }); // the limiter is free
  });

  it("passes an upstream 403 through and keeps the key in rotation", async () => {
    a.script({
      status: 403,
      body: { error: { message: "input was flagged", type: "moderation", param: null, code: null } },
    });
    const err = await openai.chat.completions
      .create({ model: "up/m", messages: hi("flagged") })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.message).toMatch(/flagged/);
    const ok = await openai.chat.completions.create({ model: "up/m", messages: hi("fine") });
    expect(ok.choices[0]?.message.content).toBe("Echo: fine");
  });

  it("serves a non-JSON 200 once, logs one row, caches nothing, and never strands an identical request", async () => {
    const post = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "up/m", messages: hi("html please") }),
      });
    a.script({ body: "<html>captive portal</html>", headers: { "content-type": "text/html" } });
    a.script({ body: "<html>captive portal</html>", headers: { "content-type": "text/html" } });
    const [first, second] = await Promise.all([post(), post()]);
    expect([first.status, second.status]).toEqual([200, 200]);
    const rows = await gw.waitForRows(2);
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((r) => r.id)).size).toBe(2);
    expect((await post()).headers.get("x-aigw-cache")).toBe("MISS");
  });

  it("tells a client that a translated stream was cut short instead of closing it as complete", async () => {
    a.script({ match: "/v1/messages", failMidStream: true });
    const stream = await openai.chat.completions.create({
      model: "ant/claude-haiku-4-5",
      messages: hi("cut"),
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _ of stream);
      })(),
    ).rejects.toThrow();
    const [row] = await gw.waitForRows(1);
    expect(row!.error_type).not.toBeNull();
  });

  it("spreads concurrent requests of a least-busy group", async () => {
    await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        openai.chat.completions.create(
          { model: "busy", messages: hi(`q${i}`) },
          { headers: { "cache-control": "no-store" } },
        ),
      ),
    );
    expect(a.requests.length).toBeGreaterThan(0);
    expect(b.requests.length).toBeGreaterThan(0);
  });

  it("never calls upstream in replay mode, even for what the cache cannot hold", async () => {
    const err = await openai.chat.completions
      .create({ model: "up/m", messages: hi("n2"), n: 2 }, { headers: { "x-aigw-cache-mode": "replay" } })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error).toMatchObject({ type: "cache_miss" });
    expect(a.requests).toHaveLength(0);
  });

  it("gives Retry-After in seconds when an upstream 429 used an HTTP date", async () => {
    const keyless = await startTestGateway({
      config: {
        providers: { lan: { type: "openai-compatible", base_url: b.openaiBaseUrl } },
        retry: { max_attempts: 1 },
      },
    });
    try {
      b.script({ status: 429, headers: { "retry-after": new Date(Date.now() + 5000).toUTCString() } });
      const err = await new OpenAI({
        apiKey: "x",
        baseURL: `${keyless.url}/v1`,
        maxRetries: 0,
      }).chat.completions
        .create({ model: "lan/m", messages: hi() })
        .catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.headers.get("retry-after")).toMatch(/^[1-6]$/);
    } finally {
      await keyless.close();
    }
  });
});
