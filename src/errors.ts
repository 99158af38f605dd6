/** Error types shared by every layer. A leaf module: it imports nothing of ours. */

/** Machine-readable error types, as the client's SDK sees them in `error.type`. */
export type GatewayErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_exceeded"
  | "budget_exceeded"
  | "queue_timeout"
  | "cache_miss"
  | "upstream_error"
  | "upstream_timeout"
  | "api_error";

/**
 * The one error thrown anywhere on the request path. The server renders it exactly once, in the
 * shape of the route's own API (OpenAI or Anthropic), so SDKs raise their normal typed errors.
 */
export class GatewayError extends Error {
  readonly status: number;
  readonly type: GatewayErrorType;
  readonly code: string | null;
  /** Extra response headers, e.g. `retry-after` on a 429. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    type: GatewayErrorType,
    message: string,
    opts: { code?: string | null; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "GatewayError";
    this.status = status;
    this.type = type;
    this.code = opts.code ?? null;
    this.headers = opts.headers ?? {};
  }
}

export const badRequest = (message: string, code: string | null = null): GatewayError =>
  new GatewayError(400, "invalid_request_error", message, { code });
