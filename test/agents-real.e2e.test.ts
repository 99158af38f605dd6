/**
 * The real agents through aigw: the pinned `@openai/codex` and `@anthropic-ai/claude-code` binaries
 * (devDependencies), run by the real `aigw exec`, against the fake upstream as an `openai`, an
 * `anthropic` and an `openai-compatible` (Chat Completions) provider. The fake scripts the tool calls
 * a model would make; the agents run them (a shell command, Codex's `apply_patch`), send the output
 * back, and print the final answer.
 * Everything stays on 127.0.0.1: the agents' HOME is a temp folder, their extras are switched off,
 * and any request that would leave the machine goes to a trap proxy that the tests expect unused.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, type RecordedRequest, startFakeUpstream } from "./fake-upstream.js";
import { BIN, type CliResult, runCli } from "./helpers.js";

const AGENT_TIMEOUT_MS = 60_000;
const BIN_DIR = resolve(import.meta.dirname, "../node_modules/.bin");

let fake: FakeUpstream;
let trap: { server: net.Server; url: string; seen: string[] };
let dir: string;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: ["sk-upstream"] });
  trap = await startTrap();
});

afterAll(async () => {
  await fake.close();
  await new Promise((r) => trap.server.close(r));
});

beforeEach(() => {
  fake.reset();
  trap.seen.length = 0;
  dir = mkdtempSync(join(tmpdir(), "aigw-agents-"));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A proxy that takes no request anywhere: it notes the first line (`CONNECT host:443`) and hangs up. */
