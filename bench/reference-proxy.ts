/**
 * The yardstick aigw is held to: the smallest proxy one could write with the same parts (Hono on
 * @hono/node-server, undici Pool.request, the request JSON parsed and re-written, the response
 * forwarded, SSE streamed through, no logging).
 * Usage: node reference-proxy.js --upstream http://127.0.0.1:PORT [--port N]  (prints {"url": ...})
 */
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { parseArgs } from "node:util";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { Pool } from "undici";

const { values } = parseArgs({
  options: { upstream: { type: "string" }, port: { type: "string", default: "0" } },
});
const pool = new Pool(values.upstream!, { connections: 128 });
const app = new Hono();
app.post("/v1/chat/completions", async (c) => {
  const body = (await c.req.json()) as Record<string, unknown>;
  body.model = "gpt-4o-mini";
  const res = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const type = String(res.headers["content-type"] ?? "application/json");
  if (type.startsWith("text/event-stream"))
    return new Response(Readable.toWeb(res.body) as ReadableStream, {
      status: res.statusCode,
      headers: { "content-type": type, "cache-control": "no-cache" },
    });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return new Response(bytes, { status: res.statusCode, headers: { "content-type": "application/json" } });
});
const server = createAdaptorServer({ fetch: app.fetch });
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
