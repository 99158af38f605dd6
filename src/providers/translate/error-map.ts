/**
 * Error bodies between the two APIs. Both SDKs pick their exception class from the HTTP status,
 * so the status is kept by the caller; the body only has to carry the right shape and a type a
 * client can branch on.
 *
 *  - OpenAI:    `{"error":{"message","type","param","code"}}`
 *  - Anthropic: `{"type":"error","error":{"type","message"}}`
 */

import type { ChatErrorBody, MessagesErrorBody } from "./types.js";
import { asRecord, str } from "./util.js";

type OpenAIKind = { type: string; code: string | null };

/** Anthropic `error.type` → the closest OpenAI `{type, code}` (modelled on OpenAI's own bodies). */
const ANTHROPIC_TO_OPENAI: Record<string, OpenAIKind> = {
  invalid_request_error: { type: "invalid_request_error", code: null },
  authentication_error: { type: "invalid_request_error", code: "invalid_api_key" },
  permission_error: { type: "invalid_request_error", code: "permission_denied" },
  not_found_error: { type: "invalid_request_error", code: "not_found" },
  request_too_large: { type: "invalid_request_error", code: "request_too_large" },
  rate_limit_error: { type: "requests", code: "rate_limit_exceeded" },
  billing_error: { type: "insufficient_quota", code: "insufficient_quota" },
  timeout_error: { type: "server_error", code: "timeout" },
  overloaded_error: { type: "server_error", code: "overloaded" },
  api_error: { type: "server_error", code: null },
};

const anthropicTypeForStatus = (status: number): string => {
  if (status === 401) return "authentication_error";
  if (status === 402) return "billing_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 408 || status === 504) return "timeout_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
};

/** The `message` of an error body in either shape, or of a plain-text body. */
const errorMessage = (status: number, body: unknown): string => {
  const rec = asRecord(body);
  const err = rec?.error;
  const message =
    str(asRecord(err)?.message) ?? str(err) ?? str(rec?.message) ?? (typeof body === "string" ? body : "");
  return message.trim() === "" ? `Upstream error (HTTP ${status})` : message;
};

/**
 * An Anthropic error body (or anything an Anthropic upstream sent with an error status) as an
 * OpenAI error body. Unknown types fall back to the status. `status` 0 means "unknown", e.g. for
 * an `error` event inside a stream.
 */
export function anthropicErrorToOpenAI(status: number, body: unknown): ChatErrorBody {
  const type = str(asRecord(asRecord(body)?.error)?.type);
  const kind = (type !== undefined ? ANTHROPIC_TO_OPENAI[type] : undefined) ??
    ANTHROPIC_TO_OPENAI[status === 0 ? "api_error" : anthropicTypeForStatus(status)] ?? {
      type: "server_error",
      code: null,
    };
  return { error: { message: errorMessage(status, body), type: kind.type, param: null, code: kind.code } };
}

/**
 * An OpenAI error body (or anything an OpenAI-type upstream sent with an error status) as an
 * Anthropic error body. OpenAI's `code` is the most specific signal, then the status, then `type`.
 * `status` 0 means "unknown", e.g. for an error frame inside a stream.
 */
export function openAIErrorToAnthropic(status: number, body: unknown): MessagesErrorBody {
  const err = asRecord(asRecord(body)?.error);
  const code = str(err?.code);
  const type = str(err?.type);
  let anthropicType: string;
  if (code === "invalid_api_key") anthropicType = "authentication_error";
  else if (code === "insufficient_quota" || type === "insufficient_quota") anthropicType = "billing_error";
  else if (code === "model_not_found") anthropicType = "not_found_error";
  else if (code === "rate_limit_exceeded") anthropicType = "rate_limit_error";
  else if (status !== 0) anthropicType = anthropicTypeForStatus(status);
  else if (type === "invalid_request_error") anthropicType = "invalid_request_error";
  else anthropicType = "api_error";
  return { type: "error", error: { type: anthropicType, message: errorMessage(status, body) } };
}
