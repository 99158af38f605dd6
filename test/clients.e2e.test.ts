/**
 * Client keys end to end: the official SDKs against a real gateway (in process, and the real
 * `bin/aigw start`) over a fake upstream, with keys made by the store and by the real CLI.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashClientKey } from "../src/store/clients.js";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type CliServer, runCli, startCli, startTestGateway, type TestGateway, tempHome } from "./helpers.js";

const UPSTREAM_OPENAI_KEY = "sk-upstream-openai-0001";
const UPSTREAM_ANTHROPIC_KEY = "sk-ant-upstream-0002";

let fake: FakeUpstream;
const cleanups: (() => Promise<void> | void)[] = [];
/** Every client key this file has seen: none may show up where a secret must not. */
const secrets: string[] = [];
/** Every error body and gateway output line, checked for secrets at the end. */
const exposed: string[] = [];

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: [UPSTREAM_OPENAI_KEY, UPSTREAM_ANTHROPIC_KEY] });
  cleanups.push(() => fake.close());
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const hello = [{ role: "user" as const, content: "hello there" }];

function openai(url: string, apiKey: string | null, headers: Record<string, string | null> = {}) {
  return new OpenAI({
    apiKey: apiKey ?? "unused",
    baseURL: `${url}/v1`,
    maxRetries: 0,
    defaultHeaders: apiKey === null ? { authorization: null, ...headers } : headers,
  });
}

function anthropic(url: string, opts: { apiKey?: string; authToken?: string } = {}) {
  return new Anthropic({
    apiKey: opts.apiKey ?? null,
    authToken: opts.authToken ?? null,
    baseURL: url,
    maxRetries: 0,
    defaultHeaders: opts.apiKey || opts.authToken ? {} : { authorization: null, "x-api-key": null },
  });
}

const chat = (client: OpenAI, model = "gpt-4o-mini") =>
  client.chat.completions.create({ model, messages: hello });
const message = (client: Anthropic, model = "claude-haiku-4-5") =>
  client.messages.create({ model, max_tokens: 64, messages: hello });

/** The error a call fails with (and its body, kept for the secrets check). */
async function failure(
  call: Promise<unknown>,
): Promise<InstanceType<typeof OpenAI.APIError> | InstanceType<typeof Anthropic.APIError>> {
  try {
    await call;
  } catch (err) {
    if (err instanceof OpenAI.APIError || err instanceof Anthropic.APIError) {
      exposed.push(JSON.stringify(err.error ?? null), err.message);
      return err;
    }
    throw err;
  }
  throw new Error("expected the call to fail");
}

async function post(url: string, path: string, headers: Record<string, string>, body: object) {
  const res = await fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  exposed.push(text);
  return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
}

