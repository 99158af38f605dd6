import type { Context, Hono } from "hono";
import { GatewayError } from "../../errors.js";
import type { Gateway } from "../../gateway/index.js";
import { estimateTokens } from "../../gateway/limits/tokens.js";
import { readAll } from "../../gateway/respond.js";
import type { AppEnv } from "../app.js";
import { readJsonBody } from "../body.js";
import { clientSignal, header, queryString } from "../node-request.js";
import { renderError } from "../render.js";

/**
 * `POST /v1/messages/count_tokens`: forwarded to an Anthropic provider (its own count, headers as on
 * `/v1/messages`); for any other provider estimated with the tokenizer. Anthropic's shape either way.
 * A count is not a model call: it leaves no usage row and spends no budget.
 */
export function countTokensRoute(app: Hono<AppEnv>, gateway: Gateway, opts: { maxBody: number }): void {
  app.post("/v1/messages/count_tokens", async (c: Context<AppEnv>) => {
    const id = c.get("requestId");
    const base = { "x-aigw-request-id": id, "x-aigw-attempts": "0" };
    try {
      const body = await readJsonBody(c, opts.maxBody);
      if (typeof body.model !== "string" || !body.model)
        throw new GatewayError(400, "invalid_request_error", "model: required, a string naming the model");
      if (!Array.isArray(body.messages))
        throw new GatewayError(400, "invalid_request_error", "messages: required, an array of messages");
      const target = gateway.router.resolve(body.model).targets[0]!;
      const { provider } = target;
      const headers = { ...base, "x-aigw-provider": target.label };
      if (provider.type !== "anthropic") {
        const { model: _, ...rest } = body;
        return c.json({ input_tokens: estimateTokens(rest, 0) }, 200, {
          ...headers,
          "x-aigw-estimated": "true",
        });
      }
      const got = gateway.keys.acquire(provider);
      if ("waitUntil" in got) {
        const retry = String(Math.max(1, Math.ceil((got.waitUntil - Date.now()) / 1000)));
        throw new GatewayError(429, "rate_limit_exceeded", `every key of ${provider.name} is cooling down`, {
          headers: { "retry-after": retry },
        });
      }
      const forwarded: Record<string, string> = {};
      for (const name of ["anthropic-version", "anthropic-beta"]) {
        const value = header(c, name);
        if (value !== undefined) forwarded[name] = value;
      }
      const upstream = await provider.send({
        route: "messages",
        subpath: "/count_tokens",
        body: { ...body, model: target.model },
        stream: false,
        key: got.lease.secret,
        headers: forwarded,
        query: queryString(c),
        signal: clientSignal(c),
      });
      const bytes = await readAll(upstream.body);
      return new Response(bytes as Uint8Array<ArrayBuffer>, {
        status: upstream.status,
        headers: { ...headers, "x-aigw-attempts": "1", "content-type": "application/json" },
      });
    } catch (err) {
      const error =
        err instanceof GatewayError
          ? err
          : new GatewayError(502, "upstream_error", `count_tokens failed: ${(err as Error).message}`);
      return renderError("anthropic", error, base);
    }
  });
}
