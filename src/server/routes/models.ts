import type { Hono } from "hono";
import type { Gateway } from "../../gateway/index.js";
import type { AppEnv } from "../app.js";

/** `GET /v1/models`: what a client can name, in OpenAI's list shape or, for Anthropic clients, theirs. */
export function modelRoutes(app: Hono<AppEnv>, gateway: Gateway): void {
  app.get("/v1/models", (c) => {
    const created = Math.floor(gateway.startedAt / 1000);
    const entries = gateway.router.routable();
    if (c.req.header("anthropic-version")) {
      const data = entries.map((e) => ({
        type: "model",
        id: e.id,
        display_name: e.targets.length ? `${e.id} → ${e.targets.join(", ")}` : e.id,
        created_at: new Date(gateway.startedAt).toISOString(),
      }));
      return c.json({
        data,
        has_more: false,
        first_id: data[0]?.id ?? null,
        last_id: data.at(-1)?.id ?? null,
      });
    }
    const data = entries.map((e) => ({
      id: e.id,
      object: "model",
      created,
      owned_by: e.kind === "provider" ? e.id.slice(0, -2) : "aigw",
      aigw: { kind: e.kind, targets: e.targets },
    }));
    // Codex probes `?client_version=` and parses `models` as its own model metadata: an empty list
    // makes it keep its built-in metadata, while OpenAI SDKs still read `data`.
    if (c.req.query("client_version") !== undefined) return c.json({ object: "list", data, models: [] });
    return c.json({ object: "list", data });
  });
}
