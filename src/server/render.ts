import type { GatewayError } from "../errors.js";
import { errorBody } from "../gateway/error-shape.js";
import type { WireFormat } from "../providers/types.js";

/** The one place a GatewayError becomes an HTTP response, in the shape of the route's API. */
export function renderError(
  format: WireFormat,
  err: GatewayError,
  headers: Record<string, string> = {},
): Response {
  const status = err.status === 499 ? 400 : err.status;
  return new Response(JSON.stringify(errorBody(format, err)), {
    status,
    headers: { "content-type": "application/json", ...headers, ...err.headers },
  });
}

/** Anthropic's routes answer in Anthropic's shape; everything else in OpenAI's. */
export function formatOfPath(path: string): WireFormat {
  return path.startsWith("/v1/messages") ? "anthropic" : "openai";
}
