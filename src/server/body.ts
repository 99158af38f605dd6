import type { Context } from "hono";
import { badRequest, GatewayError } from "../errors.js";
import type { AppEnv } from "./app.js";
import { type RequestSource, sourceOf } from "./node-request.js";

/**
 * Reads a request body of at most `max` bytes and parses it as a JSON object. Over the limit → 413
 * (checked against content-length first, then while reading, so a lying client is cut off too).
 */
export function readJsonBody(c: Context<AppEnv>, max: number): Promise<Record<string, unknown>> {
  return readJson(sourceOf(c), max);
}

/** `readJsonBody` from any request source (the node fast path passes its own). */
export async function readJson(src: RequestSource, max: number): Promise<Record<string, unknown>> {
  const text = await src.text(max);
  if (text === undefined) throw tooLarge(max);
  if (!text) throw badRequest("request body is empty: expected a JSON object");
  // Parse first (V8's parser does not recurse), then walk the parsed nodes: a character scan of the
  // text cost ~300 µs per 44 KB body, the walk ~8. Invalid text is scanned, so a deep one stays too_deep.
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    if (tooDeep(text, MAX_DEPTH)) throw deepError();
    throw badRequest(`request body is not valid JSON (${(err as Error).message})`);
  }
  if (nestedDeeper(parsed, MAX_DEPTH)) throw deepError();
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badRequest("request body must be a JSON object");
  }
  return parsed as Record<string, unknown>;
}

/**
 * How deep a body may nest objects and arrays. Real requests (messages, content blocks, tool schemas)
 * stay well under it; past it a body is a 400 before anything on the request path walks it, so no
 * recursive walk (cache key, translators, token estimate, JSON.stringify) can overflow the stack.
 */
export const MAX_DEPTH = 100;

const deepError = () => badRequest(`request body is nested deeper than ${MAX_DEPTH} levels`, "too_deep");

/** Whether a parsed value nests objects and arrays deeper than `max` (as `tooDeep` counts), no recursion. */
export function nestedDeeper(value: unknown, max: number): boolean {
  if (value === null || typeof value !== "object") return false;
  const nodes: object[] = [value];
  const depths: number[] = [1];
  while (nodes.length > 0) {
    const node = nodes.pop()!;
    const depth = depths.pop()!;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      if (child !== null && typeof child === "object") {
        nodes.push(child);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/** Whether JSON text nests deeper than `max`: one pass over the characters, no recursion. */
export function tooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c)
        i++; // backslash: skip the escaped character
      else if (ch === 0x22) inString = false;
    } else if (ch === 0x22) {
      inString = true;
    } else if (ch === 0x7b || ch === 0x5b) {
      if (++depth > max) return true;
    } else if (ch === 0x7d || ch === 0x5d) {
      depth--;
    }
  }
  return false;
}

function tooLarge(max: number): GatewayError {
  const mb = (max / 1024 / 1024).toFixed(max >= 1024 * 1024 ? 0 : 2);
  return new GatewayError(
    413,
    "request_too_large",
    `request body is over the ${mb} MB limit (server.max_body)`,
  );
}
