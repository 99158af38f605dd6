import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Hono } from "hono";
import { toGatewayError } from "../gateway/error-shape.js";
import type { GatewayResponse } from "../gateway/index.js";
import type { AppEnv } from "./app.js";
import { authenticate, type ClientAuthOptions } from "./middleware/auth.js";
import { NodeSource } from "./node-request.js";
import { errorParts, formatOfPath, reportError } from "./render.js";
import type { ProxyHandler } from "./routes/v1.js";

/** Serves a request from node's objects and says true, or says false for the app to serve it. */
export type NodeHandler = (incoming: IncomingMessage, outgoing: ServerResponse) => boolean;

/** `req_` and the first 20 hex digits of a random UUID (slices, not a regex replace, per request). */
export function newRequestId(): string {
  const u = randomUUID();
  return `req_${u.slice(0, 8)}${u.slice(9, 13)}${u.slice(14, 18)}${u.slice(19, 23)}`;
}

const HEALTH = Buffer.from(JSON.stringify({ ok: true }));

const fastPaths = new WeakMap<Hono<AppEnv>, NodeHandler>();

/** The app's fast path, taken by `serve` when it listens (an app used with `app.request()` has none in use). */
export function setFastPath(app: Hono<AppEnv>, handler: NodeHandler): void {
  fastPaths.set(app, handler);
}

export function fastPathOf(app: Hono<AppEnv>): NodeHandler | undefined {
  return fastPaths.get(app);
}

/**
 * `POST` to a proxy route straight from node's request to node's response: the same steps as the
 * app's middleware and routes (request id, client auth, the handler, the one error renderer), without
 * Hono's Context, a WHATWG Response, or a ReadableStream between the pipeline's chunks and the socket.
 * Every other request (other methods, other paths, any path spelled differently) goes to the app.
 */
export function fastPath(opts: {
  endpoints: ReadonlyMap<string, ProxyHandler>;
  auth: ClientAuthOptions;
  debug: boolean;
  /** Settles when the usage rows queued so far are committed (an error's row before its answer). */
  committed: () => Promise<void>;
}): NodeHandler {
  const { endpoints, auth, debug, committed } = opts;
  async function serveOne(path: string, handler: ProxyHandler, src: NodeSource): Promise<void> {
    const id = newRequestId();
    const { outgoing } = src;
    try {
      const who = authenticate(auth, (name) => src.header(name), { id, method: "POST", path });
      const res = await handler(src, { id, client: who.client, allowedModels: who.allowedModels });
      send(outgoing, res);
    } catch (err) {
      reportError(err, debug);
      if (outgoing.headersSent) {
        outgoing.destroy();
        return;
      }
      await committed();
      const headers = { "x-aigw-request-id": id };
      const parts = errorParts(formatOfPath(path), toGatewayError(err), headers);
      parts.headers["content-length"] = String(Buffer.byteLength(parts.body));
      outgoing.writeHead(parts.status, parts.headers);
      outgoing.end(parts.body);
    }
  }
  return (incoming, outgoing) => {
    const url = incoming.url ?? "";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    if (incoming.method === "GET" && path === "/aigw/health") {
      // The liveness probe, answered as the app's route answers it (`aigw start` is listening once this
      // says so, before the app's node adapter is loaded: see serve.ts).
      outgoing.writeHead(200, { "content-type": "application/json", "content-length": HEALTH.byteLength });
      outgoing.end(HEALTH);
      return true;
    }
    if (incoming.method !== "POST") return false;
    const handler = endpoints.get(path);
    if (!handler) return false;
    void serveOne(path, handler, new NodeSource(incoming, outgoing));
    return true;
  };
}

/** Writes a pipeline answer: a JSON body with its length, or a stream chunk by chunk as it comes. */
function send(outgoing: ServerResponse, res: GatewayResponse): void {
  const { headers } = res;
  if (!res.stream) {
    const body = res.body ?? new Uint8Array(0);
    headers["content-length"] = String(body.byteLength);
    outgoing.writeHead(res.status, headers);
    outgoing.end(body);
    return;
  }
  const iterator = res.stream[Symbol.asyncIterator]();
  headers["cache-control"] = "no-cache";
  headers["x-accel-buffering"] = "no";
  try {
    outgoing.writeHead(res.status, headers);
  } catch (err) {
    void iterator.return?.(); // the stream's row is still written
    throw err;
  }
  outgoing.flushHeaders();
  void pump(iterator, outgoing);
}

/**
 * Copies a stream to the client with backpressure. A client that leaves ends the stream
 * (`return()`: the upstream request is cancelled and the row written), as a cancelled body would.
 */
async function pump(iterator: AsyncIterator<Uint8Array>, outgoing: ServerResponse): Promise<void> {
  let left = false;
  let drained: (() => void) | null = null;
  const onClose = () => {
    drained?.();
    if (outgoing.writableFinished) return;
    left = true;
    void iterator.return?.();
  };
  const onDrain = () => drained?.();
  outgoing.on("close", onClose).on("drain", onDrain);
  try {
    for (;;) {
      const step = await iterator.next();
      if (step.done || left) break;
      if (!outgoing.write(step.value) && !left) {
        await new Promise<void>((resolve) => {
          drained = resolve;
        });
        drained = null;
        if (left) break;
      }
    }
    if (!left) outgoing.end();
  } catch (err) {
    outgoing.destroy(err as Error);
  } finally {
    outgoing.off("close", onClose).off("drain", onDrain);
  }
}
