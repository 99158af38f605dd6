/** Upstream keys through the real CLI and a real gateway: rotation on 429, retirement on 401, live reload. */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type CliServer, runCli, startCli, startTestGateway, tempHome, waitFor } from "./helpers.js";

const GOOD_A = "sk-test-good-aaaa1111";
const GOOD_B = "sk-test-good-bbbb2222";
const REVOKED = "sk-test-revoked-cccc3333";

let fake: FakeUpstream;
let home: { dir: string; cleanup: () => void };
const servers: CliServer[] = [];

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: [GOOD_A, GOOD_B] });
});
afterAll(() => fake.close());
beforeEach(() => {
  fake.reset();
  home = tempHome();
});
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.child.kill("SIGKILL");
    await s.exited;
  }
  home.cleanup();
});

const config = () =>
  `providers:\n  paid: { type: openai, base_url: ${fake.openaiBaseUrl} }\nqueue: { max_wait: 5s }\ncache: { enabled: false }\n`;

async function addKey(secret: string, label: string): Promise<string> {
  const res = await runCli(["keys", "add", "paid", "--label", label, "--json", "-c", "aigw.yaml"], {
    home: home.dir,
    input: secret,
  });
  expect(res.stderr).toBe("");
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout).id;
}

async function keysList(): Promise<
  { id: string; state: string; last_error: string | null; masked: string }[]
> {
  const res = await runCli(["keys", "list", "--json", "-c", "aigw.yaml"], { home: home.dir });
  expect(res.code).toBe(0);
  return JSON.parse(res.stdout);
}

async function start(): Promise<CliServer> {
  const server = await startCli(["--port", "0"], { home: home.dir });
  servers.push(server);
  return server;
}

const ask = (server: CliServer) =>
  new OpenAI({ apiKey: "client", baseURL: `${server.url}/v1`, maxRetries: 0 }).chat.completions
    .create({ model: "paid/gpt-test", messages: [{ role: "user", content: "hi" }] })
    .withResponse();

// Keys that answered requests (the gateway also lists the upstream's models with one at start).
const usedKeys = () =>
  fake.requests
    .filter((r) => r.path.endsWith("/chat/completions"))
    .map((r) => String(r.headers.authorization).replace("Bearer ", ""));

