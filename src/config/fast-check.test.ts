import { describe, expect, it } from "vitest";
import { fastCheckConfig } from "./fast-check.js";
import { parseConfig } from "./load.js";

/** Configs the fast check must answer exactly as zod does. */
const valid: unknown[] = [
  {},
  { port: 0, host: "0.0.0.0" },
  {
    providers: { fake: { type: "openai-compatible", base_url: "http://127.0.0.1:9/v1", limits: { tpm: 5 } } },
  },
  {
    port: 4100,
    providers: {
      openai: { api_key_env: "MY_KEY", headers: { "HTTP-Referer": "x" }, timeouts: { connect: "2s" } },
      local: { type: "openai-compatible", base_url: "https://h.example/v1", free: true, responses: "native" },
      mock: { type: "mock", chunks: 3, chunk_delay: 5, latency: "10ms" },
      anthropic: { limits: { rpm: 10, requests: 5, per: "2s", concurrency: 2 } },
    },
    models: {
      fast: "openai/gpt-4o-mini",
      pool: {
        targets: ["a/b", { model: "c/d", weight: 2, params: { max_tokens: 9 } }],
        strategy: "round-robin",
      },
      plain: { targets: ["x/y"] },
    },
    server: { max_body: "1MB", request_timeout: "1m" },
    timeouts: { idle: 5000 },
    cache: {
      enabled: false,
      ttl: "1h",
      max_size: "1GB",
      mode: "replay",
      scope: "client",
      exclude: ["openai/*"],
    },
    circuit_breaker: { failures: 2 },
    responses: { retention: "1d" },
    retry: { max_attempts: 1, backoff: "100ms" },
    default_client_limits: { rpm: 60 },
    queue: { max_depth: 5 },
    budgets: {
      daily_usd: 1.5,
      monthly_usd: 20,
      webhook_url: "https://hooks.example/x",
      timezone: "Europe/Paris",
    },
    pricing: {
      "openai/gpt-x": { input: 1, output: 2, cached_input: 0.5 },
      "local/*": { input: 0, output: 0 },
    },
    shared: { redis: "redis://127.0.0.1:6379", postgres: "postgres://u:p@127.0.0.1/db", prefix: "team_a" },
  },
  { shared: { redis: "rediss://h:1" } },
];

/** Configs it must leave to zod (which rejects them, with its messages). */
const invalid: unknown[] = [
  null,
  [],
  { port: "4000" },
  { port: 70000 },
  { port: 1.5 },
  { nope: 1 },
  { host: "" },
  { server: null },
  { budgets: null },
  { providers: { "bad name": {} } },
  { providers: { x: { type: "openia" } } },
  { providers: { x: { base_url: "ftp://h/x" } } },
  { providers: { x: { base_url: "not a url" } } },
  { providers: { x: { limits: { rpm: 0 } } } },
  { providers: { x: { limits: { rpm: 1, tpn: 2 } } } },
  { providers: { x: { headers: { a: 1 } } } },
  { models: { a: "" } },
  { models: { a: { targets: [] } } },
  { models: { a: { targets: [{ weight: 1 }] } } },
  { models: { a: { targets: ["x"], strategy: "random" } } },
  { cache: { ttl: "soon" } },
  { cache: { max_size: "1TB" } },
  { cache: { exclude: "x" } },
  { retry: { max_attempts: -1 } },
  { pricing: { a: { input: 1 } } },
  { pricing: { a: { input: -1, output: 1 } } },
  { budgets: { daily_usd: 0 } },
  { shared: { redis: "http://h" } },
  { shared: { prefix: "Bad" } },
];

describe("the fast config check", () => {
  it.each(valid.map((c) => [JSON.stringify(c).slice(0, 60), c]))("gives zod's answer for %s", (_, raw) => {
    const fast = fastCheckConfig(raw);
    expect(fast).not.toBeNull();
    expect(fast).toStrictEqual(parseConfig(raw, "test"));
  });

  it.each(invalid.map((c) => [JSON.stringify(c), c]))("leaves %s to zod, which rejects it", (_, raw) => {
    expect(fastCheckConfig(raw)).toBeNull();
    expect(() => parseConfig(raw, "test")).toThrow(/invalid config/);
  });
});
