import chalk from "chalk";
import { Command } from "commander";
import type { ModelEntry } from "../gateway/model-catalog.js";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";
import { renderTable } from "./table.js";

export const modelsCommand = new Command("models")
  .description(
    "list what clients can name as `model`: aliases and groups, then each provider's models (asked from the provider with your keys; the config's names and well-known ones when it cannot be asked)",
  )
  .option("-c, --config <file>", "config file")
  .option("--demo", "list what `aigw start --demo` answers")
  .option("--json", "print JSON")
  .action(async (opts: { config?: string; demo?: boolean; json?: boolean }, command: Command) => {
    const entries = await collectModels(command, opts);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(entries, null, 2)}\n`);
      return;
    }
    const rows = entries.map((e) => [
      chalk.bold(e.id),
      e.kind,
      e.targets.join(", ") ||
        (e.source === "provider" ? chalk.dim(`listed by ${e.owned_by}`) : chalk.dim("config / well-known")),
    ]);
    process.stdout.write(renderTable([{ header: "model" }, { header: "kind" }, { header: "from" }], rows));
  });

/** The list `GET /v1/models` of a gateway on this home and config answers, built the same way. */
async function collectModels(
  command: Command,
  opts: { config?: string; demo?: boolean },
): Promise<ModelEntry[]> {
  const paths = homeOf(command, { existing: true });
  const [
    { createProviders },
    { createRouter },
    { ModelCatalog },
    { KeyPool },
    { EventBus },
    { openDb },
    { createKeyStore },
    { loadMasterKey, MasterKeyError },
    { ConfigError, loadConfig },
  ] = await Promise.all([
    import("../providers/registry.js"),
    import("../gateway/router.js"),
    import("../gateway/model-catalog.js"),
    import("../gateway/key-pool.js"),
    import("../gateway/events.js"),
    import("../store/db.js"),
    import("../store/keys.js"),
    import("../store/secrets.js"),
    import("../config/load.js"), // zod + yaml: only when used
  ]);
  let config: ReturnType<typeof loadConfig>["config"];
  try {
    config = loadConfig({ explicit: opts.config, homeConfig: paths.config }).config;
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const db = openDb(paths.db);
  let providers: ReturnType<typeof createProviders> | null = null;
  try {
    providers = createProviders(config);
    const demo = opts.demo ?? false;
    const router = createRouter({ providers, models: config.models, demo });
    const keys = new KeyPool({
      providers,
      store: createKeyStore(db),
      loadMaster: () => loadMasterKey(paths.masterKey, { create: false }),
      env: process.env,
      clock: Date,
      events: new EventBus(),
    });
    const catalog = new ModelCatalog({
      providers,
      router,
      demo,
      timeoutMs: 5000,
      keyFor: (p) => keys.peek(p),
    });
    await catalog.refresh();
    return catalog.list();
  } catch (err) {
    if (err instanceof ConfigError || err instanceof MasterKeyError) throw new CliError(err.message);
    throw err;
  } finally {
    db.close();
    if (providers) await Promise.all([...providers.values()].map((p) => p.close()));
  }
}