describe("upstream keys", () => {
  beforeEach(async () => {
    const { writeFileSync } = await import("node:fs");
    writeFileSync(join(home.dir, "aigw.yaml"), config());
  });

  it("moves a request to the next key when the first gets 429, and shows the first cooling", async () => {
    const a = await addKey(GOOD_A, "first");
    const b = await addKey(GOOD_B, "second");
    const server = await start();
    fake.script({ status: 429, headers: { "retry-after": "30" }, match: "/v1/chat" });
    const { data, response } = await ask(server);
    expect(data.choices[0]?.message.content).toBe("Echo: hi");
    expect(response.headers.get("x-aigw-attempts")).toBe("2");
    expect(usedKeys()).toEqual([GOOD_A, GOOD_B]);
    const keys = await keysList();
    expect(keys.find((k) => k.id === a)).toMatchObject({ state: "cooling" });
    expect(keys.find((k) => k.id === b)).toMatchObject({ state: "ok" });

    // The usage row names the key that served, never the key itself.
    const stats = JSON.parse((await runCli(["stats", "--json", "--by", "key"], { home: home.dir })).stdout);
    expect(stats.rows.map((r: { group: string }) => r.group)).toEqual([b]);

    // Cooldowns survive a restart: the next gateway goes straight to the second key.
    servers[0]!.child.kill("SIGTERM");
    await servers[0]!.exited;
    fake.reset();
    await ask(await start());
    expect(usedKeys()).toEqual([GOOD_B]);
  });

  it("retires a key the upstream rejects with 401 and answers from the next", async () => {
    const bad = await addKey(REVOKED, "old");
    await addKey(GOOD_A, "new");
    const server = await start();
    const { data } = await ask(server);
    expect(data.choices[0]?.message.content).toBe("Echo: hi");
    expect(usedKeys()).toEqual([REVOKED, GOOD_A]);
    const keys = await keysList();
    expect(keys.find((k) => k.id === bad)).toMatchObject({ state: "invalid" });
    expect(keys.find((k) => k.id === bad)?.last_error).toMatch(/^401/);
    // Retired for good: later requests never try it.
    fake.reset();
    await ask(server);
    expect(usedKeys()).toEqual([GOOD_A]);
  });

  it("uses a key added to a running gateway within a second", async () => {
    const server = await start();
    const before = await ask(server).catch((e) => e);
    expect(before.status).toBe(502);
    expect(before.message).toMatch(/aigw keys add paid/);
    await addKey(GOOD_A, "late");
    const added = Date.now();
    let answered = false;
    await waitFor(
      () => {
        void ask(server).then(
          () => (answered = true),
          () => {},
        );
        return answered;
      },
      1500,
      "the new key to be used",
    );
    expect(Date.now() - added).toBeLessThan(1500);
  });

  it("keeps no plaintext key on disk and never prints one", async () => {
    const id = await addKey(GOOD_A, "secret-check");
    const server = await start();
    await ask(server);
    const files = readdirSync(home.dir).map((f) => readFileSync(join(home.dir, f)));
    for (const bytes of files) expect(bytes.includes(Buffer.from(GOOD_A))).toBe(false);
    const outputs = [
      JSON.stringify(await keysList()),
      (await runCli(["keys", "list", "-c", "aigw.yaml"], { home: home.dir })).stdout,
      server.output().stdout + server.output().stderr,
      (await runCli(["stats", "--json", "--by", "key"], { home: home.dir })).stdout,
    ];
    for (const out of outputs) expect(out).not.toContain(GOOD_A.slice(0, 12));
    expect((await keysList())[0]).toMatchObject({ id, masked: "sk-…1111" });
  });

  it("refuses to start with stored keys and a different master key, saying where it looked", async () => {
    await addKey(GOOD_A, "a");
    const res = await runCli(["start", "--port", "0"], {
      home: home.dir,
      env: { AIGW_MASTER_KEY: Buffer.alloc(32, 7).toString("base64") },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/master key from \$AIGW_MASTER_KEY is not the one/);
  });

  it("disable, enable and rm take a key out of and back into rotation", async () => {
    const a = await addKey(GOOD_A, "a");
    const b = await addKey(GOOD_B, "b");
    expect((await runCli(["keys", "disable", a, "-c", "aigw.yaml"], { home: home.dir })).code).toBe(0);
    const server = await start();
    await ask(server);
    await ask(server);
    expect(usedKeys()).toEqual([GOOD_B, GOOD_B]);
    expect((await runCli(["keys", "rm", b, "-c", "aigw.yaml"], { home: home.dir })).code).toBe(0);
    expect((await runCli(["keys", "enable", a, "-c", "aigw.yaml"], { home: home.dir })).code).toBe(0);
    await waitFor(
      () => {
        void ask(server).catch(() => {});
        return usedKeys().includes(GOOD_A);
      },
      1500,
      "the re-enabled key",
    );
  });

  it("keys test reports each key and marks rejected ones invalid", async () => {
    await addKey(GOOD_A, "a");
    const bad = await addKey(REVOKED, "bad");
    const res = await runCli(["keys", "test", "paid", "--json", "-c", "aigw.yaml"], { home: home.dir });
    expect(res.code).toBe(1);
    const results = JSON.parse(res.stdout);
    expect(results.map((r: { ok: boolean }) => r.ok)).toEqual([true, false]);
    expect(JSON.stringify(results)).not.toContain(REVOKED);
    expect((await keysList()).find((k) => k.id === bad)).toMatchObject({ state: "invalid" });
  });
});

describe("when every key is cooling", () => {
  it("waits for the first to come back within queue.max_wait, else 429 with Retry-After", async () => {
    const gw = await startTestGateway({
      config: {
        providers: { paid: { type: "openai", base_url: fake.openaiBaseUrl } },
        queue: { max_wait: "2s" },
      },
      env: { PAID_API_KEY: GOOD_A },
    });
    try {
      const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
      const body = { model: "paid/m", messages: [{ role: "user" as const, content: "hi" }] };
      fake.script({ status: 429, headers: { "retry-after-ms": "150" }, match: "/v1/chat" });
      const waited = await client.chat.completions.create(body).withResponse();
      expect(waited.response.headers.get("x-aigw-attempts")).toBe("2");
      const [row] = await gw.waitForRows(1);
      expect(row!.queue_wait_ms).toBeGreaterThan(100);

      fake.script({ status: 429, headers: { "retry-after": "30" }, match: "/v1/chat" });
      const err = await client.chat.completions.create(body).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.RateLimitError);
      expect(err.headers.get("retry-after")).toBe("30");
      expect(err.error).toMatchObject({ type: "queue_timeout" });
    } finally {
      await gw.close();
    }
  });
});
