import { describe, expect, it } from "vitest";
import { type CacheKeyInput, cacheKey, canonicalJson, isCacheable, uncacheableReason } from "./cache-key.js";

const chat = (body: Record<string, unknown>, over: Partial<CacheKeyInput> = {}): string =>
  cacheKey({ format: "openai", route: "chat", model: "openai/gpt-4o-mini", body, ...over });

const base = {
  model: "cheap",
  messages: [
    { role: "system", content: "Be brief." },
    { role: "user", content: [{ type: "text", text: "Hi" }] },
  ],
  temperature: 0.2,
  tools: [
    { type: "function", function: { name: "f", parameters: { type: "object", properties: { a: {} } } } },
  ],
};

describe("canonicalJson", () => {
  it("sorts object keys at every depth, keeps array order, drops undefined members", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: undefined } })).toBe(
      '{"a":{"d":[3,{"y":2,"z":1}]},"b":1}',
    );
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
    expect(canonicalJson("é\n")).toBe(JSON.stringify("é\n"));
  });
});

describe("cacheKey", () => {
  it("is a SHA-256 hex digest, stable across calls", () => {
    expect(chat(base)).toMatch(/^[0-9a-f]{64}$/);
    expect(chat(base)).toBe(chat(structuredClone(base)));
  });

  it("ignores key order at every depth", () => {
    const reordered = {
      tools: [
        { function: { parameters: { properties: { a: {} }, type: "object" }, name: "f" }, type: "function" },
      ],
      temperature: 0.2,
      messages: [
        { content: "Be brief.", role: "system" },
        { content: [{ text: "Hi", type: "text" }], role: "user" },
      ],
      model: "cheap",
    };
    expect(chat(reordered)).toBe(chat(base));
  });

  it("gives a stream and a non-stream request the same key; usage options and who-is-asking don't count", () => {
    const key = chat(base);
    expect(chat({ ...base, stream: true, stream_options: { include_usage: true } })).toBe(key);
    expect(chat({ ...base, stream: false })).toBe(key);
    expect(chat({ ...base, user: "u1", metadata: { a: "b" }, store: true, service_tier: "flex" })).toBe(key);
    expect(
      chat({ ...base, safety_identifier: "x", prompt_cache_key: "k", prompt_cache_retention: "24h" }),
    ).toBe(key);
    expect(chat({ ...base, model: "gpt-4o-mini" })).toBe(key); // the resolved model is keyed instead
    expect(chat({ ...base, seed: null, stop: null })).toBe(key); // null = default = absent
  });

  it("differs for anything that can change the answer", () => {
    const key = chat(base);
    const variants: Record<string, unknown>[] = [
      { ...base, temperature: 0.3 },
      { ...base, temperature: undefined },
      { ...base, top_p: 0.9 },
      { ...base, max_tokens: 10 },
      { ...base, max_completion_tokens: 10 },
      { ...base, seed: 7 },
      { ...base, stop: ["\n"] },
      { ...base, response_format: { type: "json_object" } },
      { ...base, tool_choice: "required" },
      { ...base, parallel_tool_calls: false },
      { ...base, reasoning_effort: "high" },
      { ...base, logprobs: true },
      { ...base, some_future_field: 1 },
      { ...base, tools: [] },
      { ...base, messages: [...base.messages].reverse() },
      { ...base, messages: [base.messages[0], { role: "user", content: [{ type: "text", text: "Hi!" }] }] },
    ];
    const keys = variants.map((v) => chat(v));
    for (const k of keys) expect(k).not.toBe(key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("partitions by resolved model, route/format, namespace, client and behaviour headers", () => {
    const key = chat(base);
    expect(chat(base, { model: "openai/gpt-4o" })).not.toBe(key);
    expect(chat(base, { model: "groq/gpt-4o-mini" })).not.toBe(key);
    expect(chat(base, { format: "anthropic", route: "messages" })).not.toBe(key);
    expect(chat(base, { namespace: "team-a" })).not.toBe(key);
    expect(chat(base, { namespace: "team-a" })).not.toBe(chat(base, { namespace: "team-b" }));
    expect(chat(base, { namespace: "" })).toBe(key);
    expect(chat(base, { client: "web" })).not.toBe(key);
    expect(chat(base, { client: "web" })).not.toBe(chat(base, { client: "cli" }));
    // A namespace that looks like a client is still a different scope.
    expect(chat(base, { namespace: "web" })).not.toBe(chat(base, { client: "web" }));
    const beta = { "anthropic-beta": "context-1m-2025-08-07" };
    expect(chat(base, { headers: beta })).not.toBe(key);
    expect(chat(base, { headers: { "Anthropic-Beta": "context-1m-2025-08-07" } })).toBe(
      chat(base, { headers: beta }),
    );
    expect(chat(base, { headers: {} })).toBe(key);
  });

  it("keys Anthropic bodies the same way (system, thinking, stop_sequences count; metadata doesn't)", () => {
    const msg = (body: Record<string, unknown>) =>
      cacheKey({ format: "anthropic", route: "messages", model: "anthropic/claude-haiku-4-5", body });
    const m = { model: "claude-haiku-4-5", max_tokens: 100, messages: [{ role: "user", content: "Hi" }] };
    const key = msg(m);
    expect(msg({ ...m, stream: true, metadata: { user_id: "u" } })).toBe(key);
    expect(msg({ ...m, system: "Be brief." })).not.toBe(key);
    expect(msg({ ...m, top_k: 5 })).not.toBe(key);
    expect(msg({ ...m, stop_sequences: ["END"] })).not.toBe(key);
    expect(msg({ ...m, thinking: { type: "enabled", budget_tokens: 2000 } })).not.toBe(key);
  });
});

describe("isCacheable", () => {
  it("caches chat, messages and embeddings, streamed or not, tools included", () => {
    expect(isCacheable("chat", base)).toBe(true);
    expect(isCacheable("chat", { ...base, stream: true, n: 1 })).toBe(true);
    expect(isCacheable("messages", { messages: [], tools: [{ name: "t", input_schema: {} }] })).toBe(true);
    expect(isCacheable("embeddings", { input: "x" })).toBe(true);
  });

  it("refuses n > 1, audio output, remote MCP actions, stateful containers and other routes", () => {
    expect(uncacheableReason("chat", { ...base, n: 2 })).toContain("n > 1");
    expect(isCacheable("chat", { ...base, modalities: ["text", "audio"] })).toBe(false);
    expect(isCacheable("chat", { ...base, audio: { voice: "alloy", format: "wav" } })).toBe(false);
    expect(isCacheable("messages", { mcp_servers: [{ type: "url", url: "https://x", name: "x" }] })).toBe(
      false,
    );
    expect(isCacheable("messages", { container: "container_01" })).toBe(false);
    expect(isCacheable("messages", { mcp_servers: [] })).toBe(true);
    expect(uncacheableReason("models", {})).toContain("not cached");
  });
});