async function startTrap(): Promise<{ server: net.Server; url: string; seen: string[] }> {
  const seen: string[] = [];
  const server = net.createServer((socket) => {
    socket.once("data", (d) => {
      seen.push(d.toString("latin1").split("\r\n")[0] ?? "");
      socket.destroy();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as net.AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, seen };
}

/** An aigw home whose config has one provider, `up`, of this type at the fake, and these aliases. */
type ProviderType = "openai" | "anthropic" | "openai-compatible";

function gatewayConfig(type: ProviderType, models: Record<string, string>): string {
  const baseUrl = type === "anthropic" ? fake.anthropicBaseUrl : fake.openaiBaseUrl;
  const file = join(dir, "aigw.yaml");
  const aliases = Object.entries(models).map(([alias, target]) => `  ${alias}: ${target}\n`);
  writeFileSync(
    file,
    `providers:\n  up:\n    type: ${type}\n    base_url: ${baseUrl}\n    api_key_env: UPSTREAM_KEY\nmodels:\n${aliases.join("")}`,
  );
  return file;
}

/**
 * `aigw exec -c CONFIG -- <agent...>` in a fresh work folder, with a temp HOME and nothing of this
 * machine's agent settings; the whole process group is killed if it outlives the timeout.
 */
function execAgent(
  config: string,
  agent: string[],
  execArgs: string[] = [],
): Promise<CliResult & { work: string }> {
  const home = join(dir, "home");
  const work = join(dir, "work");
  mkdirSync(join(home, ".codex"), { recursive: true });
  mkdirSync(join(dir, "aigw"), { recursive: true });
  mkdirSync(work, { recursive: true });
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(AIGW_|OPENAI_|ANTHROPIC_|CODEX_|CLAUDE_)|_API_KEY$|_PROXY$/i.test(k)) env[k] = v;
  Object.assign(env, {
    PATH: `${BIN_DIR}:${process.env.PATH}`,
    HOME: home,
    CODEX_HOME: join(home, ".codex"),
    XDG_CONFIG_HOME: join(home, ".config"),
    AIGW_HOME: join(dir, "aigw"),
    UPSTREAM_KEY: "sk-upstream",
    NO_COLOR: "1",
    // Without it Claude Code calls api.anthropic.com (whatever ANTHROPIC_BASE_URL says).
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
    // Whatever still tries to leave the machine meets the trap.
    HTTPS_PROXY: trap.url,
    HTTP_PROXY: trap.url,
    ALL_PROXY: trap.url,
    NO_PROXY: "127.0.0.1,localhost",
  });
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, "exec", ...execArgs, "-c", config, "--", ...agent], {
      cwd: work,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      process.kill(-child.pid!, "SIGKILL");
      reject(new Error(`${agent.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, AGENT_TIMEOUT_MS);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr, work });
    });
  });
}

/**
 * Codex's switches for a run that touches nothing outside the work folder and calls nobody else:
 * without the last two it calls github.com and chatgpt.com (plugins) and ab.chatgpt.com (analytics).
 */
const codexExec = (prompt: string) => [
  "codex",
  "exec",
  "--skip-git-repo-check",
  "--ephemeral",
  "--sandbox",
  "workspace-write",
  // A model Codex knows, so it declares its full tool set (apply_patch included); aigw maps it.
  "--model",
  "gpt-5.5",
  "-c",
  "features.plugins=false",
  "-c",
  "analytics.enabled=false",
  prompt,
];

const patch = "*** Begin Patch\n*** Add File: patched.txt\n+made by apply_patch\n*** End Patch\n";

interface StatsRow {
  group: string;
  requests: number;
  errors: number;
  input_tokens: number;
}

/** `aigw stats --json --by provider` over the home the gateway started by `aigw exec` wrote. */
async function usageRows(): Promise<StatsRow[]> {
  const res = await runCli(["stats", "--json", "--by", "provider"], { home: join(dir, "aigw") });
  expect(res.code).toBe(0);
  return (JSON.parse(res.stdout) as { rows: StatsRow[] }).rows;
}

const oneRowPerCall = (n: number) => [
  expect.objectContaining({ group: "up", requests: n, errors: 0, input_tokens: expect.any(Number) }),
];

const modelCalls = (path: string): RecordedRequest[] => fake.requests.filter((r) => r.path === path);

/**
 * Codex, with two tool calls scripted (a shell command, a function tool; then apply_patch, a custom
 * tool), against a provider of this type: both took effect, the loop ended in the fake's answer,
 * aigw logged one row per model call, and nothing tried to leave the machine. Returns the model calls.
 */
async function codexToolLoop(
  type: ProviderType,
  target: string,
  path: string,
  execArgs: string[] = [],
): Promise<RecordedRequest[]> {
  fake.script(
    { toolCall: { name: "exec_command", input: { cmd: "printf aigw > proof.txt" } } },
    { toolCall: { name: "apply_patch", input: patch } },
  );
  const config = gatewayConfig(type, { "gpt-5.5": target });
  const res = await execAgent(config, codexExec("write the proof"), execArgs);
  expect(res.code, res.stderr).toBe(0);
  expect(readFileSync(join(res.work, "proof.txt"), "utf8")).toBe("aigw");
  expect(readFileSync(join(res.work, "patched.txt"), "utf8")).toBe("made by apply_patch\n");
  // The final answer is the fake's echo of the last tool output.
  expect(res.stdout).toContain("Echo: ");
  const calls = modelCalls(path);
  expect(calls).toHaveLength(3);
  expect(await usageRows()).toEqual(oneRowPerCall(3));
  expect(trap.seen).toEqual([]);
  return calls;
}

type Msg = { role: string; content: unknown; tool_calls?: unknown };

describe("Codex CLI through aigw exec", { timeout: AGENT_TIMEOUT_MS + 10_000 }, () => {
  it("never runs a tool call whose stream was cut: it gets response.failed, reconnects and goes on", async () => {
    const cut = { name: "exec_command", input: { cmd: "printf cut > cut.txt" } };
    fake.script(
      { match: "/v1/chat/completions", toolCall: cut, failMidStream: true },
      { toolCall: { name: "exec_command", input: { cmd: "printf aigw > proof.txt" } } },
    );
    const config = gatewayConfig("openai-compatible", { "gpt-5.5": "up/llama3.2" });
    const res = await execAgent(config, codexExec("write the proof"));
    expect(res.code, res.stderr).toBe(0);
    expect(readFileSync(join(res.work, "proof.txt"), "utf8")).toBe("aigw");
    expect(existsSync(join(res.work, "cut.txt"))).toBe(false);
    const calls = modelCalls("/v1/chat/completions");
    // The cut answer, Codex's retry of the same turn, and the turn after the command ran.
    expect(calls).toHaveLength(3);
    expect(calls[1]!.body.messages).toEqual(calls[0]!.body.messages);
    expect(JSON.stringify(calls.map((c) => c.body.messages))).not.toContain(
      "failed to parse function arguments",
    );
    expect(trap.seen).toEqual([]);
  });

  it("finishes a tool loop against an openai provider (Responses passed through)", async () => {
    const calls = await codexToolLoop("openai", "up/gpt-5.5", "/v1/responses");
    expect(calls.map((c) => c.body.model)).toEqual(["gpt-5.5", "gpt-5.5", "gpt-5.5"]);
    const second = calls[1]!.body.input as Record<string, unknown>[];
    expect(second.at(-2)).toMatchObject({ type: "function_call", name: "exec_command" });
    expect(second.at(-1)).toMatchObject({ type: "function_call_output", call_id: second.at(-2)!.call_id });
    expect(String(second.at(-1)!.output)).toContain("Process exited with code 0");
    const third = calls[2]!.body.input as Record<string, unknown>[];
    expect(third.at(-2)).toMatchObject({ type: "custom_tool_call", name: "apply_patch", input: patch });
    expect(third.at(-1)).toMatchObject({ type: "custom_tool_call_output" });
    expect(String(third.at(-1)!.output)).toContain("A patched.txt");
  });

  it("finishes a tool loop against an anthropic provider (Responses translated to Messages)", async () => {
    const calls = await codexToolLoop("anthropic", "up/claude-sonnet-4-6", "/v1/messages");
    const tools = (calls[0]!.body.tools as { name: string }[]).map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(["exec_command", "apply_patch"]));
    const [callShell, resultShell, callPatch, resultPatch] = (calls[2]!.body.messages as Msg[]).slice(-4);
    // Codex asks gpt-5.5 for reasoning: that is Anthropic thinking, and each tool-use turn goes back
    // with its thinking block and signature (the fake refuses it otherwise, as Anthropic does).
    expect(calls[0]!.body.thinking).toMatchObject({ type: "enabled" });
    const signed = { type: "thinking", signature: expect.stringMatching(/^sig_/) };
    expect(callShell!.content).toEqual([
      expect.objectContaining(signed),
      expect.objectContaining({
        type: "tool_use",
        name: "exec_command",
        input: { cmd: "printf aigw > proof.txt" },
      }),
    ]);
    expect(JSON.stringify(resultShell!.content)).toContain("Process exited with code 0");
    expect(callPatch!.content).toEqual([
      expect.objectContaining(signed),
      expect.objectContaining({ type: "tool_use", name: "apply_patch", input: { input: patch } }),
    ]);
    expect(JSON.stringify(resultPatch!.content)).toContain("A patched.txt");
  });

  it("finishes a tool loop against an openai-compatible provider (Responses translated to Chat), with a --client key", async () => {
    const home = join(dir, "aigw");
    mkdirSync(home, { recursive: true });
    expect((await runCli(["clients", "add", "ci"], { home })).code).toBe(0);
    const calls = await codexToolLoop("openai-compatible", "up/llama3.2", "/v1/chat/completions", [
      "--client",
      "ci",
    ]);
    // Codex sent the temporary key of client "ci" (aigw refuses keyless requests once clients exist).
    const byClient = await runCli(["stats", "--json", "--by", "client"], { home });
    const rows = (JSON.parse(byClient.stdout) as { rows: StatsRow[] }).rows;
    expect(rows).toEqual([
      expect.objectContaining({ group: expect.stringMatching(/^ci-exec-\d+$/), requests: 3 }),
    ]);
    const [callShell, resultShell, callPatch, resultPatch] = (calls[2]!.body.messages as Msg[]).slice(-4);
    expect(callShell!.tool_calls).toEqual([
      expect.objectContaining({
        function: { name: "exec_command", arguments: '{"cmd":"printf aigw > proof.txt"}' },
      }),
    ]);
    expect(resultShell).toMatchObject({
      role: "tool",
      content: expect.stringContaining("Process exited with code 0"),
    });
    expect(callPatch!.tool_calls).toEqual([
      expect.objectContaining({
        function: { name: "apply_patch", arguments: JSON.stringify({ input: patch }) },
      }),
    ]);
    expect(resultPatch).toMatchObject({ role: "tool", content: expect.stringContaining("A patched.txt") });
  });
});

const claudeAgent = [
  "claude",
  "-p",
  "--model",
  "claude-sonnet-4-6",
  "--allowedTools",
  "Bash",
  "--",
  "write the proof",
];

/**
 * `claude -p` with a Bash call scripted, against a provider of this type: the command ran, the loop
 * ended in the fake's echo of its output, one usage row per model call, nothing left the machine.
 */
async function claudeToolLoop(
  type: ProviderType,
  target: string,
  path: string,
  execArgs: string[] = [],
): Promise<RecordedRequest[]> {
  fake.script({
    toolCall: {
      name: "Bash",
      input: { command: "printf claude > proof.txt", description: "Write the proof" },
    },
  });
  const config = gatewayConfig(type, { "claude-sonnet-4-6": target });
  const res = await execAgent(config, claudeAgent, execArgs);
  expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
  expect(readFileSync(join(res.work, "proof.txt"), "utf8")).toBe("claude");
  expect(res.stdout).toContain("Echo: (Bash completed with no output)");
  const calls = modelCalls(path);
  expect(calls.length).toBeGreaterThanOrEqual(2);
  expect(await usageRows()).toEqual(oneRowPerCall(calls.length));
  expect(trap.seen).toEqual([]);
  return calls;
}

describe("Claude Code through aigw exec", { timeout: AGENT_TIMEOUT_MS + 10_000 }, () => {
  it("runs claude -p through a tool loop against an anthropic provider, with a --client key", async () => {
    const home = join(dir, "aigw");
    mkdirSync(home, { recursive: true });
    expect((await runCli(["clients", "add", "dev"], { home })).code).toBe(0);
    const calls = await claudeToolLoop("anthropic", "up/claude-sonnet-4-6", "/v1/messages", [
      "--client",
      "dev",
    ]);
    // Upstream gets aigw's key; the client key Claude Code sent as a bearer token stays at aigw.
    expect(calls.every((c) => c.headers["x-api-key"] === "sk-upstream")).toBe(true);
    expect(calls.every((c) => c.headers.authorization === undefined)).toBe(true);
    const messages = calls.at(-1)!.body.messages as Msg[];
    expect(JSON.stringify(messages.at(-1)!.content)).toContain('"type":"tool_result"');
  });

  it("runs claude -p through a tool loop against an openai provider (Messages translated to Chat)", async () => {
    const calls = await claudeToolLoop("openai", "up/gpt-4o", "/v1/chat/completions");
    // Claude Code's thinking, context_management and JSON user id do not stop it on a chat model.
    expect(calls[0]!.body.model).toBe("gpt-4o");
    expect(calls[0]!.body.thinking).toBeUndefined();
    expect(calls[0]!.body.user).toMatch(/^[0-9a-f]{64}$/);
    const messages = calls.at(-1)!.body.messages as Msg[];
    expect(messages.at(-1)).toMatchObject({
      role: "tool",
      content: expect.stringContaining("Bash completed"),
    });
  });

  it("never runs a Bash call whose chat stream was cut: it gets an error event and asks again", async () => {
    const cut = { name: "Bash", input: { command: "printf cut > cut.txt", description: "Cut" } };
    const bash = {
      name: "Bash",
      input: { command: "printf claude > proof.txt", description: "Write the proof" },
    };
    fake.script({ match: "/v1/chat/completions", toolCall: cut, failMidStream: true }, { toolCall: bash });
    const config = gatewayConfig("openai", { "claude-sonnet-4-6": "up/gpt-4o" });
    const res = await execAgent(config, claudeAgent);
    expect(res.code, `${res.stdout}\n${res.stderr}`).toBe(0);
    expect(readFileSync(join(res.work, "proof.txt"), "utf8")).toBe("claude");
    expect(existsSync(join(res.work, "cut.txt"))).toBe(false);
    const calls = modelCalls("/v1/chat/completions");
    // The cut answer, Claude Code's retry of the same turn, and the turn after the command ran.
    expect(calls).toHaveLength(3);
    expect(calls[1]!.body.messages).toEqual(calls[0]!.body.messages);
    expect(trap.seen).toEqual([]);
  });
});
