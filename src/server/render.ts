import { GatewayError } from "../errors.js";
import { errorBody } from "../gateway/error-shape.js";
import type { WireFormat } from "../providers/types.js";

/** The one place a GatewayError becomes an HTTP response, in the shape of the route's API. */
export function renderError(
  format: WireFormat,
  err: GatewayError,
  headers: Record<string, string> = {},
): Response {
  const parts = errorParts(format, err, headers);
  return new Response(parts.body, { status: parts.status, headers: parts.headers });
}

/** `renderError`'s status, headers and JSON text, for a writer of node's response. */
export function errorParts(
  format: WireFormat,
  err: GatewayError,
  headers: Record<string, string> = {},
): { status: number; headers: Record<string, string>; body: string } {
  return {
    status: err.status === 499 ? 400 : err.status,
    headers: { "content-type": "application/json", ...headers, ...err.headers },
    body: JSON.stringify(errorBody(format, err)),
  };
}

/** A bug of ours (a 500, even wrapped by the pipeline) is always worth a line on stderr. */
export function reportError(err: unknown, debug: boolean): void {
  const bug = err instanceof GatewayError ? (err.status === 500 ? (err.cause ?? err) : null) : err;
  if (debug || bug) console.error(debug ? (bug ?? err) : `aigw: ${String(bug)}`);
}

/** Anthropic's routes answer in Anthropic's shape; everything else in OpenAI's. */
export function formatOfPath(path: string): WireFormat {
  return path.startsWith("/v1/messages") ? "anthropic" : "openai";
}
