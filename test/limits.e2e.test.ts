/**
 * Upstream limits queue instead of failing; client limits reject fast; retries ride out a flaky
 * upstream. Real gateway, fake upstream that counts its concurrent requests, the official SDK.
 */
import OpenAI from "openai";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ConfigInput } from "../src/config/schema.js";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway | null = null;

beforeEach(async () => {
  fake = await startFakeUpstream({ latencyMs: 15 });
});
afterEach(async () => {
  await gw?.close();
  gw = null;
  await fake.close();
});

async function gateway(extra: Partial<ConfigInput> & { limits?: Record<string, unknown> }) {
  const { limits, ...rest } = extra;
  gw = await startTestGateway({
    config: {
      providers: {
        up: { type: "openai-compatible", base_url: fake.openaiBaseUrl, ...(limits ? { limits } : {}) },
      },
      ...rest,
    },
  });
  return new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
}

const ask = (client: OpenAI, content = "hi") =>
  client.chat.completions.create({ model: "up/m", messages: [{ role: "user", content }] }).withResponse();

describe("upstream limits", () => {
  it("keeps a provider at concurrency 1 under 20 parallel calls, all answered", async () => {
    const client = await gateway({ limits: { concurrency: 1 } });
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ask(client, `q${i}`)));
    expect(results.every((r) => r.response.status === 200)).toBe(true);
    expect(fake.requests).toHaveLength(20);
    expect(fake.maxConcurrent).toBe(1);
  });

  it("holds the 6th to 10th of 10 calls until a 5-per-2s window frees, then answers them", async () => {
    const client = await gateway({ limits: { requests: 5, per: "2s" } });
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => ask(client, `q${i}`)));
    expect(results.every((r) => r.response.status === 200)).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    const waits = gw!
      .rows()
      .map((r) => r.queue_wait_ms ?? 0)
      .sort((a, b) => a - b);
    expect(waits.slice(0, 5).every((w) => w < 500)).toBe(true);
    expect(waits.slice(5).every((w) => w > 1500)).toBe(true);
  });

  it("answers 429 queue_timeout with Retry-After when the wait would pass queue.max_wait", async () => {
    const client = await gateway({ limits: { requests: 1, per: "30s" }, queue: { max_wait: "300ms" } });
    await ask(client);
    const err = await ask(client).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.error).toMatchObject({ type: "queue_timeout" });
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(fake.requests).toHaveLength(1);
  });

  it("slows down when the upstream says it is about to run out", async () => {
    const client = await gateway({});
    fake.script({
      headers: { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "600ms" },
    });
    await ask(client);
    await ask(client);
    const [first, second] = gw!.rows();
    expect(first!.queue_wait_ms).toBeNull();
    expect(second!.queue_wait_ms).toBeGreaterThan(400);
  });

  it("shows limiter state on /aigw/status", async () => {
    const client = await gateway({ limits: { rpm: 100, concurrency: 4 } });
    await ask(client);
    const status = (await (await fetch(`${gw!.url}/aigw/status`)).json()) as {
      limiters: Record<string, unknown>[];
    };
    expect(status.limiters[0]).toMatchObject({ provider: "up", key_id: null, inFlight: 0, queueDepth: 0 });
  });
});

describe("retries", () => {
  it("rides out two 503s: the client sees 200 with attempts 3", async () => {
    const client = await gateway({ retry: { backoff: "10ms" } });
    fake.script({ status: 503 }, { status: 503 });
    const { data, response } = await ask(client);
    expect(data.choices[0]?.message.content).toBe("Echo: hi");
    expect(response.headers.get("x-aigw-attempts")).toBe("3");
    expect(gw!.rows()[0]).toMatchObject({ status: 200, attempts: 3 });
  });

  it("never retries a 4xx the request caused", async () => {
    const client = await gateway({ retry: { backoff: "10ms" } });
    fake.script({ status: 400, message: "bad" });
    const err = await ask(client).catch((e) => e);
    expect(err.status).toBe(400);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("client limits", () => {
  it("gives a client over its rpm an immediate RateLimitError with the rate-limit headers", async () => {
    await gateway({});
    const { key } = gw!.clients.add({ name: "loop", rpm: 2 }, Date.now());
    gw!.gateway.reload();
    const sdk = new OpenAI({ apiKey: key, baseURL: `${gw!.url}/v1`, maxRetries: 0 });
    const first = await ask(sdk);
    expect(first.response.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(first.response.headers.get("x-ratelimit-remaining-requests")).toBe("1");
    await ask(sdk);
    const err = await ask(sdk).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.error).toMatchObject({ type: "rate_limit_exceeded" });
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(err.headers.get("x-ratelimit-remaining-requests")).toBe("0");
    expect(fake.requests).toHaveLength(2);
  });

  it("applies default_client_limits to anonymous use", async () => {
    const client = await gateway({ default_client_limits: { rpm: 1 } });
    await ask(client);
    const err = await ask(client).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.message).toMatch(/anonymous use is over its rate limit/);
  });
});
