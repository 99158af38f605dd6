import { Command, CommanderError } from "commander";
import { CliError, handleCliError } from "./commands/cli-error.js";
import { version } from "./commands/common.js";

// `aigw stats | head`: a reader that stops early is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command("aigw")
  .description("a local AI gateway: one endpoint for OpenAI, Anthropic and open models")
  .version(version)
  .option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)")
  .showHelpAfterError("see 'aigw --help'")
  .exitOverride();

// Each command is loaded when it runs: `aigw stats` does not compile the gateway, the dashboard or the
// prompts of `init` (about 35 ms). Help, `--version` and unknown commands load them all, in this order.
const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import("./commands/start.js")).startCommand,
  status: async () => (await import("./commands/status.js")).statusCommand,
  stop: async () => (await import("./commands/stop.js")).stopCommand,
  keys: async () => (await import("./commands/keys/index.js")).keysCommand,
  clients: async () => (await import("./commands/clients/index.js")).clientsCommand,
  stats: async () => (await import("./commands/stats.js")).statsCommand,
  cache: async () => (await import("./commands/cache/index.js")).cacheCommand,
  tail: async () => (await import("./commands/tail.js")).tailCommand,
  models: async () => (await import("./commands/models.js")).modelsCommand,
  doctor: async () => (await import("./commands/doctor/index.js")).doctorCommand,
  init: async () => (await import("./commands/init.js")).initCommand,
  exec: async () => (await import("./commands/exec.js")).execCommand,
  dashboard: async () => (await import("./commands/dashboard.js")).dashboardCommand,
};

/** The command the arguments name, when they name one before any other option than --home. */
function commandNamed(args: string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--home") i++;
    else if (arg.startsWith("--home=")) continue;
    else return !arg.startsWith("-") && Object.hasOwn(commands, arg) ? arg : null;
  }
  return null;
}

const named = commandNamed(process.argv.slice(2));
for (const command of await Promise.all(
  (named ? [named] : Object.keys(commands)).map((name) => commands[name]!()),
)) {
  program.addCommand(command);
}

/**
 * Every command takes `--home`, and reports usage errors to us instead of exiting on its own. A usage
 * error prints the one error and where the help is, as git does, not the whole help page.
 */
function prepare(command: Command, path: string): void {
  for (const sub of command.commands) {
    if (!sub.commands.length) sub.option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)");
    const name = `${path} ${sub.name()}`;
    sub.exitOverride().showHelpAfterError(`see '${name} --help'`);
    prepare(sub, name);
  }
}
prepare(program, "aigw");

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed help or the usage error; `--help`/`--version` exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    handleCliError(usageHint(err, process.argv.slice(2)));
  }
}

/** A bad value found by our own parsers is a usage error too: point at the command's help. */
function usageHint(err: unknown, args: string[]): unknown {
  if (!(err instanceof CliError) || err.exitCode !== 2 || err.hint) return err;
  let command: Command = program;
  const names = ["aigw"];
  for (const arg of args) {
    const sub = command.commands.find((c) => c.name() === arg);
    if (!sub) continue;
    command = sub;
    names.push(arg);
  }
  return new CliError(err.message, `see '${names.join(" ")} --help'`, 2);
}
