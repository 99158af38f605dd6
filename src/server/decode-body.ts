import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { GatewayError } from "../errors.js";

/**
 * A request body sent compressed (`Content-Encoding`; Codex compresses its requests) as plain bytes.
 * The decoded size is capped at `max` too, so a small bomb cannot blow up into gigabytes. Node 20 has
 * no zstd, so a zstd body is refused with 415 rather than misread.
 */
export function decodeBody(bytes: Buffer, encoding: string | undefined, max: number): Buffer | undefined {
  const name = encoding?.trim().toLowerCase();
  if (!name || name === "identity") return bytes;
  const limit = { maxOutputLength: max + 1 };
  let out: Buffer;
  try {
    if (name === "gzip" || name === "x-gzip") out = gunzipSync(bytes, limit);
    else if (name === "deflate") out = inflateSync(bytes, limit);
    else if (name === "br") out = brotliDecompressSync(bytes, limit);
    else throw unsupported(name);
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return undefined;
    throw new GatewayError(400, "invalid_request_error", `request body is not valid ${name} data`);
  }
  return out.length > max ? undefined : out;
}

const unsupported = (name: string) =>
  new GatewayError(
    415,
    "invalid_request_error",
    `Content-Encoding "${name}" is not supported; send gzip, deflate, br or an uncompressed body`,
    { code: "unsupported_content_encoding" },
  );
