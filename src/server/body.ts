import type { Context } from "hono";
import { badRequest, GatewayError } from "../errors.js";
import type { AppEnv } from "./app.js";
import { bodyText } from "./node-request.js";

/**
 * Reads a request body of at most `max` bytes and parses it as a JSON object. Over the limit → 413
 * (checked against content-length first, then while reading, so a lying client is cut off too).
 */
export async function readJsonBody(c: Context<AppEnv>, max: number): Promise<Record<string, unknown>> {
  const text = await bodyText(c, max);
  if (text === undefined) throw tooLarge(max);
  if (!text) throw badRequest("request body is empty: expected a JSON object");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw badRequest(`request body is not valid JSON (${(err as Error).message})`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badRequest("request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

function tooLarge(max: number): GatewayError {
  const mb = (max / 1024 / 1024).toFixed(max >= 1024 * 1024 ? 0 : 2);
  return new GatewayError(
    413,
    "request_too_large",
    `request body is over the ${mb} MB limit (server.max_body)`,
  );
}
