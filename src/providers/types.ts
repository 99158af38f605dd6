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
  /** Body to send, `model` already set to the upstream model. */
  body: Record<string, unknown>;
  stream: boolean;
  /** The upstream API key, or null for keyless providers. */
  key: string | null;
  /** Client headers that change what an upstream does (`anthropic-beta`, ...); forwarded on same-format routes. */
  headers: Record<string, string>;
  /** The client's query string including `?`, or "". */
  query: string;
  /** A sub-resource of the route's path (`/count_tokens` of `/v1/messages`), or none. */
  subpath?: string;
  signal: AbortSignal;
}

export interface UpstreamResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Raw body bytes as they arrive. */
  body: AsyncIterable<Uint8Array>;
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
  send(call: UpstreamCall): Promise<UpstreamResponse>;
  /** Cheapest authenticated call (list models), for `aigw keys test`. */
  probe(key: string | null, signal: AbortSignal): Promise<UpstreamResponse>;
  close(): Promise<void>;
}
