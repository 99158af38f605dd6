import { existsSync, statSync } from "node:fs";
import { createServer } from "node:net";
import chalk from "chalk";
import { Command } from "commander";
import { isLoopbackHost } from "../config/net.js";
import { type HomePaths, homePaths } from "../config/paths.js";
import { readRunFile } from "../config/run-file.js";
import type { Config } from "../config/schema.js";
import type { Provider } from "../providers/types.js";
import type { ClientStore } from "../store/clients.js";
import type { KeyStore } from "../store/keys.js";
import { formatDuration } from "../ui/format.js";
import { CliError } from "./cli-error.js";
import { version } from "./common.js";

export type CheckStatus = "ok" | "warn" | "fail";

export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  hint: string | null;
}

const check =
  (status: CheckStatus) =>
  (name: string, detail: string, hint: string | null = null): Check => ({ name, status, detail, hint });
const ok = check("ok");
const warn = check("warn");
const fail = check("fail");

/** What doctor opened: the stores exist only when the database does and its schema is current. */
interface Stores {
  keys: KeyStore | null;
  clients: ClientStore | null;
  close(): void;
}

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

function nodeCheck(): Check {
  const v = process.versions.node;
  if (Number(v.split(".")[0]) >= 20) return ok("node", `v${v}`);
  return fail("node", `v${v}: aigw needs Node 20 or newer`, "install Node 20+ (https://nodejs.org)");
}

