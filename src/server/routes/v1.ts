import type { Context, Hono } from "hono";
import { GatewayError } from "../../errors.js";
import { type CacheHints, noCacheHints } from "../../gateway/cache.js";
import { toGatewayError } from "../../gateway/error-shape.js";
import type { Gateway, GatewayResponse } from "../../gateway/index.js";
import type { Route } from "../../providers/types.js";
import type { AppEnv } from "../app.js";
import { readJsonBody } from "../body.js";
import { clientSignal, header, queryString } from "../node-request.js";
import { countTokensRoute } from "./count-tokens.js";
import { responsesHooks, responsesRoutes } from "./responses.js";

/** Route-specific steps around the pipeline: the body on its way in, the answer on its way out. */
export interface ProxyHooks {
  before(body: Record<string, unknown>, client: string | null): Record<string, unknown>;
  after(body: Record<string, unknown>, res: GatewayResponse, client: string | null): GatewayResponse;
}

/** `POST /v1/chat/completions`, `/v1/messages`, `/v1/embeddings`: parse, hand to the pipeline, send back. */
export function proxyRoutes(app: Hono<AppEnv>, gateway: Gateway, opts: { maxBody: number }): void {
  const handler = (route: Route, hooks?: ProxyHooks) =>
    async function proxy(c: Context<AppEnv>): Promise<Response> {
      const id = c.get("requestId");
      const client = c.get("client");
      const signal = clientSignal(c);
      let body: Record<string, unknown>;
      try {
        body = await readJsonBody(c, opts.maxBody);
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
        const value = header(c, name);
        if (value !== undefined) headers[name] = value;
      }
      if (hooks) {
        try {
          body = hooks.before(body, client);
        } catch (thrown) {
          // Before the pipeline, yet still the request's one row; onError renders it in the route's shape.
          throw gateway.pipeline.reject({ id, route, client, body }, toGatewayError(thrown));
        }
      }
      const res = await gateway.pipeline.handle({
        id,
        route,
        body,
        headers,
        query: queryString(c),
        client,
        allowedModels: c.get("allowedModels"),
        tags: header(c, "x-aigw-tags") ?? null,
        cacheHints: cacheHints(c),
        signal,
      });
      return toResponse(hooks ? hooks.after(body, res, client) : res);
    };
  app.post("/v1/chat/completions", handler("chat"));
  app.post("/v1/messages", handler("messages"));
  app.post("/v1/embeddings", handler("embeddings"));
  app.post("/v1/responses", handler("responses", responsesHooks(gateway)));
  responsesRoutes(app, gateway);
  countTokensRoute(app, gateway, opts);
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
function cacheHints(c: Context<AppEnv>): CacheHints {
  const control = header(c, "cache-control");
  const ttl = header(c, "x-aigw-cache-ttl");
  const namespace = header(c, "x-aigw-cache-namespace");
  const mode = header(c, "x-aigw-cache-mode");
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
