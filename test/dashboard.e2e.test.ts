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
});
