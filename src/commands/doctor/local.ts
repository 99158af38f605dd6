import { existsSync, statSync } from "node:fs";
import type { loadConfig } from "../../config/load.js";
import type { HomePaths } from "../../config/paths.js";
import type { Config } from "../../config/schema.js";
import type { Provider } from "../../providers/types.js";
import type { KeyStore } from "../../store/keys.js";
import { type Check, fail, octal, ok, plural, type Stores, warn } from "./check.js";

/** Checks of this machine: Node, the home folder, the database, the config, the master key. */
export function nodeCheck(): Check {
  const v = process.versions.node;
  if (Number(v.split(".")[0]) >= 20) return ok("node", `v${v}`);
  return fail("node", `v${v}: aigw needs Node 20 or newer`, "install Node 20+ (https://nodejs.org)");
}

export function homeCheck(paths: HomePaths): Check {
  if (!existsSync(paths.home))
    return ok("home", `${paths.home} does not exist yet; the first aigw command creates it (0700)`);
  const stat = statSync(paths.home);
  if (!stat.isDirectory())
    return fail(
      "home",
      `${paths.home} is not a folder`,
      "move it away, or pick another with --home or AIGW_HOME",
    );
  const mode = stat.mode & 0o777;
  if (process.platform !== "win32" && mode & 0o077)
    return warn(
      "home",
      `${paths.home} has mode ${octal(mode)}: other users can read the key store`,
      `chmod 700 ${paths.home}`,
    );
  return ok("home", `${paths.home} (${octal(mode)})`);
}

export async function openStores(paths: HomePaths): Promise<{ check: Check; stores: Stores }> {
  const none: Stores = { keys: null, clients: null, close() {} };
  if (!existsSync(paths.db))
    return { check: ok("database", "not created yet; aigw start or aigw keys add creates it"), stores: none };
  const [{ default: Database }, { migrations }, { createKeyStore }, { createClientStore }] =
    await Promise.all([
      import("better-sqlite3"),
      import("../../store/migrations.js"),
      import("../../store/keys.js"),
      import("../../store/clients.js"),
    ]);
  let db: InstanceType<typeof Database>;
  let schema: number;
  try {
    // Read-only and without migrating: doctor reports the state, the next real command fixes it.
    db = new Database(paths.db, { readonly: true, fileMustExist: true });
    db.pragma("busy_timeout = 2000");
    schema = db.pragma("user_version", { simple: true }) as number;
  } catch (err) {
    return {
      check: fail(
        "database",
        `${paths.db} does not open: ${(err as Error).message}`,
        "if it is damaged, move it away and aigw starts a new one (usage log, keys and clients are lost)",
      ),
      stores: none,
    };
  }
  const latest = migrations.length;
  const close = () => db.close();
  if (schema > latest) {
    const detail = `${paths.db} is from a newer aigw (schema v${schema}; this one knows up to v${latest})`;
    return { check: fail("database", detail, "upgrade aigw"), stores: { ...none, close } };
  }
  if (schema < latest) {
    const detail = `${paths.db} has schema v${schema} of v${latest}; keys and clients not checked`;
    const hint = "the next aigw start (or any keys/clients command) migrates it";
    return { check: warn("database", detail, hint), stores: { ...none, close } };
  }
  const stores = { keys: createKeyStore(db), clients: createClientStore(db), close };
  const mode = statSync(paths.db).mode & 0o777;
  if (process.platform !== "win32" && mode & 0o077)
    return {
      check: warn(
        "database",
        `${paths.db} has mode ${octal(mode)}: others can read it`,
        `chmod 600 ${paths.db}`,
      ),
      stores,
    };
  return { check: ok("database", `${paths.db} (schema v${schema}, ${octal(mode)})`), stores };
}

interface LoadedSetup {
  config: Config;
  providers: Map<string, Provider>;
}

export async function configCheck(
  paths: HomePaths,
  explicit: string | undefined,
): Promise<{ check: Check; loaded: LoadedSetup | null }> {
  const [{ createProviders }, { createRouter }, { ConfigError, loadConfig }] = await Promise.all([
    import("../../providers/registry.js"),
    import("../../gateway/router.js"),
    import("../../config/load.js"), // zod + yaml: only when used
  ]);
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig({ explicit, homeConfig: paths.config });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { check: fail("config", err.message, CONFIG_HINT), loaded: null };
  }
  const { config, file } = loaded;
  try {
    const providers = createProviders(config);
    // What start checks beyond the schema: every provider is buildable, every model target routable.
    createRouter({ providers, models: config.models });
    const check = file
      ? ok("config", `${file} is valid`)
      : ok(
          "config",
          `none found (./aigw.yaml, ${paths.config}): built-in defaults`,
          "aigw init writes a commented starter ./aigw.yaml",
        );
    return { check, loaded: { config, providers } };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { check: fail("config", `${file ?? "(defaults)"}: ${err.message}`, CONFIG_HINT), loaded: null };
  }
}

export const CONFIG_HINT =
  "aigw start refuses to run until it is fixed (providers, clients and port not checked)";

export async function masterKeyCheck(
  paths: HomePaths,
  keys: KeyStore | null,
  env: NodeJS.ProcessEnv,
): Promise<Check> {
  const { loadMasterKey, MasterKeyError } = await import("../../store/secrets.js");
  const name = "master key";
  const stored = keys?.count() ?? 0;
  let master: ReturnType<typeof loadMasterKey>;
  try {
    master = loadMasterKey(paths.masterKey, { env, create: false });
  } catch (err) {
    if (!(err instanceof MasterKeyError)) throw err;
    return fail(name, err.message, "a master key is base64 of 32 random bytes: openssl rand -base64 32");
  }
  if (!master) {
    if (stored)
      return fail(
        name,
        `none, but ${plural(stored, "stored key")} need one to decrypt`,
        `restore ${paths.masterKey}, or set AIGW_MASTER_KEY to the key they were stored with`,
      );
    return ok(name, `none yet; the first aigw keys add creates ${paths.masterKey} (0600)`);
  }
  const fromEnv = master.source === "$AIGW_MASTER_KEY";
  const mode = fromEnv ? 0o600 : statSync(paths.masterKey).mode & 0o777;
  const source = fromEnv
    ? `$AIGW_MASTER_KEY${existsSync(paths.masterKey) ? ` (${paths.masterKey} is ignored)` : ""}`
    : `${paths.masterKey} (${octal(mode)})`;
  let use: string;
  if (stored) {
    try {
      const decrypted = keys!.secrets(master).size; // Only counted: never printed.
      use = decrypted === 1 ? "decrypts the stored key" : `decrypts all ${decrypted} stored keys`;
    } catch (err) {
      if (!(err instanceof MasterKeyError)) throw err;
      const hint = fromEnv
        ? `unset AIGW_MASTER_KEY to use ${paths.masterKey}, or set it to the key the stored keys were added with`
        : "restore the master.key the keys were added with, or remove them (aigw keys rm) and add them again";
      return fail(name, err.message, hint);
    }
  } else use = keys || !existsSync(paths.db) ? "no stored keys yet" : "stored keys not checked";
  if (process.platform !== "win32" && mode & 0o077)
    return warn(name, `${source}: other users can read it; ${use}`, `chmod 600 ${paths.masterKey}`);
  return ok(name, `${source}; ${use}`);
}
