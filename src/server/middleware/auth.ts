import type { MiddlewareHandler } from "hono";
import { GatewayError } from "../../errors.js";
import type { ClientIndex, ClientKeyRejection } from "../../gateway/clients.js";
import type { Route } from "../../providers/types.js";
import type { AppEnv } from "../app.js";
import { header } from "../node-request.js";

export interface ClientAuthOptions {
  clients: ClientIndex;
  /** Require a key even while no client exists (the gateway listens beyond loopback). Default false. */
  requireAuth?: boolean;
  /** Logs a turned-away request (one usage row), for the routes that have usage rows; the error to throw. */
  onReject?: (meta: { id: string; route: Route; client: null }, err: GatewayError) => GatewayError;
  now?: () => number;
}

/** Routes whose requests are logged; other `/v1/*` paths (models, unknown) have no usage rows. */
const LOGGED: Record<string, Route> = {
  "/v1/chat/completions": "chat",
  "/v1/messages": "messages",
  "/v1/embeddings": "embeddings",
};

const REJECTIONS: Record<ClientKeyRejection | "client_key_required", string> = {
  client_key_required:
    "client key required: send it as Authorization: Bearer <key>, x-api-key or x-gateway-key (aigw clients add <name> makes one)",
  client_key_invalid: "invalid client key: no client has this key",
  client_key_revoked: "this client key was revoked",
  client_key_expired: "this client key was rotated out and its grace period is over; use the new key",
};

/** Who a request is: its client and model allowlist, or null for both while auth is off. */
export interface Authenticated {
  client: string | null;
  allowedModels: readonly string[] | null;
}

const OPEN: Authenticated = { client: null, allowedModels: null };

/**
 * `/v1/*` client authentication, framework-free: off while no client exists on a loopback gateway,
 * otherwise a client key in `Authorization: Bearer`, `x-api-key` or `x-gateway-key`. Anything else
 * throws a 401 (logged as a row by `onReject` for the logged routes).
 */
export function authenticate(
  opts: ClientAuthOptions,
  header: (name: string) => string | undefined,
  meta: { id: string; method: string; path: string },
): Authenticated {
  const { clients, requireAuth = false, onReject, now = Date.now } = opts;
  if (!requireAuth && !clients.hasClients()) return OPEN;
  let reason: ClientKeyRejection | "client_key_required" = "client_key_required";
  for (const key of presentedKeys(header)) {
    const result = clients.authenticate(key, now());
    if ("client" in result) return { client: result.client.name, allowedModels: result.client.models };
    // Report the most telling reason when several headers carry keys.
    if (reason === "client_key_required" || reason === "client_key_invalid") reason = result.rejected;
  }
  const err = new GatewayError(401, "authentication_error", REJECTIONS[reason], { code: reason });
  const route = meta.method === "POST" ? LOGGED[meta.path] : undefined;
  // The app's onError renders it in the route's shape.
  throw (route && onReject?.({ id: meta.id, route, client: null }, err)) || err;
}

/** `authenticate` as Hono middleware: sets `client` and `allowedModels`. */
export function clientAuth(opts: ClientAuthOptions): MiddlewareHandler<AppEnv> {
  return async function clientAuthMiddleware(c, next) {
    const meta = { id: c.get("requestId"), method: c.req.method, path: c.req.path };
    const who = authenticate(opts, (name) => header(c, name), meta);
    c.set("client", who.client);
    c.set("allowedModels", who.allowedModels);
    return next();
  };
}

/** The distinct keys a request carries, in the order a client most likely meant them for aigw. */
function presentedKeys(header: (name: string) => string | undefined): string[] {
  const keys: string[] = [];
  const add = (value: string | undefined) => {
    const key = value?.trim();
    if (key && !keys.includes(key)) keys.push(key);
  };
  add(header("x-gateway-key"));
  const authorization = header("authorization");
  const bearer = authorization && /^bearer\s+(.+)$/i.exec(authorization);
  if (bearer) add(bearer[1]);
  add(header("x-api-key"));
  return keys;
}
