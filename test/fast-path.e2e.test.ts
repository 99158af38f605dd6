/**
 * The node fast path (POST /v1/* straight from node's request to node's response) answers as the
 * Hono app does: the same request through the listening server and through `app.request()` (no node
 * bindings, so Hono's routes, middleware and error handler) gives the same status, headers and body.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../src/server/app.js";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let up: FakeUpstream;
let gw: TestGateway;
let viaHono: ReturnType<typeof createApp>;

beforeAll(async () => {
  up = await startFakeUpstream({ chunks: 3 });
  gw = await startTestGateway({
    config: {
      providers: {
        fake: { type: "openai-compatible", base_url: up.openaiBaseUrl },
        ant: { type: "anthropic", base_url: up.anthropicBaseUrl },
      },
    },
    env: { ANT_API_KEY: "sk-ant" },
  });
  viaHono = createApp({ gateway: gw.gateway, adminToken: gw.adminToken });
});
afterAll(async () => {
  await gw.close();
  await up.close();
});

const SHOWN = ["content-type", "x-aigw-provider", "x-aigw-cache", "x-aigw-attempts", "cache-control"];

/** Status, the headers a client reads, and the body with per-request ids and times blanked. */
async function answer(res: Response) {
  const text = (await res.text())
    .replace(/"(id|created|request_id)":\s*("[^"]*"|\d+)/g, '"$1":"-"')
    .replace(/req_[0-9a-f]{20}/g, "req_-");
  const headers = Object.fromEntries(SHOWN.map((h) => [h, res.headers.get(h)]));
  return { status: res.status, headers, text, requestId: res.headers.get("x-aigw-request-id") };
}

async function both(path: string, body: string, headers: Record<string, string> = {}) {
  const init = { method: "POST", body, headers: { "content-type": "application/json", ...headers } };
  const fast = await answer(await fetch(`${gw.url}${path}`, init));
  const hono = await answer(await viaHono.request(path, init));
  return { fast, hono };
}

const chat = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ model: "fake/gpt-4o-mini", messages: [{ role: "user", content: "hi" }], ...extra });

describe("node fast path", () => {
  it("answers JSON, streams and errors as the Hono routes do, each with its request id", async () => {
    const cases: [string, string][] = [
      ["/v1/chat/completions", chat()],
      ["/v1/chat/completions", chat({ stream: true, stream_options: { include_usage: true } })],
      ["/v1/chat/completions", "{not json"],
      ["/v1/chat/completions", chat({ model: "nowhere/at-all" })],
      ["/v1/messages", JSON.stringify({ model: "ant/claude-haiku-4-5", max_tokens: 5 })],
      ["/v1/chat/completions?api-version=1", chat()],
    ];
    for (const [path, body] of cases) {
      const { fast, hono } = await both(path, body);
      expect({ path, ...fast, requestId: null }).toEqual({ path, ...hono, requestId: null });
      expect(fast.requestId).toMatch(/^req_[0-9a-f]{20}$/);
    }
    // One row per request on either path.
    expect(gw.rows()).toHaveLength(cases.length * 2);
  });

  it("leaves every other method and spelling to the app", async () => {
    const slash = await fetch(`${gw.url}/v1/chat/completions/`, { method: "POST", body: chat() });
    expect(slash.status).toBe(404);
    expect(((await slash.json()) as { error: { code: string } }).error.code).toBe("route_not_found");
    const get = await fetch(`${gw.url}/v1/chat/completions`);
    expect(get.status).toBe(404);
    const models = await fetch(`${gw.url}/v1/models`);
    expect(models.status).toBe(200);
  });

  it("answers the health probe as the app's route does, and HEAD of it through the app", async () => {
    const fast = await fetch(`${gw.url}/aigw/health`);
    const hono = await viaHono.request("/aigw/health");
    expect(fast.status).toBe(200);
    expect([fast.headers.get("content-type"), await fast.text()]).toEqual([
      hono.headers.get("content-type"),
      await hono.text(),
    ]);
    expect(fast.headers.get("content-length")).toBe("11");
    const head = await fetch(`${gw.url}/aigw/health`, { method: "HEAD" });
    expect([head.status, await head.text()]).toEqual([200, ""]);
  });
});
