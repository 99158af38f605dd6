/**
 * What coding agents need besides the model routes: Anthropic's count_tokens through any provider,
 * Codex's model probe, and compressed request bodies. Through the official SDKs against a real aigw.
 */
import { brotliCompressSync, gzipSync } from "node:zlib";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: ["sk-up-anthropic", "sk-up-local"] });
  gw = await startTestGateway({
    config: {
      providers: {
        anthropic: { base_url: fake.anthropicBaseUrl },
        local: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
      },
    },
    env: { ANTHROPIC_API_KEY: "sk-up-anthropic", LOCAL_API_KEY: "sk-up-local" },
  });
  anthropic = new Anthropic({ apiKey: "unused", baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

beforeEach(() => fake.reset());

const messages = [{ role: "user" as const, content: "How many tokens is this sentence, roughly?" }];

describe("POST /v1/messages/count_tokens", () => {
  it("is forwarded to Anthropic with the model rewritten and the beta header kept", async () => {
    const { data, response } = await anthropic.messages
      .countTokens(
        { model: "anthropic/claude-haiku-4-5", messages },
        { headers: { "anthropic-beta": "token-counting-2024-11-01" } },
      )
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(0);
    const sent = fake.requests.at(-1)!;
    expect(sent.path).toBe("/v1/messages/count_tokens");
    expect(sent.body.model).toBe("claude-haiku-4-5");
    expect(sent.headers["anthropic-beta"]).toBe("token-counting-2024-11-01");
    expect(sent.headers["x-api-key"]).toBe("sk-up-anthropic");
    expect(response.headers.get("x-aigw-request-id")).toMatch(/^req_/);
  });

  it("is estimated with the tokenizer for a provider that has no such endpoint", async () => {
    const { data, response } = await anthropic.messages
      .countTokens({ model: "local/llama3.2", messages, system: "Be brief." })
      .withResponse();
    expect(data.input_tokens).toBeGreaterThan(5);
    expect(data.input_tokens).toBeLessThan(60);
    expect(response.headers.get("x-aigw-estimated")).toBe("true");
    expect(fake.requests).toHaveLength(0);
  });

  it("answers a missing messages field with a 400 in Anthropic's shape", async () => {
    const err = await anthropic.messages.countTokens({ model: "local/x" } as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({ type: "error" });
  });
});

describe("Codex's probes and compressed bodies", () => {
  it("answers GET /v1/models?client_version= with the list and an empty Codex `models` array", async () => {
    const res = await fetch(`${gw.url}/v1/models?client_version=0.63.0`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { object: string; data: unknown[]; models: unknown[] };
    expect(body.object).toBe("list");
    expect(body.data.length).toBeGreaterThan(0);
    expect(body.models).toEqual([]);
  });

  const post = (body: Buffer, encoding: string) =>
    fetch(`${gw.url}/v1/messages/count_tokens`, {
      method: "POST",
      headers: { "content-type": "application/json", "content-encoding": encoding },
      body,
    });
  const json = Buffer.from(JSON.stringify({ model: "local/llama3.2", messages }));

  it.each([
    ["gzip", gzipSync(json)],
    ["br", brotliCompressSync(json)],
  ])("decodes a %s request body", async (encoding, bytes) => {
    const res = await post(bytes, encoding);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { input_tokens: number }).input_tokens).toBeGreaterThan(0);
  });

  it("refuses zstd (Node 20 has no decoder) with 415, and corrupt gzip with 400", async () => {
    expect((await post(json, "zstd")).status).toBe(415);
    expect((await post(Buffer.from("not gzip"), "gzip")).status).toBe(400);
  });
});
