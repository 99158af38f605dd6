import type { ProviderConfig } from "../config/schema.js";
import { createUpstreamHttp, type HttpTimeouts } from "./http.js";
import { num, one, pick } from "./openai.js";
import type { HeaderDialect, Provider, UpstreamCall } from "./types.js";

/** Sent when a client (curl, say) names no API version. */
export const DEFAULT_ANTHROPIC_VERSION = "2023-06-01";

export const anthropicModelPattern = /^claude-/;

export function createAnthropicProvider(
  name: string,
  config: ProviderConfig & { base_url: string },
  timeouts: HttpTimeouts,
): Provider {
  const http = createUpstreamHttp(config.base_url, timeouts);
  const headersFor = (key: string | null, client: Record<string, string>): Record<string, string> => ({
    ...config.headers,
    ...pick(client, ["anthropic-beta"]),
    "anthropic-version": client["anthropic-version"] ?? DEFAULT_ANTHROPIC_VERSION,
    ...(key ? { "x-api-key": key } : {}),
  });
  return {
    name,
    type: "anthropic",
    formats: ["anthropic"],
    routes: ["messages"],
    needsKey: true,
    keyEnv: config.api_key_env ?? `${name.toUpperCase().replace(/-/g, "_")}_API_KEY`,
    baseUrl: config.base_url,
    dialect: anthropicDialect,
    free: config.free ?? false,
    priceCatalogue: "anthropic",
    send(call: UpstreamCall) {
      return http.request({
        method: "POST",
        path: `/v1/messages${call.subpath ?? ""}${call.query}`,
        headers: { ...headersFor(call.key, call.headers), "content-type": "application/json" },
        body: JSON.stringify(call.body),
        signal: call.signal,
      });
    },
    probe(key, signal) {
      return http.request({ method: "GET", path: "/v1/models", headers: headersFor(key, {}), signal });
    },
    close: () => http.close(),
  };
}

/** Anthropic's `anthropic-ratelimit-*` headers: remaining counts, and resets as RFC 3339 times. */
export const anthropicDialect: HeaderDialect = {
  forward: ["anthropic-version", "anthropic-beta"],
  remaining(headers) {
    const requests = num(headers["anthropic-ratelimit-requests-remaining"]);
    const tokens = num(headers["anthropic-ratelimit-tokens-remaining"]);
    return requests === null && tokens === null ? null : { requests, tokens };
  },
  resetMs(headers, now) {
    for (const name of ["anthropic-ratelimit-requests-reset", "anthropic-ratelimit-tokens-reset"]) {
      const value = one(headers, name);
      const date = value ? Date.parse(value) : Number.NaN;
      if (!Number.isNaN(date)) return Math.max(0, date - now);
    }
    return null;
  },
  isRateHeader: (name) => name.startsWith("anthropic-ratelimit-"),
};
