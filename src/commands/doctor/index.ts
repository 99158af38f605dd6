import { Command } from "commander";
import { type HomePaths, homePaths } from "../../config/paths.js";
import { CliError } from "../cli-error.js";
import type { Check } from "./check.js";
import { gatewayChecks } from "./gateway.js";
import { configCheck, homeCheck, masterKeyCheck, nodeCheck, openStores } from "./local.js";
import { clientsCheck, providerChecks } from "./providers.js";
import { renderChecks } from "./render.js";

export type { Check, CheckStatus } from "./check.js";

/** `aigw doctor`: runs the checks of this folder in the order a person fixes things. */
export const doctorCommand = new Command("doctor")
  .description("check the setup: home, database, config, keys, providers, a running gateway")
  .option("-c, --config <file>", "config file (default: $AIGW_CONFIG, ./aigw.yaml, <home>/config.yaml)")
  .option("--json", "print JSON: { checks: [{ name, status, detail, hint }] }")
  .addHelpText(
    "after",
    "\nChanges nothing and calls no remote provider; local servers (Ollama, ...) get one 1 s probe.",
  )
  .action(async (opts: { config?: string; json?: boolean }, command: Command) => {
    // Not homeOf(): that creates the home and fixes its mode, which doctor is here to report.
    const paths = homePaths(command.optsWithGlobals<{ home?: string }>().home);
    const checks = await collectChecks(paths, opts.config, process.env);
    process.stdout.write(
      opts.json ? `${JSON.stringify({ checks }, null, 2)}\n` : renderChecks(paths, checks),
    );
    const failed = checks.filter((c) => c.status === "fail");
    if (failed.length)
      throw new CliError(
        `${failed.length} check${failed.length > 1 ? "s" : ""} failed: ${failed.map((c) => c.name).join(", ")}`,
      );
  });

/** Every check, in the order a person fixes things. Reads only; the database is opened read-only. */
export async function collectChecks(
  paths: HomePaths,
  configFile: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<Check[]> {
  const checks = [nodeCheck(), homeCheck(paths)];
  const db = await openStores(paths);
  const { check, loaded } = await configCheck(paths, configFile);
  try {
    checks.push(db.check, check, await masterKeyCheck(paths, db.stores.keys, env));
    if (loaded) {
      checks.push(...(await providerChecks(loaded.providers, loaded.config, db.stores.keys, env)));
      checks.push(clientsCheck(loaded.config, db.stores.clients));
    }
    checks.push(...(await gatewayChecks(paths, loaded?.config ?? null)));
  } finally {
    db.stores.close();
    await Promise.all([...(loaded?.providers.values() ?? [])].map((p) => p.close()));
  }
  return checks;
}
