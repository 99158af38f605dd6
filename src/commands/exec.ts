import { type ChildProcess, spawn } from "node:child_process";
import { basename } from "node:path";
import { Command } from "commander";
import type { HomePaths } from "../config/paths.js";
import { readRunFile } from "../config/run-file.js";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";

/** How long a gateway started for the command may take to come up. */
const START_TIMEOUT_MS = 15_000;
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

interface ExecOptions {
  client?: string;
  config?: string;
}

export const execCommand = new Command("exec")
  .description("run a program pointed at the gateway (SDK env vars; the right config for codex and claude)")
  .option("--client <name>", "use a temporary key of this client, revoked when the program ends")
  .option("-c, --config <file>", "config file for a gateway started for the program")
  .argument("<command>", "the program to run")
  .argument("[args...]", "its arguments")
  .addHelpText(
    "after",
    `
Sets AIGW_URL, AIGW_API_KEY, OPENAI_BASE_URL, OPENAI_API_KEY, ANTHROPIC_BASE_URL and
ANTHROPIC_API_KEY for the program; codex gets -c model_provider=aigw overrides, claude a bearer
token. Starts a gateway for the program's lifetime when none is running; exits with its code.

Examples:
  aigw exec -- codex exec "fix the failing test"
  aigw exec --client ci -- claude -p "summarise README.md"
  aigw exec -- python app.py
  aigw exec -- env | grep -E 'OPENAI|ANTHROPIC'`,
  )
  .action(async (program: string, args: string[], opts: ExecOptions, command: Command) => {
    const paths = homeOf(command);
    let gateway = readRunFile(paths.runFile);
    let own: ChildProcess | null = null;
    if (!gateway) {
      own = startGateway(paths, opts.config);
      gateway = await waitForGateway(paths, own);
    }
    const key = await clientKey(paths, opts.client);
    try {
      if (key?.fresh) await untilAccepted(gateway.url, key.key);
      const { env, argv } = pointAt(program, args, gateway.url, key?.key ?? null);
      process.exitCode = await run(program, argv, env);
    } finally {
      await key?.revoke();
      if (own) await stop(own);
    }
  });

/** The environment and arguments that aim `program` at the gateway at `url`. */
export function pointAt(
  program: string,
  args: string[],
  url: string,
  key: string | null,
): { env: NodeJS.ProcessEnv; argv: string[] } {
  // SDKs refuse an empty key; an open (loopback, no clients) gateway ignores whatever is sent.
  const secret = key ?? "aigw-local";
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AIGW_URL: url,
    AIGW_API_KEY: secret,
    OPENAI_BASE_URL: `${url}/v1`,
    OPENAI_API_KEY: secret,
    ANTHROPIC_BASE_URL: url,
    ANTHROPIC_API_KEY: secret,
  };
  const name = basename(program);
  if (name === "claude") {
    // Claude Code sends ANTHROPIC_AUTH_TOKEN as a bearer token; with both set it asks which to use.
    delete env.ANTHROPIC_API_KEY;
    env.ANTHROPIC_AUTH_TOKEN = secret;
  }
  if (name === "codex") {
    // Codex ignores OPENAI_BASE_URL: it takes a model provider, given here as `-c` config overrides.
    const overrides = [
      'model_provider="aigw"',
      'model_providers.aigw.name="aigw"',
      `model_providers.aigw.base_url="${url}/v1"`,
      'model_providers.aigw.env_key="AIGW_API_KEY"',
      'model_providers.aigw.wire_api="responses"',
    ].flatMap((o) => ["-c", o]);
    return { env, argv: [...overrides, ...args] };
  }
  return { env, argv: args };
}

function startGateway(paths: HomePaths, config: string | undefined): ChildProcess {
  const cli = process.argv[1]!;
  const args = [cli, "start", "--home", paths.home, "--port", "0", ...(config ? ["--config", config] : [])];
  return spawn(process.execPath, args, { stdio: ["ignore", "ignore", "inherit"] });
}

async function waitForGateway(paths: HomePaths, child: ChildProcess) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new CliError("the gateway started for the command exited", "run aigw start to see why");
    const info = readRunFile(paths.runFile);
    if (info && info.pid === child.pid) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop(child);
  throw new CliError("the gateway started for the command did not come up in 15s");
}

/** Ends a gateway this command started, by its pid, and waits for it to go. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await gone;
  clearTimeout(timer);
}

/**
 * The key the program sends. When clients exist it needs one: `--client NAME` makes a temporary
 * client with NAME's limits, budgets and models (revoked at exit), else `$AIGW_CLIENT_KEY` is used.
 */
async function clientKey(
  paths: HomePaths,
  name: string | undefined,
): Promise<{ key: string; fresh: boolean; revoke(): Promise<void> } | null> {
  const fromEnv = process.env.AIGW_CLIENT_KEY;
  const [{ openDb }, { createClientStore }] = await Promise.all([
    import("../store/db.js"),
    import("../store/clients.js"),
  ]);
  const db = openDb(paths.db);
  try {
    const store = createClientStore(db);
    if (!name) {
      if (fromEnv) return { key: fromEnv, fresh: false, revoke: async () => {} };
      if (store.activeCount() > 0)
        throw new CliError(
          "this gateway needs a client key",
          "pass --client <name> for a temporary key of that client, or set AIGW_CLIENT_KEY",
        );
      return null;
    }
    const base = store.get(name);
    if (!base || base.revoked_at !== null)
      throw new CliError(`no active client named "${name}"`, "see aigw clients list");
    const temp = `${name}-exec-${process.pid}`;
    const { key } = store.add(
      {
        name: temp,
        rpm: base.rpm,
        tpm: base.tpm,
        daily_budget_usd: base.daily_budget_usd,
        monthly_budget_usd: base.monthly_budget_usd,
        models: base.models,
      },
      Date.now(),
    );
    return {
      key,
      fresh: true,
      async revoke() {
        const again = openDb(paths.db);
        try {
          createClientStore(again).revoke(temp, Date.now());
        } finally {
          again.close();
        }
      },
    };
  } finally {
    db.close();
  }
}

/** A running gateway picks up a new client within a second: wait for it, so the first call is not a 401. */
async function untilAccepted(url: string, key: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    const res = await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }).catch(
      () => null,
    );
    await res?.body?.cancel();
    if (res && res.status !== 401) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new CliError("the gateway did not accept the temporary client key within 5s");
}

/** Runs the program with the terminal, passing signals on; resolves with its exit code. */
function run(program: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: "inherit", env });
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const handlers = SIGNALS.map((s) => [s, forward(s)] as const);
    for (const [s, h] of handlers) process.on(s, h);
    const done = () => {
      for (const [s, h] of handlers) process.off(s, h);
    };
    child.on("error", (err: NodeJS.ErrnoException) => {
      done();
      reject(
        err.code === "ENOENT"
          ? new CliError(`${program}: command not found`)
          : new CliError(`${program}: ${err.message}`),
      );
    });
    child.on("exit", (code, signal) => {
      done();
      // Killed by a signal: the shell convention, 128 + its number.
      resolve(code ?? 128 + (signal ? (osSignals[signal] ?? 1) : 1));
    });
  });
}

const osSignals: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
