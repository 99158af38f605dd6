import { GatewayError } from "../errors.js";
import type { WireFormat } from "../providers/types.js";

/** The JSON error body in the shape of a route's own API, so SDKs raise their typed errors. */
export function errorBody(format: WireFormat, err: GatewayError): object {
  if (format === "anthropic") return { type: "error", error: { type: err.type, message: err.message } };
  return { error: { message: err.message, type: err.type, param: null, code: err.code ?? err.type } };
}

/** The same error as one SSE frame, for a stream that already started. */
export function errorFrame(format: WireFormat, err: GatewayError): string {
  const body = JSON.stringify(errorBody(format, err));
  if (format === "responses") {
    // A Responses client expects the stream to end in `response.failed`, with an OpenAI error code.
    const failed = {
      type: "response.failed",
      response: { status: "failed", error: { code: err.code ?? err.type, message: err.message } },
    };
    return `event: response.failed\ndata: ${JSON.stringify(failed)}\n\n`;
  }
  return format === "anthropic" ? `event: error\ndata: ${body}\n\n` : `data: ${body}\n\n`;
}

/** Anything thrown becomes a GatewayError; unexpected ones are 500s that reveal nothing internal. */
export function toGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return new GatewayError(500, "api_error", "internal gateway error (run with AIGW_DEBUG=1 for details)", {
    cause: err,
  });
}

/** The `error.message` of an upstream error body of either format, if it has one. */
export function upstreamMessage(bytes: Uint8Array): string | null {
  try {
    const body = JSON.parse(Buffer.from(bytes).toString("utf8")) as { error?: { message?: unknown } };
    return typeof body.error?.message === "string" ? body.error.message : null;
  } catch {
    return null;
  }
}
