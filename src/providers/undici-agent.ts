/**
 * undici's Agent and its request API, without the rest of the package (fetch, WebSocket, caches,
 * mocks, proxies: half its code). undici's own index does no more for an Agent than this: it requires
 * the Agent and puts the API (`request`, `stream`, …) on the Dispatcher prototype.
 *
 * Bundled, this module is a chunk of its own, so the gateway's start does not compile it; importing it
 * compiles the code, and each `require` below evaluates a part (the HTTP/1 client with its llhttp, the
 * HTTP/2 client, the pool, the API), a part per turn of the event loop, so that no turn holds up the
 * requests arriving meanwhile for the whole package (~40 ms in one turn before).
 */
import type { Agent } from "undici";

const PARTS = [
  () => require("undici/lib/core/util.js"),
  () => require("undici/lib/dispatcher/client-h1.js"),
  () => require("undici/lib/dispatcher/client-h2.js"),
  () => require("undici/lib/dispatcher/pool.js"),
  () => require("undici/lib/api/index.js"),
];

export async function loadAgent(): Promise<typeof Agent> {
  for (const part of PARTS) {
    part();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const AgentClass = require("undici/lib/dispatcher/agent.js") as typeof Agent;
  Object.assign(require("undici/lib/dispatcher/dispatcher.js").prototype, require("undici/lib/api/index.js"));
  return AgentClass;
}
