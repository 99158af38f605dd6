import { Command, CommanderError } from "commander";
import { cacheCommand } from "./commands/cache/index.js";
import { handleCliError } from "./commands/cli-error.js";
import { clientsCommand } from "./commands/clients/index.js";
import { version } from "./commands/common.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { doctorCommand } from "./commands/doctor.js";
import { execCommand } from "./commands/exec.js";
import { initCommand } from "./commands/init.js";
import { keysCommand } from "./commands/keys/index.js";
import { modelsCommand } from "./commands/models.js";
import { startCommand } from "./commands/start.js";
import { statsCommand } from "./commands/stats.js";
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
  .showHelpAfterError()
  .exitOverride();

for (const command of [
  startCommand,
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

/** Every command takes `--home`, and reports usage errors to us instead of exiting on its own. */
function prepare(command: Command): void {
  for (const sub of command.commands) {
    if (!sub.commands.length) sub.option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)");
    sub.exitOverride().showHelpAfterError();
    prepare(sub);
  }
}
prepare(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // Commander already printed help or the usage error; `--help`/`--version` exit 0.
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    handleCliError(err);
  }
}
