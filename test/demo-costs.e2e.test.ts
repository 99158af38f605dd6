/**
 * `--demo` shows money: a mock answer is priced as the real model it imitates, marked simulated in the
 * usage row, so costs, budgets and the cache's savings can be tried with no key.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterEach, describe, expect, it } from "vitest";
import { parseConfig } from "../src/config/load.js";
import { Pricing } from "../src/gateway/pricing.js";
import { createProviders } from "../src/providers/registry.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let gw: TestGateway | null = null;
afterEach(async () => {
  await gw?.close();
  gw = null;
});

const ask = (content: string) => [{ role: "user" as const, content }];

/** What the real provider's price table says these tokens cost. */
async function realCost(provider: string, model: string, input: number, output: number): Promise<number> {
  const pricing = new Pricing({});
  await pricing.load();
  const real = createProviders(parseConfig({}, "test")).get(provider)!;
  return pricing.cost(real, model, { input, cachedInput: 0, cacheWrite: 0, output })!;
}

describe("demo costs", () => {
  it("prices a demo answer as the model it imitates, marked simulated, in both formats", async () => {
    gw = await startTestGateway({ demo: true });
    const openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const anthropic = new Anthropic({ apiKey: "unused", baseURL: gw.url, maxRetries: 0 });
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: ask("price me") });
    await anthropic.messages.create({ model: "claude-haiku-4-5", max_tokens: 50, messages: ask("me too") });
    await openai.chat.completions.create({ model: "mock/echo", messages: ask("echo imitates nothing") });
    const [gpt, claude, echo] = await gw.waitForRows(3);
    expect(gpt).toMatchObject({ provider: "mock", upstream_model: "gpt-4o-mini", simulated: true });
    expect(gpt!.cost_usd).toBeGreaterThan(0);
    expect(gpt!.cost_usd).toBe(
      await realCost("openai", "gpt-4o-mini", gpt!.input_tokens!, gpt!.output_tokens!),
    );
    expect(claude).toMatchObject({ provider: "mock", simulated: true });
    expect(claude!.cost_usd).toBe(
      await realCost("anthropic", "claude-haiku-4-5", claude!.input_tokens!, claude!.output_tokens!),
    );
    expect(echo).toMatchObject({ cost_usd: 0, simulated: false });
  });

  it("keeps the mock free outside demo mode", async () => {
    gw = await startTestGateway();
    const openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: "mock/gpt-4o-mini", messages: ask("free") });
    const [row] = await gw.waitForRows(1);
    expect(row).toMatchObject({ cost_usd: 0, simulated: false });
  });

  it("trips a budget in demo mode", async () => {
    gw = await startTestGateway({ demo: true, config: { budgets: { daily_usd: 0.000001 } } });
    const openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: "gpt-4o", messages: ask("spend it all") });
    const err = await openai.chat.completions
      .create({ model: "gpt-4o", messages: ask("one more") })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect((err as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("budget_exceeded");
    const rows = await gw.waitForRows(2);
    expect(rows[0]!.cost_usd).toBeGreaterThan(0.000001);
  });

  it("shows the cache's savings of a demo answer", async () => {
    gw = await startTestGateway({ demo: true, config: { cache: { enabled: true } } });
    const openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: ask("cache me") });
    await gw.waitForRows(1);
    await openai.chat.completions.create({ model: "gpt-4o-mini", messages: ask("cache me") });
    const [miss, hit] = await gw.waitForRows(2);
    expect(miss).toMatchObject({ cache: "MISS", simulated: true });
    expect(hit!.cache).toBe("HIT");
    expect(hit!.saved_usd).toBe(miss!.cost_usd);
    expect(hit!.saved_usd).toBeGreaterThan(0);
  });
});
