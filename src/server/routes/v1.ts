import type { Hono } from "hono";
import { GatewayError } from "../../errors.js";
import { type CacheHints, noCacheHints } from "../../gateway/cache.js";
import { toGatewayError } from "../../gateway/error-shape.js";
import type { Gateway, GatewayResponse } from "../../gateway/index.js";
import type { Route } from "../../providers/types.js";
import type { AppEnv } from "../app.js";
import { readJson } from "../body.js";
import { type RequestSource, sourceOf } from "../node-request.js";
import { countTokensRoute } from "./count-tokens.js";
import { responsesHooks, responsesRoutes } from "./responses.js";

/** Route-specific steps around the pipeline: the body on its way in, the answer on its way out. */
export interface ProxyHooks {
  before(body: Record<string, unknown>, client: string | null): Record<string, unknown>;
  after(body: Record<string, unknown>, res: GatewayResponse, client: string | null): GatewayResponse;
}

/** Who is asking, as the app's middleware (or the node fast path) found out. */
export interface ProxyMeta {
  id: string;
  client: string | null;
  allowedModels: readonly string[] | null;
}

/** One proxy route, framework-free: read the request from `src`, hand it to the pipeline. */
export type ProxyHandler = (src: RequestSource, meta: ProxyMeta) => Promise<GatewayResponse>;

/** The routes served by `proxyHandler`, by path: the Hono routes and the node fast path share them. */
export function proxyEndpoints(gateway: Gateway, opts: { maxBody: number }): Map<string, ProxyHandler> {
  return new Map([
    ["/v1/chat/completions", proxyHandler(gateway, "chat", opts.maxBody)],
    ["/v1/messages", proxyHandler(gateway, "messages", opts.maxBody)],
    ["/v1/embeddings", proxyHandler(gateway, "embeddings", opts.maxBody)],
    ["/v1/responses", proxyHandler(gateway, "responses", opts.maxBody, responsesHooks(gateway))],
  ]);
}

function proxyHandler(gateway: Gateway, route: Route, maxBody: number, hooks?: ProxyHooks): ProxyHandler {
  return async function proxy(src, { id, client, allowedModels }) {
    const signal = src.signal();
    let body: Record<string, unknown>;
    try {
      body = await readJson(src, maxBody);
    } catch (thrown) {
      // A client that goes away (or stalls) mid-body still leaves its row.
      const err =
        thrown instanceof GatewayError
          ? thrown
          : new GatewayError(400, "invalid_request_error", "the request body did not arrive in full", {
              code: "client_aborted",
            });
      throw gateway.pipeline.reject({ id, route, client }, err);
    }
    const headers: Record<string, string> = {};
    for (const name of gateway.forwardHeaders) {
      const value = src.header(name);
      if (value !== undefined) headers[name] = value;
    }
    if (hooks) {
      try {
        body = hooks.before(body, client);
      } catch (thrown) {
        // Before the pipeline, yet still the request's one row; the error renderer answers in the route's shape.
        throw gateway.pipeline.reject({ id, route, client, body }, toGatewayError(thrown));
      }
    }
    const res = await gateway.pipeline.handle({
      id,
      route,
      body,
      headers,
      query: src.query(),
      client,
      allowedModels,
      tags: src.header("x-aigw-tags") ?? null,
      cacheHints: cacheHints(src),
      signal,
    });
    return hooks ? hooks.after(body, res, client) : res;
  };
}

/** `POST /v1/chat/completions`, `/v1/messages`, `/v1/embeddings`, `/v1/responses`: parse, hand to the pipeline, send back. */
export function proxyRoutes(
  app: Hono<AppEnv>,
  gateway: Gateway,
  opts: { maxBody: number },
): Map<string, ProxyHandler> {
  const endpoints = proxyEndpoints(gateway, opts);
  for (const [path, handler] of endpoints) {
    app.post(path, async (c) => {
      const meta = { id: c.get("requestId"), client: c.get("client"), allowedModels: c.get("allowedModels") };
      return toResponse(await handler(sourceOf(c), meta));
    });
  }
  responsesRoutes(app, gateway);
  countTokensRoute(app, gateway, opts);
  return endpoints;
}

export function toResponse(res: GatewayResponse): Response {
  if (res.stream) {
    const iterator = res.stream[Symbol.asyncIterator]();
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const next = await iterator.next();
        if (next.done) controller.close();
        else controller.enqueue(next.value);
      },
      async cancel() {
        await iterator.return?.();
      },
    });
    return new Response(body, {
      status: res.status,
      headers: { ...res.headers, "cache-control": "no-cache", "x-accel-buffering": "no" },
    });
  }
  return new Response(res.body as Uint8Array<ArrayBuffer> | null, {
    status: res.status,
    headers: res.headers,
  });
}

/** `Cache-Control: no-cache|no-store`, `x-aigw-cache-ttl`, `x-aigw-cache-namespace`, `x-aigw-cache-mode`. */
function cacheHints(src: RequestSource): CacheHints {
  const control = src.header("cache-control");
  const ttl = src.header("x-aigw-cache-ttl");
  const namespace = src.header("x-aigw-cache-namespace");
  const mode = src.header("x-aigw-cache-mode");
  if (!control && !ttl && !namespace && !mode) return noCacheHints;
  const seconds = Number(ttl);
  return {
    noCache: /\bno-cache\b/i.test(control ?? ""),
    noStore: /\bno-store\b/i.test(control ?? ""),
    ttlMs: ttl !== undefined && Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null,
    namespace: namespace ?? "",
    mode: mode === "replay" || mode === "record" ? mode : null,
  };
}
