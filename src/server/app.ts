import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Context, Hono } from "hono";
import { isLoopbackHost } from "../config/net.js";
import { GatewayError } from "../errors.js";
import { toGatewayError } from "../gateway/error-shape.js";
import type { Gateway } from "../gateway/index.js";
import type { Route } from "../providers/types.js";
import { fastPath, newRequestId, setFastPath } from "./fast-path.js";
import { clientAuth } from "./middleware/auth.js";
import { header as headerOf } from "./node-request.js";
import { formatOfPath, renderError, reportError } from "./render.js";
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
    c.set("requestId", newRequestId());
    c.set("client", null);
    c.set("allowedModels", null);
    await next();
  });

  app.get("/", (c) => c.text("aigw: a local AI gateway. POST /v1/chat/completions or /v1/messages.\n"));

  adminRoutes(app, gateway, {
    authorize: (c) => bearerMatches(c, deps.adminToken) || (isLoopback(c) && !hasClients()),
  });
  const auth = {
    clients: gateway.clients,
    requireAuth: deps.requireClientAuth ?? false,
    onReject: (meta: { id: string; route: Route; client: null }, err: GatewayError) =>
      gateway.pipeline.reject(meta, err),
  };
  app.use("/v1/*", clientAuth(auth));
  modelRoutes(app, gateway);
  const endpoints = proxyRoutes(app, gateway, { maxBody: gateway.config.server.max_body });
  // On a node server, the proxy routes skip Hono's Context and Response (same steps, same answers).
  // An error answer, too, goes out once the request's row is committed.
  const committed = () => deps.gateway.usage.committed();
  setFastPath(app, fastPath({ endpoints, auth, debug: deps.debug ?? false, committed }));

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
  app.onError(async (err, c) => {
    reportError(err, deps.debug ?? false);
    await committed();
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
