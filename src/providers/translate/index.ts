/**
 * Pure translation between OpenAI Chat Completions and Anthropic Messages, both directions:
 * requests, full responses, streams and error bodies. Used when a client's wire format differs
 * from its provider's. No I/O, no clock: times and ids come in as parameters.
 */

export {
  chatResponseToMessages,
  createChatToMessagesStream,
  messagesRequestToChat,
  openAIErrorToAnthropic,
} from "./anthropic-to-openai.js";
export {
  anthropicErrorToOpenAI,
  chatRequestToMessages,
  createMessagesToChatStream,
  messagesResponseToChat,
} from "./openai-to-anthropic.js";
export type { SseEvent, StreamTranslator } from "./types.js";
