import type { Context, Hono } from "hono";
import { GatewayError } from "../../errors.js";
import { globMatch } from "../../gateway/glob.js";
import type { Gateway, ModelEntry } from "../../gateway/index.js";
import type { AppEnv } from "../app.js";
import { renderError } from "../render.js";

/**
 * `GET /v1/models` and `GET /v1/models/{id}` (ids may hold a slash, encoded or not): what a client can
 * name, in OpenAI's shape or, when the request carries `anthropic-version` (Anthropic's SDK), theirs.
 */
export function modelRoutes(app: Hono<AppEnv>, gateway: Gateway): void {
  const created = Math.floor(gateway.startedAt / 1000);
  const createdAt = new Date(gateway.startedAt).toISOString();
  const openai = (e: ModelEntry) => ({
    id: e.id,
    object: "model",
    created,
    owned_by: e.owned_by,
    aigw: { kind: e.kind, targets: e.targets },
  });
  const anthropic = (e: ModelEntry) => ({
    type: "model",
    id: e.id,
    display_name: e.targets.length ? `${e.id} → ${e.targets.join(", ")}` : e.id,
    created_at: createdAt,
  });
  const isAnthropic = (c: Context<AppEnv>) => c.req.header("anthropic-version") !== undefined;
  // A client limited to some models sees only those.
  const allowed = (c: Context<AppEnv>, id: string) => {
    const patterns = c.get("allowedModels");
    return !patterns || patterns.some((p) => globMatch(p, id));
  };

  app.get("/v1/models", (c) => {
    const entries = gateway.models.list().filter((e) => allowed(c, e.id));
    if (!isAnthropic(c)) {
      const data = entries.map(openai);
      // Codex probes `?client_version=` and parses `models` as its own model metadata: an empty list
      // makes it keep its built-in metadata, while OpenAI SDKs still read `data`.
      if (c.req.query("client_version") !== undefined) return c.json({ object: "list", data, models: [] });
      return c.json({ object: "list", data });
    }
    const data = entries.map(anthropic);
    return c.json({ data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
  });

  app.get("/v1/models/:id{.+}", (c) => {
    const id = decodeId(c.req.param("id"));
    const entry = allowed(c, id) ? gateway.models.find(id) : null;
    if (entry) return c.json(isAnthropic(c) ? anthropic(entry) : openai(entry));
    const err = new GatewayError(
      404,
      "not_found_error",
      `The model "${id}" is not routable; GET /v1/models lists what is.`,
      { code: "model_not_found" },
    );
    return renderError(isAnthropic(c) ? "anthropic" : "openai", err);
  });
}

/** Hono decodes a param once; an id encoded twice by a client library still has its `%2F`. */
function decodeId(raw: string): string {
  try {
    return raw.includes("%") ? decodeURIComponent(raw) : raw;
  } catch {
    return raw;
  }
}
