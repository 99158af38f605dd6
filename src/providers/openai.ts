import type { ProviderConfig, ProviderType } from "../config/schema.js";
import { createUpstreamHttp, type HttpTimeouts } from "./http.js";
import type { Provider, Route, UpstreamCall } from "./types.js";

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
    send(call: UpstreamCall) {
      return http.request({
        method: "POST",
        path: PATHS[call.route] + call.query,
        headers: {
          ...pick(call.headers, FORWARDED),
          ...baseHeaders(call.key),
          "content-type": "application/json",
        },
        body: JSON.stringify(call.body),
        signal: call.signal,
      });
    },
    probe(key, signal) {
      return http.request({ method: "GET", path: "/models", headers: baseHeaders(key), signal });
    },
    close: () => http.close(),
  };
}

const FORWARDED = ["openai-organization", "openai-project", "openai-beta"];

export function pick(headers: Record<string, string>, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = headers[name];
    if (value !== undefined) out[name] = value;
  }
  return out;
}
