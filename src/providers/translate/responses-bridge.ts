/** The per-request bridge from a Responses client to a Chat Completions or Anthropic provider. */

import { type Bridge, DEFAULT_MAX_TOKENS } from "./bridge.js";
import { anthropicErrorToOpenAI } from "./index.js";
import type { ResponseContext } from "./responses-object.js";
import { createChatToResponsesStream, createMessagesToResponsesStream } from "./responses-stream-adapters.js";
import { chatResponseToResponses, responsesRequestToChat } from "./responses-to-chat.js";
import { messagesResponseToResponses, responsesRequestToMessages } from "./responses-to-messages.js";
import { planTools } from "./responses-tools.js";
import { asRecord, type JsonRecord } from "./util.js";

/** The id a translated response gets: derived from the request id, so logs and stored state agree. */
export const responseIdFor = (requestId: string): string => `resp_${requestId.replace(/^req_/, "")}`;

/**
 * Built per request: the tool plan (names to restore, hosted tools dropped) and the response id are
 * the request's own. `now` is seconds since the epoch.
 */
export function responsesBridge(
  to: "openai" | "anthropic",
  req: { id: string; body: JsonRecord },
  now: () => number,
): Bridge {
  const plan = planTools(req.body);
  const ctx = (model: string): ResponseContext & { plan: typeof plan } => ({
    id: responseIdFor(req.id),
    model,
    createdAt: now(),
    request: req.body,
    plan,
  });
  if (to === "anthropic") {
    return {
      from: "responses",
      to,
      request: (body, upstreamModel) =>
        responsesRequestToMessages(body, { upstreamModel, plan, defaultMaxTokens: DEFAULT_MAX_TOKENS }),
      response: (body, model) => messagesResponseToResponses(body, ctx(model)),
      stream: (model) => createMessagesToResponsesStream(ctx(model)),
      error: (status, body) => anthropicErrorToOpenAI(status, body),
    };
  }
  return {
    from: "responses",
    to,
    request: (body, upstreamModel) => responsesRequestToChat(body, { upstreamModel, plan }),
    response: (body, model) => chatResponseToResponses(body, ctx(model)),
    stream: (model) => createChatToResponsesStream(ctx(model)),
    // A chat provider's error is already in OpenAI's shape.
    error: (status, body) =>
      asRecord(asRecord(body)?.error)
        ? (body as object)
        : {
            error: {
              message: `upstream answered HTTP ${status}`,
              type: "upstream_error",
              param: null,
              code: null,
            },
          },
  };
}
