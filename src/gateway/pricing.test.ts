import { describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import { createProviders } from "../providers/registry.js";
import type { TokenUsage } from "../providers/usage.js";
import { Pricing } from "./pricing.js";

const providers = createProviders(
  parseConfig(
    {
      providers: {
        groq: { type: "openai-compatible", base_url: "https://api.groq.com/openai/v1" },
        lan: { type: "openai-compatible", base_url: "http://127.0.0.1:8000/v1" },
        home: { type: "openai-compatible", base_url: "http://127.0.0.1:8001/v1", free: true },
        // A paid API behind a loopback proxy (egress proxy, recorder, SSH tunnel) still costs money.
        proxied: { type: "openai", base_url: "http://127.0.0.1:8080/v1" },
      },
    },
    "test",
  ),
);
const usage = (input: number, output: number, cachedInput = 0, cacheWrite = 0): TokenUsage => ({
  input,
  output,
  cachedInput,
  cacheWrite,
});

describe("Pricing", async () => {
  const pricing = new Pricing(
    parseConfig(
      {
        pricing: {
          "openai/gpt-4o-mini": { input: 1, output: 2 },
          "groq/*": { input: 0.5, output: 0.8, cached_input: 0.1 },
          "my-finetune": { input: 3, output: 6 },
        },
      },
      "test",
    ).pricing,
  );
  const catalogue = new Pricing({});
  await Promise.all([pricing.load(), catalogue.load()]);

  // Expected values: the providers' published USD per 1M tokens (gpt-4o: 2.50 in / 1.25 cached / 10 out;
  // claude-haiku-4-5: 1 in / 0.10 cache read / 1.25 cache write / 5 out).
  it.each([
    ["openai", "gpt-4o", usage(1_000_000, 0), 2.5],
    ["openai", "gpt-4o", usage(1_000_000, 100_000, 400_000), 0.6 * 2.5 + 0.4 * 1.25 + 1],
    ["anthropic", "claude-haiku-4-5", usage(10_000, 1_000), 0.01 + 0.005],
    [
      "anthropic",
      "claude-haiku-4-5",
      usage(10_000, 1_000, 4_000, 2_000),
      0.004 * 1 + 0.004 * 0.1 + 0.002 * 1.25 + 0.005,
    ],
  ])("%s/%s %j → $%d from the maintained table", (provider, model, u, expected) => {
    expect(catalogue.cost(providers.get(provider)!, model, u)).toBeCloseTo(expected, 9);
  });

  it("matches the package's own calculation, long-context tiers included", async () => {
    const { calcPrice } = await import("@pydantic/genai-prices");
    const cases: [string, string, TokenUsage][] = [
      ["openai", "gpt-4o-mini", usage(1234, 567, 200)],
      ["anthropic", "claude-sonnet-4-5", usage(12_000, 800, 3_000, 1_000)],
      ["anthropic", "claude-sonnet-4-5", usage(250_000, 800, 10_000, 5_000)], // over 200k: the higher tier
      ["anthropic", "claude-haiku-4-5", usage(5_000, 300)],
    ];
    for (const [provider, model, u] of cases) {
      const expected = calcPrice(
        {
          input_tokens: u.input!,
          cache_read_tokens: u.cachedInput!,
          cache_write_tokens: u.cacheWrite!,
          output_tokens: u.output!,
        },
        model,
        { providerId: provider },
      )!.total_price;
      expect(catalogue.cost(providers.get(provider)!, model, u)).toBeCloseTo(expected, 9);
    }
    const sonnet = (n: number) =>
      catalogue.cost(providers.get("anthropic")!, "claude-sonnet-4-5", usage(n, 0))! / n;
    expect(sonnet(250_000)).toBeGreaterThan(sonnet(100_000) * 1.5);
  });

  it("is null (unpriced), never 0, for a model nobody knows", () => {
    expect(catalogue.cost(providers.get("openai")!, "gpt-nonexistent-9", usage(1000, 1000))).toBeNull();
    expect(catalogue.cost(providers.get("groq")!, "no-such-model", usage(1000, 1000))).toBeNull();
  });

  it("prices the built-in ollama and mock and a provider that says free: true at 0, nothing else", () => {
    expect(catalogue.cost(providers.get("mock")!, "anything", usage(1000, 1000))).toBe(0);
    expect(catalogue.cost(providers.get("ollama")!, "llama3.2", usage(1000, 1000))).toBe(0);
    expect(catalogue.cost(providers.get("home")!, "qwen", usage(1000, 1000))).toBe(0);
    // On loopback is not free: unknown to every table is unpriced, a known model is priced.
    expect(catalogue.cost(providers.get("lan")!, "qwen", usage(1000, 1000))).toBeNull();
    expect(catalogue.cost(providers.get("proxied")!, "gpt-4o", usage(1_000_000, 0))).toBeCloseTo(2.5, 9);
  });

  it("lets the config override by provider/model, by model, and by glob, cached input at its own price", () => {
    expect(pricing.cost(providers.get("openai")!, "gpt-4o-mini", usage(1_000_000, 1_000_000))).toBeCloseTo(
      3,
      9,
    );
    expect(
      pricing.cost(providers.get("groq")!, "llama-3.3", usage(1_000_000, 1_000_000, 500_000)),
    ).toBeCloseTo(0.25 + 0.05 + 0.8, 9);
    expect(pricing.cost(providers.get("mock")!, "my-finetune", usage(1_000_000, 0))).toBeCloseTo(3, 9);
  });

  it("has no cost without any usage", () => {
    expect(
      catalogue.cost(providers.get("openai")!, "gpt-4o", {
        input: null,
        output: null,
        cachedInput: null,
        cacheWrite: null,
      }),
    ).toBeNull();
  });
});
