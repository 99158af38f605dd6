import type { Context, Hono } from "hono";
import type { Gateway, GatewayResponse } from "../../gateway/index.js";
import { forwardResponseLookup, type ResponseLookup } from "../../gateway/response-origin.js";
import { SseParser } from "../../providers/sse.js";
import { planTools } from "../../providers/translate/responses-tools.js";
import type { StoredResponses } from "../../store/stored-responses.js";
import type { AppEnv } from "../app.js";
import { clientSignal, header, queryString } from "../node-request.js";
import { type ProxyHooks, toResponse } from "./v1.js";

type Json = Record<string, unknown>;

/** The provider that answered (`x-aigw-provider`) was reached through translation. */
function translated(gateway: Gateway, res: GatewayResponse): boolean {
  const label = res.headers["x-aigw-provider"];
  if (!label) return false;
  const provider = gateway.providers.get(label.slice(0, label.indexOf("/")));
  return provider !== undefined && !provider.formats.includes("responses");
}

/** `input` as a list of items (a bare string is one user message). */
const inputItems = (input: unknown): unknown[] =>
  typeof input === "string"
    ? [{ type: "message", role: "user", content: input }]
    : Array.isArray(input)
      ? input
      : [];

/**
 * `POST /v1/responses` around the pipeline. In: a `previous_response_id` aigw stored expands to the
 * conversation it continues. Out: hosted tools a translated provider could not run are named, and a
 * translated response (store not false) is kept, a stream's once its `response.completed` passes.
 */
export function responsesHooks(gateway: Gateway): ProxyHooks {
  const store = gateway.storedResponses;
  const retention = gateway.config.responses.retention;
  return {
    before(body, client) {
      const previous = typeof body.previous_response_id === "string" ? body.previous_response_id : null;
      const entry = previous && store ? store.get(previous, client, gateway.clock.now()) : null;
      if (!entry) return body;
      const { previous_response_id: _, ...rest } = body;
      const output = Array.isArray(entry.response.output) ? entry.response.output : [];
      return { ...rest, input: [...entry.input, ...output, ...inputItems(body.input)] };
    },
    after(body, res, client) {
      if (res.status !== 200 || !translated(gateway, res)) return res;
      let dropped: string[] = [];
      try {
        dropped = planTools(body).dropped;
      } catch {
        dropped = []; // the pipeline already answered; a malformed tool list is its business
      }
      if (dropped.length > 0) res.headers["x-aigw-dropped-tools"] = dropped.join(",");
      if (!store || body.store === false) return res;
      const keep = (response: Json) => {
        const now = gateway.clock.now();
        // The client has its answer either way; a response that cannot be kept is only not continuable.
        try {
          store.put({
            id: String(response.id),
            client,
            model: res.headers["x-aigw-provider"] ?? "",
            created_at: now,
            expires_at: now + retention,
            input: inputItems(body.input),
            response,
          });
        } catch (err) {
          process.stderr.write(
            `aigw: could not store response ${String(response.id)}: ${(err as Error).message}\n`,
          );
        }
      };
      if (res.body) {
        const parsed = parse(Buffer.from(res.body).toString("utf8"));
        if (parsed?.object === "response") keep(parsed);
        return res;
      }
      if (res.stream) return { ...res, stream: watchCompleted(res.stream, keep) };
      return res;
    },
  };
}

/** Passes a stream on unchanged, handing the response of its `response.completed` event to `keep`. */
async function* watchCompleted(
  stream: AsyncIterable<Uint8Array>,
  keep: (response: Json) => void,
): AsyncGenerator<Uint8Array> {
  const parser = new SseParser();
  const decoder = new TextDecoder();
  for await (const chunk of stream) {
    for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
      if (frame.event !== "response.completed") continue;
      const response = parse(frame.data)?.response;
      if (response && typeof response === "object") keep(response as Json);
    }
    yield chunk;
  }
}

function parse(text: string): Json | null {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === "object" && !Array.isArray(value) ? (value as Json) : null;
  } catch {
    return null;
  }
}

const notFound = (c: Context<AppEnv>, id: string) =>
  c.json(
    {
      error: {
        message: `No response with id '${id}' found. aigw answers for responses it translated and stored (store not false, within responses.retention).`,
        type: "invalid_request_error",
        param: null,
        code: "not_found",
      },
    },
    404,
  );

/**
 * GET / DELETE `/v1/responses/{id}`, `/input_items` and `/cancel`: answered here for responses aigw
 * stored, forwarded to the provider that made the others; WebSocket upgrades get 426.
 */
export function responsesRoutes(app: Hono<AppEnv>, gateway: Gateway): void {
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
  const store: StoredResponses | null = gateway.storedResponses;
  const find = (c: Context<AppEnv>) =>
    store?.get(c.req.param("id") ?? "", c.get("client"), gateway.clock.now()) ?? null;
  const forward = async (
    c: Context<AppEnv>,
    method: ResponseLookup["method"],
    subpath: ResponseLookup["subpath"],
  ) => {
    const responseId = c.req.param("id") ?? "";
    const headers: Record<string, string> = {};
    for (const name of gateway.forwardHeaders) {
      const value = header(c, name);
      if (value !== undefined) headers[name] = value;
    }
    const res = await forwardResponseLookup(gateway, {
      responseId,
      method,
      subpath,
      client: c.get("client"),
      headers,
      query: queryString(c),
      signal: clientSignal(c),
    });
    if (!res) return notFound(c, responseId);
    res.headers["x-aigw-request-id"] = c.get("requestId");
    return toResponse(res);
  };
  app.get("/v1/responses/:id", (c) => {
    const entry = find(c);
    return entry ? c.json(entry.response) : forward(c, "GET", "");
  });
  app.delete("/v1/responses/:id", (c) => {
    const id = c.req.param("id");
    if (!store?.delete(id, c.get("client"))) return forward(c, "DELETE", "");
    return c.json({ id, object: "response", deleted: true });
  });
  app.post("/v1/responses/:id/cancel", (c) => {
    if (!find(c)) return forward(c, "POST", "/cancel");
    // What OpenAI answers for a response that did not run in the background: aigw's are all finished.
    const message = "Only responses created with background=true can be cancelled.";
    return c.json({ error: { message, type: "invalid_request_error", param: null, code: null } }, 400);
  });
  app.get("/v1/responses/:id/input_items", (c) => {
    const entry = find(c);
    if (!entry) return forward(c, "GET", "/input_items");
    // Newest first by default, as OpenAI lists them; `order=asc` for oldest first, `limit` up to 100.
    const asc = c.req.query("order") === "asc";
    const limit = Math.min(100, Math.max(1, Number(c.req.query("limit")) || 20));
    const items = entry.input.map((item, i) => ({ id: `item_${entry.id.slice(5)}_${i}`, ...(item as Json) }));
    const ordered = asc ? items : items.reverse();
    const after = c.req.query("after");
    const start = after ? ordered.findIndex((i) => i.id === after) + 1 : 0;
    const data = ordered.slice(start, start + limit);
    return c.json({
      object: "list",
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < ordered.length,
    });
  });
}
