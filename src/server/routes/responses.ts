import type { Hono } from "hono";
import type { Gateway, GatewayResponse } from "../../gateway/index.js";
import { planTools } from "../../providers/translate/responses-tools.js";
import type { AppEnv } from "../app.js";
import type { ProxyHooks } from "./v1.js";

/** Whether the provider that answered (`x-aigw-provider`) was reached through translation. */
function translated(gateway: Gateway, res: GatewayResponse): boolean {
  const label = res.headers["x-aigw-provider"];
  if (!label) return false;
  const provider = gateway.providers.get(label.slice(0, label.indexOf("/")));
  return provider !== undefined && !provider.formats.includes("responses");
}

/** `POST /v1/responses` around the pipeline: names the hosted tools a translated provider could not run. */
export function responsesHooks(gateway: Gateway): ProxyHooks {
  return {
    before: (body) => body,
    after(body, res) {
      if (!translated(gateway, res)) return res;
      let dropped: string[] = [];
      try {
        dropped = planTools(body).dropped;
      } catch {
        dropped = []; // the pipeline already answered; a malformed tool list is its business
      }
      if (dropped.length > 0) res.headers["x-aigw-dropped-tools"] = dropped.join(",");
      return res;
    },
  };
}

/** The Responses API's other verbs: a WebSocket upgrade is refused so Codex falls back to HTTP at once. */
export function responsesRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/responses", (c) => {
    const upgrade = c.req.header("upgrade");
    const message =
      upgrade?.toLowerCase() === "websocket"
        ? "aigw serves the Responses API over HTTP only; WebSocket is not supported"
        : "use POST /v1/responses";
    return c.json(
      { error: { message, type: "invalid_request_error", param: null, code: "upgrade_required" } },
      upgrade ? 426 : 405,
    );
  });
}
