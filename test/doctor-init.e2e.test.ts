/** `aigw init` and `aigw doctor` through the real bin/aigw, each in a fresh temp home. */

import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import type { Check } from "../src/commands/doctor/index.js";
import { STARTER_CONFIG } from "../src/commands/init.js";
import { loadConfig, parseConfig } from "../src/config/load.js";
import { createRouter } from "../src/gateway/router.js";
import { createProviders } from "../src/providers/registry.js";
import { type CliServer, runCli, startCli, tempHome } from "./helpers.js";

const homes: (() => void)[] = [];
const servers: CliServer[] = [];

afterEach(() => {
  for (const s of servers.splice(0)) if (s.child.exitCode === null) s.child.kill("SIGKILL");
});

afterAll(() => {
  for (const cleanup of homes) cleanup();
});

function home(): string {
  const h = tempHome();
  homes.push(h.cleanup);
  return h.dir;
}

async function doctor(dir: string, env?: NodeJS.ProcessEnv) {
  const result = await runCli(["doctor", "--json"], { home: dir, env });
  const { checks } = JSON.parse(result.stdout) as { checks: Check[] };
  return { ...result, checks, named: (name: string) => checks.find((c) => c.name === name) };
}

describe("aigw init", () => {
  it("writes a config that validates, and that aigw start runs with", async () => {
    const dir = home();
    const init = await runCli(["init"], { home: dir });
    expect(init.code).toBe(0);
    expect(init.stdout).toContain("wrote aigw.yaml");
    expect(init.stdout).toMatch(/aigw keys add openai[\s\S]*aigw start/);
    const file = join(dir, "aigw.yaml");
    expect(readFileSync(file, "utf8")).toBe(STARTER_CONFIG);
    expect(loadConfig({ explicit: file, homeConfig: join(dir, "none.yaml") }).config.port).toBe(4000);

    const server = await startCli(["--config", file, "--port", "0"], { home: dir });
    servers.push(server);
    expect(server.output().stdout).toContain(`config ${file}`);
    expect((await fetch(`${server.url}/aigw/health`)).status).toBe(200);
  });

  it("documents every section, and every example it holds is valid once switched on", () => {
    // Examples are `#key:` / `#  key:`; prose is `# text`.
    const uncommented = STARTER_CONFIG.split("\n")
      .map((line) => (/^#(?=\S| {2})/.test(line) ? line.slice(1) : line))
      .join("\n");
    const raw = parseDocument(uncommented).toJS() as Record<string, unknown>;
    for (const section of [
      "providers",
      "models",
      "server",
      "timeouts",
      "cache",
      "queue",
      "retry",
      "circuit_breaker",
      "default_client_limits",
      "budgets",
      "pricing",
    ])
      expect(raw, section).toHaveProperty(section);
    expect(raw.providers).toHaveProperty("ollama");
    expect(raw.providers).toHaveProperty("groq");
    expect(raw.models).toHaveProperty("smart.strategy", "fallback");
    const config = parseConfig(raw, "starter, uncommented");
    const providers = createProviders(config);
    expect(() => createRouter({ providers, models: config.models })).not.toThrow();
  });

  it("refuses to overwrite without --force", async () => {
    const dir = home();
    const path = join(dir, "conf", "gw.yaml");
    expect((await runCli(["init", "--path", path], { home: dir })).code).toBe(0);
    writeFileSync(path, "port: 4100\n");
    const again = await runCli(["init", "--path", path], { home: dir });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exists");
    expect(again.stderr).toContain("--force");
    expect(readFileSync(path, "utf8")).toBe("port: 4100\n");
    expect((await runCli(["init", "--path", path, "--force"], { home: dir })).code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe(STARTER_CONFIG);
  });
});

describe("aigw doctor", () => {
  it("passes on a fresh home, warning about providers without a key", async () => {
    const dir = home();
    const [json, text] = await Promise.all([doctor(dir), runCli(["doctor"], { home: dir })]);
    expect(json.code).toBe(0);
    expect(json.checks.filter((c) => c.status === "fail")).toEqual([]);
    expect(json.named("provider openai")).toMatchObject({
      status: "warn",
      detail: expect.stringContaining("no key"),
    });
    expect(json.named("provider openai")?.hint).toContain("aigw keys add openai");
    expect(json.named("provider openai")?.detail).toContain("not probed");
    expect(json.named("provider mock")).toMatchObject({ status: "ok" });
    expect(json.named("database")?.detail).toContain("not created yet");
    expect(json.named("gateway")).toMatchObject({ status: "ok", detail: "not running" });
    expect(json.named("port")).toBeDefined();
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/warn\s+provider openai/);
    expect(text.stdout).toContain("→ requests to it fail until it has one: aigw keys add openai");
  });

  it("fails on a broken config, naming the field", async () => {
    const dir = home();
    writeFileSync(join(dir, "aigw.yaml"), "cache: { ttl: forever }\n");
    const { code, stderr, named } = await doctor(dir);
    expect(code).toBe(1);
    expect(named("config")).toMatchObject({ status: "fail", detail: expect.stringContaining("cache.ttl") });
    expect(stderr).toContain("1 check failed: config");
  });

  it("checks stored keys against the master key without ever printing a secret", async () => {
    const dir = home();
    const secret = "sk-test-DOCTORsecret0123456789abcdef";
    expect((await runCli(["keys", "add", "openai"], { home: dir, input: secret })).code).toBe(0);
    const master = readFileSync(join(dir, "master.key"), "utf8").trim();
    const wrongMaster = Buffer.alloc(32, 7).toString("base64");
    const [right, text, wrong] = await Promise.all([
      doctor(dir),
      runCli(["doctor"], { home: dir }),
      doctor(dir, { AIGW_MASTER_KEY: wrongMaster }),
    ]);
    for (const out of [right.stdout, text.stdout, wrong.stdout, wrong.stderr]) {
      expect(out).not.toContain(secret);
      expect(out).not.toContain(secret.slice(8, 24));
      expect(out).not.toContain(master);
    }
    expect(right.code).toBe(0);
    expect(right.named("master key")).toMatchObject({ status: "ok" });
    expect(right.named("master key")?.detail).toContain("decrypts the stored key");
    expect(right.named("provider openai")).toMatchObject({ status: "ok" });
    expect(right.named("provider openai")?.detail).toContain("1 stored key");
    expect(right.named("database")).toMatchObject({ status: "ok" });
    expect(wrong.code).toBe(1);
    expect(wrong.named("master key")).toMatchObject({ status: "fail" });
    expect(wrong.named("master key")?.hint).toContain("AIGW_MASTER_KEY");
  });

  it("sees a running gateway", async () => {
    const dir = home();
    const server = await startCli(["--port", "0"], { home: dir });
    servers.push(server);
    const { code, named } = await doctor(dir);
    expect(code).toBe(0);
    expect(named("gateway")).toMatchObject({ status: "ok" });
    expect(named("gateway")?.detail).toContain(`running at ${server.url}, pid ${server.child.pid}`);
    expect(named("port")).toBeUndefined();
  });
});