function homeCheck(paths: HomePaths): Check {
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

async function openStores(paths: HomePaths): Promise<{ check: Check; stores: Stores }> {
  const none: Stores = { keys: null, clients: null, close() {} };
  if (!existsSync(paths.db))
    return { check: ok("database", "not created yet; aigw start or aigw keys add creates it"), stores: none };
  const [{ default: Database }, { migrations }, { createKeyStore }, { createClientStore }] =
    await Promise.all([
      import("better-sqlite3"),
      import("../store/migrations.js"),
      import("../store/keys.js"),
      import("../store/clients.js"),
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

async function configCheck(
  paths: HomePaths,
  explicit: string | undefined,
): Promise<{ check: Check; loaded: LoadedSetup | null }> {
  const { ConfigError, loadConfig } = await import("../config/load.js"); // zod + yaml: only when used
  const [{ createProviders }, { createRouter }] = await Promise.all([
    import("../providers/registry.js"),
    import("../gateway/router.js"),
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

const CONFIG_HINT = "aigw start refuses to run until it is fixed (providers, clients and port not checked)";

async function masterKeyCheck(
  paths: HomePaths,
  keys: KeyStore | null,
  env: NodeJS.ProcessEnv,
): Promise<Check> {
  const { loadMasterKey, MasterKeyError } = await import("../store/secrets.js");
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

async function providerChecks(
  providers: Map<string, Provider>,
  config: Config,
  keys: KeyStore | null,
  env: NodeJS.ProcessEnv,
): Promise<Check[]> {
  const { keySource } = await import("../gateway/key-pool.js");
  const stored = keys?.list() ?? [];
  const one = async (p: Provider): Promise<Check> => {
    const name = `provider ${p.name}`;
    const mine = stored.filter((k) => k.provider === p.name);
    const enabled = mine.filter((k) => !k.disabled);
    const disabled = mine.length - enabled.length;
    const local = p.baseUrl !== null && isLoopbackHost(new URL(p.baseUrl).hostname);
    const reach = p.baseUrl === null ? null : local ? await answers(p.baseUrl) : null;
    const where =
      p.baseUrl === null
        ? "in-process"
        : `${p.baseUrl} (${local ? (reach ? "answers" : "not answering") : "remote, not probed"})`;
    const hasKey = enabled.length > 0 || Boolean(env[p.keyEnv]);
    // keySource says "no key needed" for any openai-compatible server; a remote one usually does.
    const remoteNoKey = !hasKey && p.baseUrl !== null && !local;
    const source =
      (remoteNoKey ? "no key" : keySource(p, env, enabled.length)) +
      (disabled ? ` (+${disabled} disabled)` : "");
    const detail = `${p.type} · ${where} · ${source}`;
    const addKey = `aigw keys add ${p.name}, or set ${p.keyEnv}`;
    if (!hasKey && p.needsKey) return warn(name, detail, `requests to it fail until it has one: ${addKey}`);
    if (remoteNoKey) return warn(name, detail, `remote servers usually need a key: ${addKey}`);
    if (enabled.length && enabled.every((k) => k.invalid) && !env[p.keyEnv])
      return warn(
        name,
        `${detail}, all marked invalid by the upstream`,
        `check them with aigw keys test ${p.name}; or ${addKey}`,
      );
    if (local && !reach) {
      const hint = `start the server at ${p.baseUrl}, or ignore this if you don't use ${p.name}`;
      // A built-in entry nobody configured is not worth a warning.
      return config.providers[p.name] ? warn(name, detail, hint) : ok(name, `${detail}; fine if unused`);
    }
    return ok(name, detail);
  };
  const checks = await Promise.all([...providers.values()].map(one));
  // Keys of a provider removed from the config are never used.
  const orphans = [...new Set(stored.map((k) => k.provider))].filter((p) => !providers.has(p));
  for (const p of orphans) {
    const n = stored.filter((k) => k.provider === p).length;
    checks.push(
      warn(
        `provider ${p}`,
        `${plural(n, "stored key")}, but the config has no provider ${p}`,
        `add providers.${p} to the config, or remove them: aigw keys list, aigw keys rm <id>`,
      ),
    );
  }
  return checks;
}

function clientsCheck(config: Config, clients: ClientStore | null): Check {
  const active = clients?.activeCount() ?? 0;
  if (!active && !isLoopbackHost(config.host))
    return fail(
      "clients",
      `none, and host ${config.host} is not loopback: aigw start refuses to listen there without client keys`,
      "aigw clients add <name>, or set host: 127.0.0.1",
    );
  if (!active) return ok("clients", "none: /v1 is open to callers on this machine, no key needed");
  return ok("clients", `${active} active: every /v1 request needs a client key`);
}

async function gatewayChecks(paths: HomePaths, config: Config | null): Promise<Check[]> {
  const info = readRunFile(paths.runFile);
  if (info) {
    const healthy = await answers(`${info.url}/aigw/health`, true);
    if (!healthy)
      return [
        fail(
          "gateway",
          `run.json names pid ${info.pid} (alive) at ${info.url}, but /aigw/health does not answer`,
          `if that process is not aigw, remove ${paths.runFile}`,
        ),
      ];
    const detail = `running at ${info.url}, pid ${info.pid}, up ${formatDuration(Date.now() - info.started_at)}`;
    if (info.version !== version)
      return [
        warn("gateway", `${detail}, version ${info.version}`, `restart it to run this aigw (${version})`),
      ];
    return [ok("gateway", detail)];
  }
  const stale = existsSync(paths.runFile) ? " (a stale run.json is left; aigw start replaces it)" : "";
  const checks = [ok("gateway", `not running${stale}`, "start it with: aigw start")];
  if (config) checks.push(await portCheck(config.host, config.port));
  return checks;
}

async function portCheck(host: string, port: number): Promise<Check> {
  if (port === 0) return ok("port", "0: the gateway takes any free port");
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const code = await new Promise<string | null>((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
  if (code === null) return ok("port", `${where} is free`);
  const hint = "stop what uses it, or pick another: aigw start --port N, or port: in the config";
  if (code === "EADDRINUSE")
    return warn("port", `${where} is in use by another program: aigw start would fail`, hint);
  return warn("port", `cannot listen on ${where} (${code}): aigw start would fail`, hint);
}

/** Whether an HTTP server answers at `url` within 1 s; any status counts unless `needOk`. */
async function answers(url: string, needOk = false): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000), redirect: "manual" });
    await res.body?.cancel();
    return !needOk || res.ok;
  } catch {
    return false;
  }
}

const octal = (mode: number) => `0${mode.toString(8).padStart(3, "0")}`;
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

const MARK: Record<CheckStatus, (text: string) => string> = {
  ok: chalk.green,
  warn: chalk.yellow,
  fail: chalk.red.bold,
};

export function renderChecks(paths: HomePaths, checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const indent = " ".repeat(2 + 4 + 2 + width + 2);
  const lines = checks.flatMap((c) => {
    const [first, ...rest] = c.detail.split("\n");
    const head = `  ${MARK[c.status](c.status.padEnd(4))}  ${c.name.padEnd(width)}  ${first}`;
    const more = rest.map((line) => `${indent}${line.trimStart()}`);
    const hint = c.hint && c.status !== "ok" ? [`${indent}${chalk.dim(`→ ${c.hint}`)}`] : [];
    return [head, ...more, ...hint];
  });
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const [failed, warned] = [count("fail"), count("warn")];
  const summary =
    failed || warned
      ? [
          failed && chalk.red(`${plural(failed, "failure")}`),
          warned && chalk.yellow(plural(warned, "warning")),
        ]
          .filter(Boolean)
          .join(", ")
      : chalk.green("all good");
  const tips = checks.filter((c) => c.status === "ok" && c.hint).map((c) => chalk.dim(`  ${c.hint}`));
  return [
    `${chalk.bold("aigw doctor")} ${version} ${chalk.dim(`· home ${paths.home}`)}`,
    "",
    ...lines,
    "",
    `${summary} ${chalk.dim(`· ${count("ok")} ok`)}`,
    ...(tips.length && !failed ? ["", chalk.dim("tips"), ...tips] : []),
    "",
  ].join("\n");
}
