import { randomUUID, timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { isLoopbackHost } from "../config/net.js";
import { GatewayError } from "../errors.js";
import { toGatewayError } from "../gateway/error-shape.js";
import type { Gateway } from "../gateway/index.js";
import { clientAuth } from "./middleware/auth.js";
import { header as headerOf } from "./node-request.js";
import { formatOfPath, renderError } from "./render.js";
import { adminRoutes } from "./routes/admin.js";
import { modelRoutes } from "./routes/models.js";
import { proxyRoutes } from "./routes/v1.js";

export interface AppEnv {
  Bindings: { incoming?: IncomingMessage; outgoing?: ServerResponse };
  Variables: { requestId: string; client: string | null; allowedModels: readonly string[] | null };
}

export interface AppDeps {
  gateway: Gateway;
  /** Token for `/aigw/*` admin routes (from run.json). */
  adminToken: string;
  /** Whether any client key exists: admin routes are open to loopback callers only while none does. */
  hasClients?: () => boolean;
  /** Listening beyond loopback: `/v1/*` needs a client key even while none exists. */
  requireClientAuth?: boolean;
  debug?: boolean;
}

/** Builds the HTTP app around a gateway. No side effects: sockets are opened by `serve`. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const { gateway } = deps;
  const app = new Hono<AppEnv>();
  const hasClients = deps.hasClients ?? (() => gateway.clients.hasClients());

  app.use(async function requestId(c, next) {
    c.set("requestId", `req_${randomUUID().replace(/-/g, "").slice(0, 20)}`);
    c.set("client", null);
    c.set("allowedModels", null);
    await next();
  });

  app.get("/", (c) => c.text("aigw: a local AI gateway. POST /v1/chat/completions or /v1/messages.\n"));

  adminRoutes(app, gateway, {
    authorize: (c) => bearerMatches(c, deps.adminToken) || (isLoopback(c) && !hasClients()),
  });
  app.use(
    "/v1/*",
    clientAuth({
      clients: gateway.clients,
      requireAuth: deps.requireClientAuth ?? false,
      onReject: (meta, err) => gateway.pipeline.reject(meta, err),
    }),
  );
  modelRoutes(app, gateway);
  proxyRoutes(app, gateway, { maxBody: gateway.config.server.max_body });

  app.notFound((c) =>
    renderError(
      formatOfPath(c.req.path),
      new GatewayError(
        404,
        "not_found_error",
        `no route ${c.req.method} ${c.req.path}; aigw serves POST /v1/chat/completions, /v1/messages, /v1/messages/count_tokens, /v1/responses, /v1/embeddings, GET /v1/models and /aigw/health, status, history, events, metrics`,
        {
          code: "route_not_found",
        },
      ),
    ),
  );
  // The one place an error of any route becomes a response: handlers and middleware only throw.
  app.onError((err, c) => {
    // A bug of ours (a 500, even wrapped by the pipeline) is always worth a line on stderr.
    const bug = err instanceof GatewayError ? (err.status === 500 ? (err.cause ?? err) : null) : err;
    if (deps.debug || bug) console.error(deps.debug ? (bug ?? err) : `aigw: ${String(bug)}`);
    return renderError(formatOfPath(c.req.path), toGatewayError(err), {
      "x-aigw-request-id": c.get("requestId"),
    });
  });
  return app;
}

function bearerMatches(c: Context<AppEnv>, token: string): boolean {
  const header = headerOf(c, "authorization") ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export function isLoopback(c: Context<AppEnv>): boolean {
  const address = c.env?.incoming?.socket.remoteAddress ?? "";
  return address !== "" && isLoopbackHost(address);
}
