import chalk from "chalk";
import { Command } from "commander";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";
import { renderTable } from "./table.js";

export const modelsCommand = new Command("models")
  .description("list what clients can name as `model`: aliases, groups and providers")
  .option("-c, --config <file>", "config file")
  .option("--json", "print JSON")
  .action(async (opts: { config?: string; json?: boolean }, command: Command) => {
    const { ConfigError, loadConfig } = await import("../config/load.js"); // zod + yaml: only when used
    const paths = homeOf(command);
    const { createProviders } = await import("../providers/registry.js");
    const { createRouter } = await import("../gateway/router.js");
    let entries: ReturnType<ReturnType<typeof createRouter>["routable"]>;
    try {
      const { config } = loadConfig({ explicit: opts.config, homeConfig: paths.config });
      const providers = createProviders(config);
      entries = createRouter({ providers, models: config.models }).routable();
      await Promise.all([...providers.values()].map((p) => p.close()));
    } catch (err) {
      if (err instanceof ConfigError) throw new CliError(err.message);
      throw err;
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return;
    }
    const rows = entries.map((e) => [
      chalk.bold(e.id),
      e.kind,
      e.targets.join(", ") || chalk.dim("any model the provider serves"),
    ]);
    process.stdout.write(renderTable([{ header: "model" }, { header: "kind" }, { header: "targets" }], rows));
  });
