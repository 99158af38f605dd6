import { Command, CommanderError } from "commander";
import { commandNamed } from "./argv.js";
import { CliError, handleCliError } from "./commands/cli-error.js";
import { version } from "./commands/common.js";

// `aigw stats | head`: a reader that stops early is not an error.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

/** The commands a program can run, each loaded when asked for. */
export type CommandLoaders = Record<string, () => Promise<Command>>;

/**
 * Runs the aigw command line over `commands`: only the command the arguments name is loaded (all of
 * them for help, `--version` and unknown commands, in the table's order).
 */
export async function runCli(commands: CommandLoaders): Promise<void> {
  const program = new Command("aigw")
    .description("a local AI gateway: one endpoint for OpenAI, Anthropic and open models")
    .version(version)
    .option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)")
    .showHelpAfterError("see 'aigw --help'")
    .exitOverride();
  const named = commandNamed(process.argv.slice(2), commands);
  for (const command of await Promise.all(
    (named ? [named] : Object.keys(commands)).map((name) => commands[name]!()),
  )) {
    program.addCommand(command);
  }
  prepare(program, "aigw");
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander already printed help or the usage error; `--help`/`--version` exit 0.
      process.exitCode = err.exitCode === 0 ? 0 : 2;
    } else {
      handleCliError(usageHint(program, err, process.argv.slice(2)));
    }
  }
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
/** A bad value found by our own parsers is a usage error too: point at the command's help. */
function usageHint(program: Command, err: unknown, args: string[]): unknown {
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
