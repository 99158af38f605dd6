import type { IncomingMessage, ServerResponse } from "node:http";
import type { Context } from "hono";
import type { AppEnv } from "./app.js";
import { decodeBody } from "./decode-body.js";

/**
 * What a proxy route reads of a request, framework-free: node's IncomingMessage on the server (the
 * fast path, and Hono routes on @hono/node-server), or a WHATWG Request (`app.request()` in tests).
 * Touching `c.req.raw`'s signal, body or headers makes the adapter build a full WHATWG Request
 * (header validation, an AbortSignal, a body stream): about a third of the gateway's CPU per request.
 */
export interface RequestSource {
  header(name: string): string | undefined;
  /** The query string including `?`, or "". */
  query(): string;
  /** Fires when the client goes away before its response has been sent. */
  signal(): AbortSignal;
  /** The raw body, at most `max` bytes (undefined when over). */
  text(max: number): Promise<string | undefined>;
}

/** A request straight from node's objects. */
export class NodeSource implements RequestSource {
  constructor(
    readonly incoming: IncomingMessage,
    readonly outgoing: ServerResponse,
  ) {}
  header(name: string): string | undefined {
    const value = this.incoming.headers[name];
    return Array.isArray(value) ? value.join(", ") : value;
  }
  query(): string {
    const url = this.incoming.url ?? "";
    const q = url.indexOf("?");
    return q === -1 ? "" : url.slice(q);
  }
  signal(): AbortSignal {
    const { outgoing } = this;
    const controller = new AbortController();
    outgoing.once("close", () => {
      if (!outgoing.writableFinished) controller.abort(new Error("client closed the connection"));
    });
    return controller.signal;
  }
  text(max: number): Promise<string | undefined> {
    return nodeBodyText(this.incoming, max);
  }
}

/** A standard Request, where the app runs without node bindings. */
class WebSource implements RequestSource {
  constructor(private readonly c: Context<AppEnv>) {}
  header(name: string): string | undefined {
    return this.c.req.header(name);
  }
  query(): string {
    const { url } = this.c.req;
    const q = url.indexOf("?");
    return q === -1 ? "" : url.slice(q);
  }
  signal(): AbortSignal {
    return this.c.req.raw.signal;
  }
  async text(max: number): Promise<string | undefined> {
    const text = await this.c.req.raw.text();
    return Buffer.byteLength(text) > max ? undefined : text;
  }
}

export function sourceOf(c: Context<AppEnv>): RequestSource {
  const { incoming, outgoing } = c.env ?? {};
  return incoming && outgoing ? new NodeSource(incoming, outgoing) : new WebSource(c);
}

export function header(c: Context<AppEnv>, name: string): string | undefined {
  const incoming = c.env?.incoming;
  if (!incoming) return c.req.header(name);
  const value = incoming.headers[name];
  return Array.isArray(value) ? value.join(", ") : value;
}

/** The query string including `?`, or "". */
export function queryString(c: Context<AppEnv>): string {
  return sourceOf(c).query();
}

/** An AbortSignal that fires when the client goes away before its response has been sent. */
export function clientSignal(c: Context<AppEnv>): AbortSignal {
  return sourceOf(c).signal();
}

function nodeBodyText(incoming: IncomingMessage, max: number): Promise<string | undefined> {
  const declared = Number(incoming.headers["content-length"] ?? "NaN");
  if (declared > max) {
    incoming.resume();
    return Promise.resolve(undefined);
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
