import type { ProviderType } from "../config/schema.js";

/** The wire formats aigw speaks: Chat Completions, Anthropic Messages, the Responses API. */
export type WireFormat = "openai" | "anthropic" | "responses";

/** Gateway routes that reach a provider. */
export type Route = "chat" | "messages" | "embeddings" | "responses";

export const routeFormat: Record<Route, WireFormat> = {
  chat: "openai",
  messages: "anthropic",
  embeddings: "openai",
  responses: "responses",
};

/** One request to one provider, already in the provider's wire format. */
export interface UpstreamCall {
  route: Route;
  /** Default POST; GET and DELETE (a stored response's resource) send no body. */
  method?: "GET" | "POST" | "DELETE";
  /** Body to send, `model` already set to the upstream model. */
  body: Record<string, unknown>;
  stream: boolean;
  /** The upstream API key, or null for keyless providers. */
  key: string | null;
  /** Client headers that change what an upstream does (`anthropic-beta`, ...); forwarded on same-format routes. */
  headers: Record<string, string>;
  /** The client's query string including `?`, or "". */
  query: string;
  /** A sub-resource of the route's path (`/count_tokens` of `/v1/messages`, `/{id}` of `/v1/responses`), or none. */
  subpath?: string;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body bytes as they arrive. */
  body: AsyncIterable<Uint8Array>;
}

type Headers = Record<string, string | string[] | undefined>;

/** A provider's own header dialect: what it honours from clients and how it states its rate limits. */
export interface HeaderDialect {
  /** Client headers that change what it does (`anthropic-beta`, ...), forwarded on same-format routes. */
  readonly forward: readonly string[];
  /** Requests and tokens left, from its rate-limit headers; null when it sent none. */
  remaining(headers: Headers): { requests: number | null; tokens: number | null } | null;
  /** How long until its limits reset, from its own reset headers (after the standard Retry-After). */
  resetMs(headers: Headers, now: number): number | null;
  /** Whether a response header is one of its rate-limit family (one key's counts, not the client's). */
  isRateHeader(name: string): boolean;
}

export interface ModelListing {
  id: string;
  owned_by: string;
}

export interface Provider {
  /** Config name (`openai`, `groq`, ...), the prefix of `provider/model`. */
  readonly name: string;
  readonly type: ProviderType;
  /** Formats it answers natively; a route in another format needs translation. */
  readonly formats: readonly WireFormat[];
  /** Routes it serves. */
  readonly routes: readonly Route[];
  /** False for local servers and the mock: requests go without a key when none is set. */
  readonly needsKey: boolean;
  /** Environment variable consulted for a key when the key store has none. */
  readonly keyEnv: string;
  readonly baseUrl: string | null;
  /** Failures are per model (the mock's `error-503` models), so one failing model must not open the circuit of all. */
  readonly circuitPerModel?: boolean;
  /** Its header dialect; none means only the standard headers (Retry-After) are understood. */
  readonly dialect?: HeaderDialect;
  /** Requests cost nothing (local servers, the mock, or `free: true`); `pricing:` can still set a price. */
  readonly free?: boolean;
  /** The price table's catalogue that prices it (`openai`, `anthropic`); default its own name (`groq`). */
  readonly priceCatalogue?: string;
  /** The real model a stand-in model imitates (the mock's `gpt-4o-mini`), so a demo can price it as that one. */
  imitates?(model: string): string | null;
  send(call: UpstreamCall): Promise<UpstreamResponse>;
  /** Cheapest authenticated call (list models), for `aigw keys test`. */
  probe(key: string | null, signal: AbortSignal): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
