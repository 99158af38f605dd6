/** What `aigw start` prints while it serves, and `aigw status` / `aigw stop` through the real CLI. */
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { BIN, type CliServer, runCli, startCli, tempHome, waitFor } from "./helpers.js";

let fake: FakeUpstream;
const homes: (() => void)[] = [];
const children: CliServer["child"][] = [];

beforeAll(async () => {
  fake = await startFakeUpstream();
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill("SIGKILL");
});
afterAll(async () => {
  await fake.close();
  for (const cleanup of homes) cleanup();
});

function home(): string {
  const h = tempHome();
  homes.push(h.cleanup);
  writeFileSync(
    join(h.dir, "aigw.yaml"),
    `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\ncache: { enabled: false }\n`,
  );
  return h.dir;
}

async function start(dir: string, args: string[]): Promise<CliServer> {
  const server = await startCli(["--port", "0", ...args], { home: dir });
  children.push(server.child);
  return server;
}

/** `aigw start --log-format json`: the banner goes to stderr, so wait for it there. */
function startJson(dir: string): Promise<{ url: string; lines: () => string[]; stderr: () => string }> {
  const child = spawn(process.execPath, [BIN, "start", "--port", "0", "--log-format", "json"], {
    cwd: dir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, AIGW_HOME: dir, NO_COLOR: "1" },
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner\n${stderr}`)), 10_000);
    child.stderr.on("data", (d) => {
      stderr += d;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1]!, lines: () => stdout.split("\n").filter(Boolean), stderr: () => stderr });
      }
    });
  });
}

const ask = (url: string, model = "fake/gpt-test") =>
  new OpenAI({ apiKey: "x", baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions.create({
    model,
    messages: [{ role: "user", content: "hi" }],
  });

describe("aigw start's own terminal", () => {
  it("--log-format json prints one NDJSON usage record per request on stdout, the banner on stderr", async () => {
    const gw = await startJson(home());
    expect(gw.stderr()).toMatch(/providers[\s\S]*clients[\s\S]*cache\s+off[\s\S]*budgets/);
    await ask(gw.url);
    await ask(gw.url, "fake/other").catch(() => {});
    await waitFor(() => gw.lines().length === 2, 5000, "two access records");
    const [first, second] = gw.lines().map((l) => JSON.parse(l));
    expect(first).toMatchObject({ status: 200, requested_model: "fake/gpt-test", provider: "fake" });
    expect(second).toMatchObject({ requested_model: "fake/other" });
    expect(gw.lines().join("\n")).not.toContain("listening");
  });

  it("--log-format text prints the `aigw tail` line; off a terminal the default prints none", async () => {
    const text = await start(home(), ["--log-format", "text"]);
    await ask(text.url);
    await waitFor(() => /→ fake\/gpt-test/.test(text.output().stdout), 5000, "the access line");
    expect(text.output().stdout).toMatch(
      /\d\d:\d\d:\d\d {2}200 {2}anonymous +fake\/gpt-test → fake\/gpt-test/,
    );

    const piped = await start(home(), []);
    await ask(piped.url);
    piped.child.kill("SIGTERM");
    expect(await piped.exited).toBe(0);
    expect(piped.output().stdout).toMatch(/listening on/);
    expect(piped.output().stdout).not.toMatch(/→ fake\/gpt-test/);
  });
});

describe("aigw status and aigw stop", () => {
  it("say when none runs: exit 1, a clear message, running: false in --json", async () => {
    const dir = home();
    const status = await runCli(["status"], { home: dir });
    expect([status.code, status.stderr]).toEqual([
      1,
      expect.stringContaining(`no gateway is running for ${dir}`),
    ]);
    const json = await runCli(["status", "--json"], { home: dir });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({ running: false, home: dir });
    const stop = await runCli(["stop"], { home: dir });
    expect([stop.code, stop.stderr]).toEqual([1, expect.stringContaining("no gateway is running")]);
  });

  it("report the running gateway, and stop drains it and exits 0 (--quiet printed no request lines)", async () => {
    const dir = home();
    const { key } = JSON.parse((await runCli(["clients", "add", "web", "--json"], { home: dir })).stdout);
    const server = await start(dir, ["--quiet", "--log-format", "text"]);
    const client = new OpenAI({ apiKey: key, baseURL: `${server.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({
      model: "fake/gpt-test",
      messages: [{ role: "user", content: "hi" }],
    });
    await client.chat.completions
      .create({ model: "nope/x", messages: [{ role: "user", content: "hi" }] })
      .catch(() => {});

    const status = await runCli(["status", "--json"], { home: dir });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      running: true,
      url: server.url,
      pid: server.child.pid,
      answering: true,
      requests: 2,
      errors: 1,
      spent_today_usd: expect.any(Number),
    });
    const text = await runCli(["status"], { home: dir });
    expect(text.stdout).toMatch(new RegExp(`^running ${server.url} \\(pid ${server.child.pid}`));
    expect(text.stdout).toMatch(/requests 2 since start, 1 errors/);

    const second = await runCli(["start", "--port", "0"], { home: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/already running[\s\S]*aigw stop/);

    // The admin API names the run.json field as it is spelled there.
    const denied = await fetch(`${server.url}/aigw/status`);
    expect(denied.status).toBe(401);
    const { error } = (await denied.json()) as { error: { message: string } };
    expect(error.message).toContain("admin_token");
    expect(error.message).not.toContain("adminToken");

    const stop = await runCli(["stop"], { home: dir });
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(new RegExp(`^stopped aigw at ${server.url} \\(pid ${server.child.pid}\\)`));
    expect(await server.exited).toBe(0);
    expect(existsSync(join(dir, "run.json"))).toBe(false);
    expect(server.output().stdout).not.toMatch(/→ fake\/gpt-test/);
    expect((await runCli(["status"], { home: dir })).code).toBe(1);
  });

  it("stop exits 1 when the gateway does not exit within --timeout", async () => {
    const dir = home();
    // A process that ignores SIGTERM stands in for a gateway stuck draining.
    const stubborn = spawn(process.execPath, [
      "-e",
      "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000); console.log('ready')",
    ]);
    children.push(stubborn);
    await new Promise((resolve) => stubborn.stdout.once("data", resolve));
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({
        pid: stubborn.pid,
        url: "http://127.0.0.1:1",
        admin_token: "x",
        started_at: 0,
        version: "0",
      }),
    );
    const stop = await runCli(["stop", "--timeout", "1"], { home: dir });
    expect(stop.code).toBe(1);
    expect(stop.stderr).toMatch(new RegExp(`pid ${stubborn.pid}\\) did not stop within 1s`));
    expect(stubborn.exitCode).toBeNull();
  });
});
