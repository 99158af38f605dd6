import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Hono } from "hono";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { GatewayError } from "../../errors.js";
import { ClientIndex } from "../../gateway/clients.js";
import { toGatewayError } from "../../gateway/error-shape.js";
import { type ClientStore, createClientStore } from "../../store/clients.js";
import { type Db, openDb } from "../../store/db.js";
import type { AppEnv } from "../app.js";
import { formatOfPath, renderError } from "../render.js";
import { clientAuth } from "./auth.js";

let dir: string;
let db: Db;
let store: ClientStore;
let rejected: [string, number][];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-auth-"));
  db = openDb(join(dir, "aigw.db"));
  store = createClientStore(db);
  rejected = [];
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function app(opts: { requireAuth?: boolean } = {}) {
  const clients = new ClientIndex(store);
  const app = new Hono<AppEnv>();
  app.use(async function requestId(c, next) {
    c.set("requestId", "req_test");
    c.set("client", null);
    c.set("allowedModels", null);
    await next();
  });
  app.use(
    "/v1/*",
    clientAuth({
      clients,
      ...opts,
      onReject: (meta, err: GatewayError) => {
        rejected.push([meta.route, err.status]);
        return err;
      },
    }),
  );
  // As the real app does: thrown errors render once, in the route's shape.
  app.onError((err, c) => renderError(formatOfPath(c.req.path), toGatewayError(err)));
  const who = (c: { get: (k: "client" | "allowedModels") => unknown; json: (v: unknown) => Response }) =>
    c.json({ client: c.get("client"), models: c.get("allowedModels") });
  app.post("/v1/messages", (c) => who(c));
  app.get("/v1/models", (c) => who(c));
  return app;
}

describe("clientAuth", () => {
  it("lets everything through while no client exists, unless told to require keys", async () => {
    expect((await app().request("/v1/models")).status).toBe(200);
    const res = await app({ requireAuth: true }).request("/v1/messages", { method: "POST" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(rejected).toEqual([["messages", 401]]);
  });

  it("takes the key from Authorization, x-api-key or x-gateway-key and sets the client", async () => {
    const { key } = store.add({ name: "web", models: ["openai/*"] }, Date.now());
    const gateway = app();
    for (const headers of <Record<string, string>[]>[
      { authorization: `Bearer ${key}` },
      { authorization: `bearer ${key}` },
      { "x-api-key": key },
      { "x-gateway-key": key, authorization: "Bearer sk-for-someone-else" },
    ]) {
      const res = await gateway.request("/v1/models", { headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ client: "web", models: ["openai/*"] });
    }
    const missing = await gateway.request("/v1/models");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: "client_key_required" } });
    expect(rejected).toEqual([]); // /v1/models has no usage rows
    const wrong = await gateway.request("/v1/messages", { method: "POST", headers: { "x-api-key": "nope" } });
    expect(await wrong.json()).toMatchObject({ error: { type: "authentication_error" } });
    expect(rejected).toEqual([["messages", 401]]);
  });
});
