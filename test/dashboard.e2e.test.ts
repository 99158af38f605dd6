/** The dashboard against real things: the built CLI without a terminal, and a live gateway's SSE and status. */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { render } from "ink-testing-library";
import { createElement } from "react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { homePaths } from "../src/config/paths.js";
import { Dashboard } from "../src/ui/Dashboard.js";
import { gatewayTransport } from "../src/ui/gateway-transport.js";
import { runCli, startTestGateway, type TestGateway, tempHome, waitFor } from "./helpers.js";

describe("aigw dashboard", () => {
  it("refuses to run without a terminal and points to aigw tail", async () => {
    const home = tempHome();
    try {
      const result = await runCli(["dashboard"], { home: home.dir });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe("");
      expect(result.stderr).toContain("the dashboard needs an interactive terminal");
      expect(result.stderr).toContain("aigw tail");
    } finally {
      home.cleanup();
    }
  });

  describe("on a running gateway", () => {
    let gw: TestGateway;
    let home: ReturnType<typeof tempHome>;

    beforeAll(async () => {
      gw = await startTestGateway({ demo: true });
      home = tempHome();
      const runFile = join(home.dir, "run.json");
      const info = {
        pid: process.pid,
        url: gw.url,
        admin_token: gw.adminToken,
        started_at: Date.now(),
        version: "test",
      };
      writeFileSync(runFile, JSON.stringify(info));
    });

    afterAll(async () => {
      await gw.close();
      home.cleanup();
    });

    it("shows requests as they start and finish, and the gateway's status", async () => {
      const app = render(
        createElement(Dashboard, { transport: gatewayTransport(homePaths(home.dir)), pollMs: 100 }),
      );
      try {
        const frame = () => app.lastFrame() ?? "";
        await waitFor(
          () => frame().includes("● live") && frame().includes("no rate limits configured"),
          3000,
          "live",
        );
        const ask = (model: string) =>
          fetch(`${gw.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
          }).then((r) => r.text());
        await Promise.all([ask("gpt-4o-mini"), ask("mock/error-503")]);
        const finished = () =>
          /gpt-4o-mini → mock +200/.test(frame()) && /mock\/error-503 +502 .*upstream_error/.test(frame());
        await waitFor(finished, 5000, "both rows to finish");
        expect(frame()).toContain("── Requests · 2 seen");
        // --demo prices the mock's gpt-4o-mini as the real one (simulated): a cost shows, no key needed.
        expect(frame()).toContain("today <$0.0001");
        expect(frame()).toContain("Costs today (simulated)");
      } finally {
        app.unmount();
      }
    });
  });

  it("opens after traffic with the log's latest requests and today's spend per model and client", async () => {
    // A high price per 1M tokens, so the mock's answers cost something the panel can show.
    const gw = await startTestGateway({
      demo: true,
      config: { pricing: { "mock/gpt-4o-mini": { input: 10_000, output: 10_000 } } },
    });
    const home = tempHome();
    writeFileSync(
      join(home.dir, "run.json"),
      JSON.stringify({
        pid: process.pid,
        url: gw.url,
        admin_token: gw.adminToken,
        started_at: 0,
        version: "t",
      }),
    );
    try {
      const ask = (model: string, content: string) =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content }] }),
        }).then((r) => r.text());
      for (let i = 0; i < 4; i++) await ask("mock/gpt-4o-mini", `before ${i}`);
      await ask("mock/error-503", "fails");
      const before = await gw.waitForRows(5);
      const spent = before.reduce((total, r) => total + (r.cost_usd ?? 0), 0);
      expect(spent).toBeGreaterThan(0.001);

      const app = render(
        createElement(Dashboard, { transport: gatewayTransport(homePaths(home.dir)), pollMs: 100 }),
      );
      try {
        const frame = () => app.lastFrame() ?? "";
        await waitFor(() => frame().includes("── Requests · 5 seen"), 5000, "the log's rows");
        expect(frame()).toMatch(/mock\/error-503 +502 .*upstream_error/);
        expect(frame().match(/anonymous +mock\/gpt-4o-mini +200/g)).toHaveLength(4);
        // Per model, from the log for the whole day: no "models since" the moment it opened.
        expect(frame()).toContain("── Costs today ──");
        const usd = `$${spent.toFixed(2)}`;
        expect(frame()).toMatch(new RegExp(`model +mock/gpt-4o-mini +\\${usd}`));
        expect(frame()).toMatch(new RegExp(`client +anonymous +\\${usd}`));
        // A request after opening adds to the seeded totals, once.
        await ask("mock/gpt-4o-mini", "after");
        await waitFor(() => frame().includes("── Requests · 6 seen"), 5000, "the live row");
        const total = (await gw.waitForRows(6)).reduce((sum, r) => sum + (r.cost_usd ?? 0), 0);
        const now = `$${total.toFixed(2)}`;
        await waitFor(() => frame().includes(`model  mock/gpt-4o-mini`) && frame().includes(now), 3000, now);
        expect(frame()).toMatch(new RegExp(`model +mock/gpt-4o-mini +\\${now}`));
      } finally {
        app.unmount();
      }
    } finally {
      await gw.close();
      home.cleanup();
    }
  });

  it("GET /aigw/history needs the admin token once clients exist, and checks its limit", async () => {
    const gw = await startTestGateway({ demo: true });
    try {
      await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "mock/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
      }).then((r) => r.text());
      await gw.waitForRows(1);
      const get = (query: string, token?: string) =>
        fetch(
          `${gw.url}/aigw/history${query}`,
          token ? { headers: { authorization: `Bearer ${token}` } } : {},
        );
      const open = await get("?limit=5");
      expect(open.status).toBe(200);
      const body = (await open.json()) as { rows: unknown[]; today: { spend: unknown[] } };
      expect(body.rows).toHaveLength(1);
      expect(body.rows[0]).toMatchObject({ requested_model: "mock/gpt-4o-mini", status: 200 });
      expect(body.today.spend).toEqual([
        // --demo prices the mock's gpt-4o-mini as the real one would cost (simulated).
        { model: "mock/gpt-4o-mini", client: null, requests: 1, cost_usd: expect.any(Number), unpriced: 0 },
      ]);
      expect((body.today.spend[0] as { cost_usd: number }).cost_usd).toBeGreaterThan(0);
      const bad = await get("?limit=-1");
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { error: unknown }).error).toMatchObject({
        type: "invalid_request_error",
        code: "invalid_limit",
      });

      gw.clients.add({ name: "web" }, Date.now());
      gw.gateway.reload();
      expect((await get("")).status).toBe(401);
      expect((await get("", gw.adminToken)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
