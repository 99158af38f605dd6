/** `aigw exec`: the real CLI runs a program aimed at the gateway, starting one when none runs. */
import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type CliServer, runCli, startCli, tempHome } from "./helpers.js";

let home: { dir: string; cleanup: () => void };
let server: CliServer | null = null;

beforeEach(() => {
  home = tempHome();
});

afterEach(async () => {
  if (server) {
    server.child.kill("SIGTERM");
    await server.exited;
    server = null;
  }
  home.cleanup();
});

const showEnv = ["sh", "-c", 'env | grep -E "^(OPENAI|ANTHROPIC|AIGW)_" | sort; exit 7'];
const envOf = (stdout: string) =>
  Object.fromEntries(
    stdout
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );

describe("aigw exec", () => {
  it("starts a gateway for the command's lifetime, sets the SDK variables and exits with the command's code", async () => {
    const res = await runCli(["exec", "--", ...showEnv], { home: home.dir, timeoutMs: 30_000 });
    expect(res.code).toBe(7);
    const env = envOf(res.stdout);
    expect(env.OPENAI_BASE_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    expect(env.ANTHROPIC_BASE_URL).toBe(env.OPENAI_BASE_URL!.replace(/\/v1$/, ""));
    expect(env.OPENAI_API_KEY).toBeTruthy();
    expect(env.ANTHROPIC_API_KEY).toBe(env.OPENAI_API_KEY);
    // The gateway it started is gone again.
    expect(existsSync(join(home.dir, "run.json"))).toBe(false);
  });

  it("`aigw exec -- env` prints the variables it sets, aimed at the running gateway", async () => {
    server = await startCli(["--port", "0", "--demo"], { home: home.dir });
    const res = await runCli(["exec", "--", "env"], { home: home.dir });
    expect(res.code).toBe(0);
    const lines = res.stdout.split("\n");
    for (const line of [
      `AIGW_URL=${server.url}`,
      `OPENAI_BASE_URL=${server.url}/v1`,
      `ANTHROPIC_BASE_URL=${server.url}`,
      "AIGW_API_KEY=aigw-local",
      "OPENAI_API_KEY=aigw-local",
      "ANTHROPIC_API_KEY=aigw-local",
    ])
      expect(lines).toContain(line);
  });

  it("uses the running gateway, and a temporary client key that works and is revoked afterwards", async () => {
    server = await startCli(["--port", "0", "--demo"], { home: home.dir });
    expect((await runCli(["clients", "add", "app", "--rpm", "100"], { home: home.dir })).code).toBe(0);
    const refused = await runCli(["exec", "--", ...showEnv], { home: home.dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("--client");
    const probe = `fetch(process.env.OPENAI_BASE_URL + "/models", { headers: { authorization: "Bearer " + process.env.OPENAI_API_KEY } }).then((r) => { console.log(process.env.OPENAI_BASE_URL, r.status); process.exit(r.status === 200 ? 0 : 3); })`;
    const res = await runCli(["exec", "--client", "app", "--", process.execPath, "-e", probe], {
      home: home.dir,
    });
    expect(res.stderr).toBe("");
    expect(res.stdout.trim()).toBe(`${server.url}/v1 200`);
    expect(res.code).toBe(0);
    const list = JSON.parse((await runCli(["clients", "list", "--json"], { home: home.dir })).stdout) as {
      name: string;
      revoked_at: number | null;
      rpm: number | null;
    }[];
    const temp = list.find((c) => c.name.startsWith("app-exec-"));
    expect(temp?.rpm).toBe(100);
    expect(temp?.revoked_at).not.toBeNull();
  });

  it("points codex at the gateway with -c model_providers overrides and claude with a bearer token", async () => {
    server = await startCli(["--port", "0", "--demo"], { home: home.dir });
    const bin = join(home.dir, "bin");
    mkdirSync(bin);
    for (const name of ["codex", "claude"]) {
      const file = join(bin, name);
      writeFileSync(
        file,
        '#!/bin/sh\nfor a in "$@"; do echo "arg:$a"; done\nenv | grep -E "^(ANTHROPIC|AIGW)_" | sort\n',
      );
      chmodSync(file, 0o755);
    }
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const codex = await runCli(["exec", "--", "codex", "exec", "hi"], { home: home.dir, env });
    expect(codex.code).toBe(0);
    const args = codex.stdout
      .split("\n")
      .filter((l) => l.startsWith("arg:"))
      .map((l) => l.slice(4));
    expect(args).toEqual([
      "-c",
      'model_provider="aigw"',
      "-c",
      'model_providers.aigw.name="aigw"',
      "-c",
      `model_providers.aigw.base_url="${server.url}/v1"`,
      "-c",
      'model_providers.aigw.env_key="AIGW_API_KEY"',
      "-c",
      'model_providers.aigw.wire_api="responses"',
      "exec",
      "hi",
    ]);
    const claude = await runCli(["exec", "--", "claude", "-p", "hi"], { home: home.dir, env });
    expect(claude.stdout).toContain(`ANTHROPIC_BASE_URL=${server.url}\n`);
    expect(claude.stdout).toContain("ANTHROPIC_AUTH_TOKEN=");
    expect(claude.stdout).not.toContain("ANTHROPIC_API_KEY=");
  });
});
