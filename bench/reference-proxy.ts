/**
 * The yardstick the CPU figure is read against: the smallest proxy one could write with the same
 * parts (Hono on @hono/node-server, undici Pool.request, JSON in and out, no logging). Its CPU per
 * request on the same box, in the same run, says how much of aigw's figure is the machine.
 * Usage: tsx bench/reference-proxy.ts --upstream http://127.0.0.1:PORT  (prints {"url": ...})
 */
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { createAdaptorServer } from "@hono/node-server";
import { Hono } from "hono";
import { Pool } from "undici";

const { values } = parseArgs({ options: { upstream: { type: "string" } } });
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
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return new Response(bytes, { status: res.statusCode, headers: { "content-type": "application/json" } });
});
const server = createAdaptorServer({ fetch: app.fetch });
server.listen(0, "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
