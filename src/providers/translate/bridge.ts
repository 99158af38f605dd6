import type { WireFormat } from "../types.js";
import {
  anthropicErrorToOpenAI,
  chatRequestToMessages,
  chatResponseToMessages,
  createChatToMessagesStream,
  createMessagesToChatStream,
  messagesRequestToChat,
  messagesResponseToChat,
  openAIErrorToAnthropic,
} from "./index.js";
import type { StreamTranslator } from "./types.js";

/** Anthropic requires max_tokens; an OpenAI client that sends none gets this. */
export const DEFAULT_MAX_TOKENS = 4096;

/** Carries one request across wire formats: the client speaks `from`, the provider `to`. */
export interface Bridge {
  readonly from: WireFormat;
  readonly to: WireFormat;
  request(body: Record<string, unknown>, upstreamModel: string): Record<string, unknown>;
  response(body: Record<string, unknown>, requestedModel: string): Record<string, unknown>;
  stream(requestedModel: string, opts: { includeUsage: boolean; requestId: string }): StreamTranslator;
  error(status: number, body: unknown): object;
}

const openaiClientToAnthropic: Bridge = {
  from: "openai",
  to: "anthropic",
  request: (body, upstreamModel) =>
    chatRequestToMessages(body, { upstreamModel, defaultMaxTokens: DEFAULT_MAX_TOKENS }),
  response: (body, model) => messagesResponseToChat(body, { model, created: Math.floor(Date.now() / 1000) }),
  stream: (model, { includeUsage }) =>
    createMessagesToChatStream({ model, created: Math.floor(Date.now() / 1000), includeUsage }),
  error: (status, body) => anthropicErrorToOpenAI(status, body),
};

const anthropicClientToOpenAI: Bridge = {
  from: "anthropic",
  to: "openai",
  request: (body, upstreamModel) => messagesRequestToChat(body, { upstreamModel }),
  response: (body, model) => chatResponseToMessages(body, { model }),
  stream: (model, { requestId }) =>
    createChatToMessagesStream({ model, messageId: `msg_${requestId.replace(/^req_/, "")}` }),
  error: (status, body) => openAIErrorToAnthropic(status, body),
};

/** The bridge from a client's format to a provider's, or null when they match (pass-through). */
export function bridgeFor(client: WireFormat, provider: WireFormat): Bridge | null {
  if (client === provider) return null;
  return client === "openai" ? openaiClientToAnthropic : anthropicClientToOpenAI;
}
