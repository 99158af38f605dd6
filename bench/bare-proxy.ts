/**
 * The framework-free yardstick: node:http in, an undici Pool out, the request JSON parsed and written
 * again, the response JSON parsed and written again, SSE piped chunk by chunk. What Node itself charges.
 * Usage: node bare-proxy.js --upstream http://127.0.0.1:PORT [--port N]  (prints {"url": ...})
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { Pool } from "undici";

const { values } = parseArgs({
  options: { upstream: { type: "string" }, port: { type: "string", default: "0" } },
});
const pool = new Pool(values.upstream!, { connections: 128 });

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  if (req.method !== "POST" || req.url !== "/v1/chat/completions") {
    res.writeHead(404).end();
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
  body.model = "gpt-4o-mini";
  const up = await pool.request({
    path: "/v1/chat/completions",
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const type = String(up.headers["content-type"] ?? "application/json");
  if (type.startsWith("text/event-stream")) {
    res.writeHead(up.statusCode, { "content-type": type, "cache-control": "no-cache" });
    for await (const chunk of up.body) res.write(chunk);
    res.end();
    return;
  }
  const out = JSON.stringify(await up.body.json());
  res.writeHead(up.statusCode, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(out),
  });
  res.end(out);
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), "127.0.0.1", () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on("SIGTERM", () => process.exit(0));
process.on("SIGINT", () => process.exit(0));