describe("client keys in a running gateway", () => {
  let gw: TestGateway;
  let web: string;
  let limited: string;

  beforeAll(async () => {
    gw = await startTestGateway({
      config: {
        providers: {
          openai: { base_url: fake.openaiBaseUrl },
          anthropic: { base_url: fake.anthropicBaseUrl },
        },
      },
      env: { OPENAI_API_KEY: UPSTREAM_OPENAI_KEY, ANTHROPIC_API_KEY: UPSTREAM_ANTHROPIC_KEY },
    });
    cleanups.push(() => gw.close());
  });

  it("is off while no client exists: /v1 and the admin routes are open to loopback", async () => {
    expect((await chat(openai(gw.url, null))).choices[0]?.message.content).toBe("Echo: hello there");
    expect((await fetch(`${gw.url}/aigw/status`)).status).toBe(200);

    web = gw.clients.add({ name: "web" }, Date.now()).key;
    limited = gw.clients.add({ name: "limited", models: ["openai/*"] }, Date.now()).key;
    secrets.push(web, limited);
    gw.gateway.reload();
  });

  it("answers a request with no key 401 in each route's shape, so each SDK raises AuthenticationError", async () => {
    fake.reset();
    gw.db.exec("DELETE FROM usage");
    const o = await failure(chat(openai(gw.url, null)));
    expect(o).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(o.error).toMatchObject({ type: "authentication_error", code: "client_key_required" });
    expect(o.message).toMatch(/x-gateway-key/);
    const a = await failure(message(anthropic(gw.url)));
    expect(a).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(a.error).toMatchObject({ type: "error", error: { type: "authentication_error" } });

    const rows = await gw.waitForRows(2);
    expect(rows.map((r) => [r.route, r.status, r.error_type, r.client])).toEqual([
      ["chat", 401, "authentication_error", null],
      ["messages", 401, "authentication_error", null],
    ]);
    expect(fake.requests).toHaveLength(0);
  });

  it("refuses a wrong key with 401, naming nothing secret", async () => {
    const wrong = `aigw_${"x".repeat(43)}`;
    const o = await failure(chat(openai(gw.url, wrong)));
    expect(o).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((o.error as { code: string }).code).toBe("client_key_invalid");
    const a = await failure(message(anthropic(gw.url, { apiKey: wrong })));
    expect(a).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(JSON.stringify([o.error, a.error])).not.toContain(wrong);
    const models = await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${wrong}` } });
    expect(models.status).toBe(401);
  });

  it("accepts a valid key in each header style, logs the client, and never forwards the key", async () => {
    fake.reset();
    gw.db.exec("DELETE FROM usage");
    const viaBearer = await chat(openai(gw.url, web));
    expect(viaBearer.choices[0]?.message.content).toBe("Echo: hello there");
    const viaApiKey = await message(anthropic(gw.url, { apiKey: web }));
    expect(viaApiKey.content[0]).toMatchObject({ type: "text", text: "Echo: hello there" });
    const viaAuthToken = await message(anthropic(gw.url, { authToken: web }));
    expect(viaAuthToken.content[0]).toMatchObject({ type: "text" });
    const viaGatewayKey = await post(
      gw.url,
      "/v1/chat/completions",
      { "x-gateway-key": web, authorization: "Bearer sk-something-for-another-proxy" },
      { model: "gpt-4o-mini", messages: hello },
    );
    expect(viaGatewayKey.status).toBe(200);
    const models = await fetch(`${gw.url}/v1/models`, { headers: { "x-api-key": web } });
    expect(models.status).toBe(200);

    const rows = await gw.waitForRows(4);
    expect(rows.map((r) => [r.status, r.client])).toEqual([
      [200, "web"],
      [200, "web"],
      [200, "web"],
      [200, "web"],
    ]);
    expect(fake.requests).toHaveLength(4);
    const upstreamHeaders = JSON.stringify(fake.requests.map((r) => r.headers));
    expect(upstreamHeaders).not.toContain(web);
    expect(upstreamHeaders).not.toContain("x-gateway-key");
    expect(fake.requests.map((r) => r.headers.authorization ?? r.headers["x-api-key"])).toEqual([
      `Bearer ${UPSTREAM_OPENAI_KEY}`,
      UPSTREAM_ANTHROPIC_KEY,
      UPSTREAM_ANTHROPIC_KEY,
      `Bearer ${UPSTREAM_OPENAI_KEY}`,
    ]);
  });

  it("holds a client to its model allowlist: 403 PermissionDeniedError in each SDK", async () => {
    const allowed = await chat(openai(gw.url, limited), "gpt-4o-mini"); // openai/* matches the target
    expect(allowed.choices[0]?.message.content).toBe("Echo: hello there");
    const o = await failure(chat(openai(gw.url, limited), "anthropic/claude-haiku-4-5"));
    expect(o).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(o.error).toMatchObject({ type: "permission_error", code: "model_not_allowed" });
    const a = await failure(message(anthropic(gw.url, { apiKey: limited })));
    expect(a).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(a.error).toMatchObject({ type: "error", error: { type: "permission_error" } });
  });

  it("closes the admin routes to loopback callers without the admin token once a client exists", async () => {
    expect((await fetch(`${gw.url}/aigw/status`)).status).toBe(401);
    expect(
      (await fetch(`${gw.url}/aigw/status`, { headers: { authorization: `Bearer ${web}` } })).status,
    ).toBe(401);
    const ok = await fetch(`${gw.url}/aigw/status`, {
      headers: { authorization: `Bearer ${gw.adminToken}` },
    });
    expect(ok.status).toBe(200);
  });

  it("stops a revoked key, and keeps a rotated-out key only through its grace", async () => {
    gw.clients.revoke("limited", Date.now());
    gw.gateway.reload();
    const revoked = await failure(chat(openai(gw.url, limited)));
    expect(revoked).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((revoked.error as { code: string }).code).toBe("client_key_revoked");

    const { key: next } = gw.clients.rotate("web", 300, Date.now());
    secrets.push(next);
    gw.gateway.reload();
    await chat(openai(gw.url, web));
    await chat(openai(gw.url, next));
    await new Promise((r) => setTimeout(r, 320));
    const expired = await failure(message(anthropic(gw.url, { apiKey: web })));
    expect(expired).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(expired.message).toMatch(/rotated out/);
    expect((await chat(openai(gw.url, next))).choices[0]?.message.content).toBe("Echo: hello there");
  });
});

describe("aigw clients with a running aigw start", () => {
  const config = () =>
    `providers:\n  openai: { base_url: ${fake.openaiBaseUrl} }\n  anthropic: { base_url: ${fake.anthropicBaseUrl} }\n`;
  const env = { OPENAI_API_KEY: UPSTREAM_OPENAI_KEY, ANTHROPIC_API_KEY: UPSTREAM_ANTHROPIC_KEY };
  const servers: CliServer[] = [];

  function home(): string {
    const h = tempHome();
    cleanups.push(h.cleanup);
    writeFileSync(join(h.dir, "aigw.yaml"), config());
    return h.dir;
  }

  async function start(dir: string, args: string[] = ["--port", "0"]): Promise<CliServer> {
    const server = await startCli(args, { home: dir, env });
    servers.push(server);
    cleanups.push(() => {
      if (server.child.exitCode === null) server.child.kill("SIGKILL");
    });
    return server;
  }

  const status = async (url: string, key: string | null) => {
    try {
      await chat(openai(url, key));
      return 200;
    } catch (err) {
      if (err instanceof OpenAI.APIError) return err.status;
      throw err;
    }
  };

  it("takes a key added, rotated and revoked by the CLI within a second, and shows no secret", async () => {
    const dir = home();
    const server = await start(dir);
    expect(await status(server.url, null)).toBe(200);

    const added = await runCli(["clients", "add", "cli-app", "--rpm", "60", "--models", "openai/*"], {
      home: dir,
    });
    expect(added.code).toBe(0);
    const key = added.stdout.trim();
    expect(key).toMatch(/^aigw_[A-Za-z0-9_-]{43}$/); // alone on stdout; the talk is on stderr
    expect(added.stderr).toMatch(/shown only this once/);
    expect(added.stderr).toContain(server.url);
    secrets.push(key);
    const t0 = Date.now();
    while ((await status(server.url, null)) !== 401) {
      expect(Date.now() - t0).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await status(server.url, key)).toBe(200);

    const listed = await runCli(["clients", "list", "--json"], { home: dir });
    expect(listed.code).toBe(0);
    const [row] = JSON.parse(listed.stdout);
    expect(row).toMatchObject({
      name: "cli-app",
      key_prefix: `${key.slice(0, 9)}…`,
      state: "active",
      rpm: 60,
    });
    expect(row.models).toEqual(["openai/*"]);
    const hash = hashClientKey(key);
    expect(listed.stdout).not.toContain(key.slice(9));
    expect(listed.stdout).not.toContain(hash.toString("hex"));
    expect(listed.stdout).not.toContain(hash.toString("base64"));

    const rotated = await runCli(["clients", "rotate", "cli-app", "--json"], { home: dir });
    expect(rotated.code).toBe(0);
    const next = JSON.parse(rotated.stdout) as { key: string; previous_expires_at: string };
    secrets.push(next.key);
    expect(Date.parse(next.previous_expires_at) - Date.now()).toBeGreaterThan(3_500_000); // default grace 1h
    const t1 = Date.now();
    while ((await status(server.url, next.key)) !== 200) {
      expect(Date.now() - t1).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await status(server.url, key)).toBe(200);

    const revoked = await runCli(["clients", "revoke", "cli-app"], { home: dir });
    expect(revoked.code).toBe(0);
    expect(revoked.stdout).toMatch(/no active client remains/);
    const t2 = Date.now();
    while ((await status(server.url, next.key)) !== 401) {
      expect(Date.now() - t2).toBeLessThan(1000);
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await status(server.url, key)).toBe(401);
    expect(await status(server.url, null)).toBe(401); // revoking the last client does not open the gateway

    const { stdout, stderr } = server.output();
    exposed.push(stdout, stderr, added.stderr, rotated.stderr, revoked.stdout, revoked.stderr);
  });

  let lanHome: string;
  let lanKey: string;

  it("reports CLI mistakes in one line with exit 1, and bad input as usage errors (2)", async () => {
    const dir = home();
    lanHome = dir;
    const first = await runCli(["clients", "add", "web", "--json"], { home: dir });
    const doc = JSON.parse(first.stdout);
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(["name", "key", "key_prefix", "created_at"]));
    secrets.push(doc.key);
    lanKey = doc.key;
    const cases: [string[], number, RegExp][] = [
      [["clients", "add", "web"], 1, /a client named "web" already exists/],
      [["clients", "revoke", "nope"], 1, /no client named "nope"/],
      [["clients", "add", "x", "--rpm", "ten"], 2, /--rpm: expected a positive whole number/],
      [["clients", "add", "bad name"], 2, /client name "bad name"/],
      [["clients", "rotate", "web", "--grace", "soon"], 2, /--grace: expected a duration/],
    ];
    const results = await Promise.all(cases.map(([args]) => runCli(args, { home: dir })));
    for (const [i, [, code, message]] of cases.entries()) {
      expect(results[i]!.code).toBe(code);
      expect(results[i]!.stderr).toMatch(message);
      expect(results[i]!.stderr).not.toMatch(/\n\s+at /);
      exposed.push(results[i]!.stdout, results[i]!.stderr);
    }
  });

  it("listens on 0.0.0.0 once an active client exists, and then requires a key", async () => {
    // The home of the test above: client "web" exists. (cli.e2e tests the refusal without one.)
    const key = lanKey;
    const server = await start(lanHome, ["--host", "0.0.0.0", "--port", "0"]);
    const url = server.url.replace("0.0.0.0", "127.0.0.1"); // traffic stays on loopback
    expect(await status(url, null)).toBe(401);
    expect(await status(url, key)).toBe(200);
    exposed.push(server.output().stdout, server.output().stderr);
  });

  it("never shows a client key in an error body or gateway output", () => {
    expect(secrets.length).toBeGreaterThan(5);
    expect(exposed.length).toBeGreaterThan(10);
    const everything = exposed.join("\n");
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.slice(9));
    }
  });
});
