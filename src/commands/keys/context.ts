import type { Command } from "commander";
import type { HomePaths } from "../../config/paths.js";
import type { Provider } from "../../providers/types.js";
import type { Db } from "../../store/db.js";
import type { KeyStore, StoredKey } from "../../store/keys.js";
import { CliError } from "../cli-error.js";
import { homeOf } from "../common.js";
import { cliPgStores } from "../shared.js";

export interface KeysContext {
  paths: HomePaths;
  db: Db;
  store: KeyStore;
  providers: Map<string, Provider>;
  close(): Promise<void>;
}

/** Opens what every `aigw keys` subcommand needs: the home, the key store, the configured providers. */
export async function keysContext(command: Command, opts: { existing?: boolean } = {}): Promise<KeysContext> {
  const { ConfigError, loadConfig } = await import("../../config/load.js"); // zod + yaml: only when used
  const paths = homeOf(command, opts);
  const { config: file } = command.optsWithGlobals<{ config?: string }>();
  const [{ openDb }, { createKeyStore }, { createProviders }] = await Promise.all([
    import("../../store/db.js"),
    import("../../store/keys.js"),
    import("../../providers/registry.js"),
  ]);
  let providers: Map<string, Provider>;
  try {
    providers = createProviders(loadConfig({ explicit: file, homeConfig: paths.config }).config);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  const shared = await cliPgStores(paths, file);
  const db = openDb(paths.db);
  return {
    paths,
    db,
    store: shared?.keys ?? createKeyStore(db),
    providers,
    async close() {
      await shared?.close();
      db.close();
      await Promise.all([...providers.values()].map((p) => p.close()));
    },
  };
}

/** The provider named on the command line, or a CliError listing the known ones. */
export function providerNamed(ctx: KeysContext, name: string): Provider {
  const provider = ctx.providers.get(name);
  if (!provider) {
    throw new CliError(
      `unknown provider "${name}"`,
      `known providers: ${[...ctx.providers.keys()].join(", ")} (add others under providers: in the config)`,
    );
  }
  return provider;
}

export function storedKey(ctx: KeysContext, id: string): StoredKey {
  const key = ctx.store.list().find((k) => k.id === id);
  if (!key) throw new CliError(`no stored key with id "${id}"`, "see the ids with: aigw keys list");
  return key;
}

/** Local midnight of today, for "today's use". */
export function startOfToday(now = new Date()): number {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate()).getTime();
}
