import { badRequest, GatewayError } from "../errors.js";

/**
 * Reads a request body of at most `max` bytes and parses it as a JSON object. Over the limit → 413
 * (checked against content-length first, then while reading, so a lying client is cut off too).
 */
export async function readJsonBody(req: Request, max: number): Promise<Record<string, unknown>> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > max) throw tooLarge(max);
  // With a content-length within the limit, node's parser guarantees no more bytes than declared.
  const text = Number.isFinite(declared) ? await req.text() : await readLimited(req, max);
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

async function readLimited(req: Request, max: number): Promise<string> {
  if (!req.body) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = req.body.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    size += next.value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw tooLarge(max);
    }
    chunks.push(next.value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function tooLarge(max: number): GatewayError {
  const mb = (max / 1024 / 1024).toFixed(max >= 1024 * 1024 ? 0 : 2);
  return new GatewayError(
    413,
    "request_too_large",
    `request body is over the ${mb} MB limit (server.max_body)`,
  );
}
