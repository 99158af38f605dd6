/** `aigw clients set` changes a client's limits in a running gateway without a new key. */
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type CliServer, runCli, startCli, tempHome, waitFor } from "./helpers.js";

let fake: FakeUpstream;
let server: CliServer;
const home = tempHome();

beforeAll(async () => {
  fake = await startFakeUpstream();
  const { writeFileSync } = await import("node:fs");
  writeFileSync(
    `${home.dir}/aigw.yaml`,
    `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\ncache: { enabled: false }\n`,
  );
});
afterAll(async () => {
  server?.child.kill("SIGKILL");
  await fake.close();
  home.cleanup();
});

describe("aigw clients set", () => {
  it("tightens and lifts a client's rpm and allowlist, live, keeping its key", async () => {
    const added = await runCli(["clients", "add", "web", "--json"], { home: home.dir });
    const { key } = JSON.parse(added.stdout);
    server = await startCli(["--port", "0"], { home: home.dir });
    const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    const ask = (model = "fake/m") =>
      client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
    await ask();

    const set = await runCli(["clients", "set", "web", "--rpm", "1", "--models", "fake/*"], {
      home: home.dir,
    });
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/updated web: rpm 1 .* models fake\/\*/);
    const list = JSON.parse((await runCli(["clients", "list", "--json"], { home: home.dir })).stdout);
    expect(list[0]).toMatchObject({ name: "web", rpm: 1, models: ["fake/*"] });

    // Within a second the gateway applies it: one request per minute now.
    let limited: unknown = null;
    await waitFor(
      () => {
        void ask().catch((e) => (limited = e));
        return limited !== null;
      },
      3000,
      "the new rpm to apply",
    );
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    const denied = await ask("gpt-4o-mini").catch((e) => e);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);

    expect((await runCli(["clients", "set", "web", "--rpm", "none"], { home: home.dir })).code).toBe(0);
    await waitFor(
      () => {
        void ask().then(
          () => (limited = "ok"),
          () => {},
        );
        return limited === "ok";
      },
      3000,
      "the rpm limit to lift",
    );
  });

  it("'none' clears every limit to null: the list shows '-' and --json gives null", async () => {
    const cli = (args: string[]) => runCli(["clients", ...args], { home: home.dir });
    expect((await cli(["add", "capped", "--rpm", "5", "--tpm", "900", "--daily-budget", "2"])).code).toBe(0);
    const set = await cli(["set", "capped", "--rpm", "none", "--tpm", "NONE", "--daily-budget", "none"]);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/rpm none · tpm none · daily \$none/);
    const [row] = JSON.parse((await cli(["list", "--json"])).stdout).filter(
      (c: { name: string }) => c.name === "capped",
    );
    expect(row).toMatchObject({ rpm: null, tpm: null, daily_budget_usd: null, monthly_budget_usd: null });
    const line = (await cli(["list"])).stdout.split("\n").find((l) => l.startsWith("capped"));
    expect(line?.split(/\s{2,}/).slice(2, 6)).toEqual(["-", "-", "-", "-"]);
  });

  it("says what is wrong: an unknown client (1), nothing to change (2), a bad value (2)", async () => {
    expect((await runCli(["clients", "set", "nobody", "--rpm", "5"], { home: home.dir })).code).toBe(1);
    const nothing = await runCli(["clients", "set", "web"], { home: home.dir });
    expect(nothing.code).toBe(2);
    expect(nothing.stderr).toMatch(/nothing to change/);
    expect((await runCli(["clients", "set", "web", "--rpm", "lots"], { home: home.dir })).code).toBe(2);
  });
});
