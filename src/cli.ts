import { Command, CommanderError } from "commander";
import { cacheCommand } from "./commands/cache/index.js";
import { CliError, handleCliError } from "./commands/cli-error.js";
import { clientsCommand } from "./commands/clients/index.js";
import { version } from "./commands/common.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { doctorCommand } from "./commands/doctor/index.js";
import { execCommand } from "./commands/exec.js";
import { initCommand } from "./commands/init.js";
import { keysCommand } from "./commands/keys/index.js";
import { modelsCommand } from "./commands/models.js";
import { startCommand } from "./commands/start.js";
import { statsCommand } from "./commands/stats.js";
import { statusCommand } from "./commands/status.js";
import { stopCommand } from "./commands/stop.js";
import { tailCommand } from "./commands/tail.js";

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

for (const command of [
  startCommand,
  statusCommand,
  stopCommand,
  keysCommand,
  clientsCommand,
  statsCommand,
  cacheCommand,
  tailCommand,
  modelsCommand,
  doctorCommand,
  initCommand,
  execCommand,
]) {
  program.addCommand(command);
}
program.addCommand(dashboardCommand);

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
