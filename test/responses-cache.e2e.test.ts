/** The response cache on `/v1/responses`: a repeated prompt is a HIT, as JSON and replayed as a stream. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startTestGateway({
    config: {
      providers: { openai: { base_url: fake.openaiBaseUrl }, anthropic: { base_url: fake.anthropicBaseUrl } },
      cache: { enabled: true },
    },
    env: { OPENAI_API_KEY: "sk-up", ANTHROPIC_API_KEY: "sk-up" },
  });
  client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

describe.each(["openai/gpt-4.1-mini", "anthropic/claude-haiku-4-5"])(
  "cache on /v1/responses to %s",
  (model) => {
    it("answers a repeated request from the cache, as JSON and as a stream the SDK parses", async () => {
      const input = `cache me ${model}`;
      const first = await client.responses.create({ model, input }).withResponse();
      expect(first.response.headers.get("x-aigw-cache")).toBe("MISS");
      const calls = fake.requests.length;
      const again = await client.responses.create({ model, input }).withResponse();
      expect(again.response.headers.get("x-aigw-cache")).toBe("HIT");
      expect(again.data.output_text).toBe(first.data.output_text);
      const streamed = await client.responses.stream({ model, input }).finalResponse();
      expect(streamed.output_text).toBe(`Echo: ${input}`);
      expect(fake.requests.length).toBe(calls);
    });
  },
);
