import type { Context } from "hono";
import type { AppEnv } from "./app.js";
import { decodeBody } from "./decode-body.js";

/**
 * Reads a request straight from node's IncomingMessage when the app runs on @hono/node-server.
 * Touching `c.req.raw`'s signal, body or headers makes the adapter build a full WHATWG Request
 * (header validation, an AbortSignal, a body stream): about a third of the gateway's CPU per request.
 * Without node bindings (`app.request()` in tests) it falls back to the standard Request.
 */
export function header(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The query string including `?`, or "". */
export function queryString(c: Context<AppEnv>): string {
  const url = c.env?.incoming?.url ?? c.req.url;
  const q = url.indexOf("?");
  return q === -1 ? "" : url.slice(q);
}

/** An AbortSignal that fires when the client goes away before its response has been sent. */
export function clientSignal(c: Context<AppEnv>): AbortSignal {
  const outgoing = c.env?.outgoing;
  if (!outgoing) return c.req.raw.signal;
  const controller = new AbortController();
  outgoing.once("close", () => {
    if (!outgoing.writableFinished) controller.abort(new Error("client closed the connection"));
  });
  return controller.signal;
}

/** The raw body, at most `max` bytes (undefined when over), from the socket or the Request. */
export async function bodyText(c: Context<AppEnv>, max: number): Promise<string | undefined> {
  const incoming = c.env?.incoming;
  if (!incoming) {
    const text = await c.req.raw.text();
    return Buffer.byteLength(text) > max ? undefined : text;
  }
  const declared = Number(incoming.headers["content-length"] ?? "NaN");
  if (declared > max) {
    incoming.resume();
    return undefined;
  }
  // Listeners rather than `for await`: the async iterator costs a promise and a tick per chunk.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= max) {
        chunks.push(chunk);
        return;
      }
      done();
      incoming.resume(); // drain the rest unread
      resolve(undefined);
    };
    const onEnd = () => {
      done();
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const contentEncoding = incoming.headers["content-encoding"];
      if (!contentEncoding) return resolve(raw.toString("utf8"));
      try {
        resolve(decodeBody(raw, contentEncoding, max)?.toString("utf8"));
      } catch (err) {
        reject(err); // an unsupported or corrupt encoding: the client's 4xx, never an uncaught throw
      }
    };
    const onError = (err: Error) => {
      done();
      reject(err);
    };
    const onClose = () => {
      if (incoming.complete) return;
      done();
      reject(new Error("the client closed the connection before the body was sent"));
    };
    const done = () => {
      incoming.off("data", onData).off("end", onEnd).off("error", onError).off("close", onClose);
    };
    incoming.on("data", onData).on("end", onEnd).on("error", onError).on("close", onClose);
  });
}
