import type { Context, Hono } from "hono";
import { GatewayError } from "../../errors.js";
import type { Gateway, GatewayResponse } from "../../gateway/index.js";
import { type Route, routeFormat } from "../../providers/types.js";
import type { AppEnv } from "../app.js";
import { readJsonBody } from "../body.js";
import { renderError } from "../render.js";

/** Client headers that change what an upstream does; forwarded on same-format routes. */
const FORWARDED_HEADERS = [
  "anthropic-version",
  "anthropic-beta",
  "openai-organization",
  "openai-project",
  "openai-beta",
];

/** `POST /v1/chat/completions`, `/v1/messages`, `/v1/embeddings`: parse, hand to the pipeline, send back. */
export function proxyRoutes(app: Hono<AppEnv>, gateway: Gateway, opts: { maxBody: number }): void {
  const handler = (route: Route) =>
    async function proxy(c: Context<AppEnv>): Promise<Response> {
      const id = c.get("requestId");
      const client = c.get("client");
      const signal = c.req.raw.signal;
      let body: Record<string, unknown>;
      try {
        body = await readJsonBody(c.req.raw, opts.maxBody);
      } catch (err) {
        if (!(err instanceof GatewayError)) throw err;
        gateway.pipeline.reject({ id, route, client }, err);
        return renderError(routeFormat[route], err, { "x-aigw-request-id": id });
      }
      const headers: Record<string, string> = {};
      for (const name of FORWARDED_HEADERS) {
        const value = c.req.header(name);
        if (value !== undefined) headers[name] = value;
      }
      const url = c.req.url;
      const q = url.indexOf("?");
      try {
        const res = await gateway.pipeline.handle({
          id,
          route,
          body,
          headers,
          query: q === -1 ? "" : url.slice(q),
          client,
          allowedModels: c.get("allowedModels"),
          tags: c.req.header("x-aigw-tags") ?? null,
          signal,
        });
        return toResponse(res);
      } catch (err) {
        if (err instanceof GatewayError)
          return renderError(routeFormat[route], err, { "x-aigw-request-id": id });
        throw err;
      }
    };
  app.post("/v1/chat/completions", handler("chat"));
  app.post("/v1/messages", handler("messages"));
  app.post("/v1/embeddings", handler("embeddings"));
}

function toResponse(res: GatewayResponse): Response {
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
