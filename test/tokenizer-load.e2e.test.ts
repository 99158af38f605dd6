/**
 * A tpm limit needs the tokenizer, which loads in a worker: requests are served (with chars / 4
 * estimates) while it loads, and none waits for it. The load is held on a gate to observe that.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadTokenizer, tokenizerState } from "../src/gateway/limits/tokens.js";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let release: () => void = () => {};
const gate = new Promise<void>((resolve) => {
  release = resolve;
});
// First call wins: the gateway's own warm-up and estimates reuse this held load.
const loaded = loadTokenizer(gate);

let fake: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startTestGateway({
    config: {
      providers: {
        up: { type: "openai-compatible", base_url: fake.openaiBaseUrl, limits: { tpm: 1_000_000 } },
      },
    },
    env: { UP_API_KEY: "sk-up" },
    backgroundWarmUp: true,
  });
  openai = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  release();
  await gw.close();
  await fake.close();
});

const body = { model: "up/m", messages: [{ role: "user" as const, content: "hello world" }] };

describe("the tokenizer loads off the request path", () => {
  it("serves tpm-limited requests with heuristic estimates while it loads, then counts exactly", async () => {
    expect(tokenizerState()).toBe("heuristic");
    const before = await Promise.all([1, 2, 3].map(() => openai.chat.completions.create(body)));
    for (const r of before) expect(r.choices[0]?.message.content).toBeTruthy();
    expect(tokenizerState()).toBe("heuristic"); // the load is still held: nothing waited for it
    // 4 + 3 framing, "hello world" as ceil(11 / 4), 256 expected output.
    expect(gw.gateway.limiters.estimate(body)).toBe(7 + 3 + 256);
    expect((await gw.waitForRows(3)).every((row) => row.status === 200)).toBe(true);

    release();
    expect(await loaded).toBe(true);
    expect(tokenizerState()).toBe("exact");
    expect(gw.gateway.limiters.estimate(body)).toBe(7 + 2 + 256); // o200k_base: "hello", " world"
    await openai.chat.completions.create(body);
    expect(await gw.waitForRows(4)).toHaveLength(4);
  });
});
