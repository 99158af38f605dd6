import type { ProviderConfig, ProviderType } from "../config/schema.js";
import { createUpstreamHttp, type HttpTimeouts } from "./http.js";
import type { HeaderDialect, Provider, Route, UpstreamCall } from "./types.js";

const PATHS: Record<Route, string> = {
  chat: "/chat/completions",
  embeddings: "/embeddings",
  messages: "",
  responses: "/responses",
};

/** Model names that belong to OpenAI when a client names no provider. */
export const openaiModelPattern = /^(gpt-|o\d|chatgpt-|text-embedding-|omni-moderation|codex-|computer-use-)/;

/** OpenAI and any server that speaks its API (Ollama, vLLM, LM Studio, Groq, OpenRouter, ...). */
export function createOpenAIProvider(
  name: string,
  type: Extract<ProviderType, "openai" | "openai-compatible">,
  config: ProviderConfig & { base_url: string },
  timeouts: HttpTimeouts,
): Provider {
  const http = createUpstreamHttp(config.base_url, timeouts);
  const baseHeaders = (key: string | null): Record<string, string> => ({
    ...config.headers,
    ...(key ? { authorization: `Bearer ${key}` } : {}),
  });
  return {
    name,
    type,
    // OpenAI serves the Responses API itself; other servers only when configured `responses: native`.
    ...(type === "openai" || config.responses === "native"
      ? { formats: ["openai", "responses"], routes: ["chat", "embeddings", "responses"] }
      : { formats: ["openai"], routes: ["chat", "embeddings"] }),
    needsKey: type === "openai",
    keyEnv: config.api_key_env ?? `${name.toUpperCase().replace(/-/g, "_")}_API_KEY`,
    baseUrl: config.base_url,
    dialect: openaiDialect,
    free: config.free ?? false,
    ...(type === "openai" ? { priceCatalogue: "openai" } : {}),
    send(call: UpstreamCall) {
      const method = call.method ?? "POST";
      const headers = { ...pick(call.headers, openaiDialect.forward), ...baseHeaders(call.key) };
      const path = PATHS[call.route] + (call.subpath ?? "") + call.query;
      if (method !== "POST") return http.request({ method, path, headers, signal: call.signal });
      headers["content-type"] = "application/json";
      return http.request({ method, path, headers, body: JSON.stringify(call.body), signal: call.signal });
    },
    probe(key, signal) {
      return http.request({ method: "GET", path: "/models", headers: baseHeaders(key), signal });
    },
    close: () => http.close(),
  };
}

type Headers = Record<string, string | string[] | undefined>;

/** OpenAI's `x-ratelimit-*` headers: remaining counts, and resets as Go durations ("1s", "6m0s"). */
export const openaiDialect: HeaderDialect = {
  forward: ["openai-organization", "openai-project", "openai-beta"],
  remaining(headers) {
    const requests = num(headers["x-ratelimit-remaining-requests"]);
    const tokens = num(headers["x-ratelimit-remaining-tokens"]);
    return requests === null && tokens === null ? null : { requests, tokens };
  },
  resetMs(headers) {
    for (const name of ["x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"]) {
      const value = one(headers, name);
      const parsed = value ? parseGoDuration(value) : null;
      if (parsed !== null) return parsed;
    }
    return null;
  },
  isRateHeader: (name) => name.startsWith("x-ratelimit-"),
};

export function one(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export function num(value: string | string[] | undefined): number | null {
  const n = Number(Array.isArray(value) ? value[0] : value);
  return value === undefined || !Number.isFinite(n) ? null : n;
}

/** "1s", "6m0s", "120ms", "1h2m3.5s" → ms. */
export function parseGoDuration(text: string): number | null {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let matched = "";
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * units[m[2]!]!;
    matched += m[0];
  }
  return matched === text && matched ? total : null;
}

export function pick(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
