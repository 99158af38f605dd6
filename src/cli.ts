import { Command, CommanderError } from "commander";
import { handleCliError } from "./commands/cli-error.js";
import { version } from "./commands/common.js";
import { modelsCommand } from "./commands/models.js";
import { startCommand } from "./commands/start.js";
import { statsCommand } from "./commands/stats.js";
import { tailCommand } from "./commands/tail.js";

const program = new Command("aigw")
  .description("a local AI gateway: one endpoint for OpenAI, Anthropic and open models")
  .version(version)
  .option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)")
  .showHelpAfterError()
  .exitOverride();

for (const command of [startCommand, statsCommand, tailCommand, modelsCommand]) {
  command.option("--home <dir>", "state folder (default: $AIGW_HOME, else ~/.aigw)");
  program.addCommand(command.exitOverride());
}

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
