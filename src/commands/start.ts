import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import chalk from "chalk";
import { Command, Option } from "commander";
import { ConfigError } from "../config/error.js";
import { isLoopbackHost } from "../config/net.js";
import { loadConfigQuick } from "../config/quick.js";
import { readRunFile, removeRunFile, writeRunFile } from "../config/run-file.js";
import type { Config } from "../config/schema.js";
import { createGateway } from "../gateway/index.js";
import { keySource } from "../gateway/key-pool.js";
import { createApp } from "../server/app.js";
import { PortInUseError, serve } from "../server/serve.js";
import { createClientStore } from "../store/clients.js";
import { openDb } from "../store/db.js";
import { createKeyStore } from "../store/keys.js";
import { createResponseCache } from "../store/response-cache.js";
import { loadMasterKey, MasterKeyError } from "../store/secrets.js";
import { createStoredResponses } from "../store/stored-responses.js";
import { createUsageLog } from "../store/usage-log.js";
import { createUsageStats } from "../store/usage-stats.js";
import { watchDb } from "../store/watch.js";
import { formatDuration, formatUsd } from "../ui/format.js";
import { accessLogFormat, followAccessLog, type LogFormat, logFormats } from "./access-log.js";
import { CliError } from "./cli-error.js";
import { homeOf, version } from "./common.js";
import { openShared } from "./shared.js";

/** Usage rows rolled up per turn of the event loop (~4 ms at 250 on this project's 2-core box). */
const ROLLUP_BITE = 250;

interface StartOptions {
  port?: number;
  host?: string;
  config?: string;
  demo?: boolean;
  dashboard?: boolean;
  quiet?: boolean;
  logFormat?: LogFormat;
}

export const startCommand = new Command("start")
  .description("start the gateway (foreground; Ctrl-C stops it, letting in-flight requests finish)")
  .addOption(
    new Option("-p, --port <n>", "port to listen on (default: config port, else 4000)").argParser(parsePort),
  )
  .option("--host <host>", "address to bind (default: config host, else 127.0.0.1)")
  .option("-c, --config <file>", "config file (default: $AIGW_CONFIG, ./aigw.yaml, <home>/config.yaml)")
  .option("--demo", "answer every model with the built-in mock provider: no keys needed")
  .option("--dashboard", "show the live dashboard in this terminal (q stops the gateway)")
  .option("-q, --quiet", "no line per request (the start banner and warnings still print)")
  .addOption(
    new Option(
      "--log-format <format>",
      "one line per finished request: text (as `aigw tail`) or json (NDJSON, banner on stderr); default text on a terminal, none when piped",
    ).choices(logFormats),
  )
  .addHelpText(
    "after",
    `
Examples:
  aigw start --demo                  try it with no keys
  aigw start --port 4001 -c aigw.yaml
  aigw start --log-format json > access.ndjson

Stop it with Ctrl-C, or from another terminal with \`aigw stop\`; \`aigw status\` says if one runs.`,
  )
  .action(async (opts: StartOptions, command: Command) => {
    await start(opts, command);
  });

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new CliError(`--port: expected 0-65535, got "${value}"`, null, 2);
  return port;
}

async function start(opts: StartOptions, command: Command): Promise<void> {
  const paths = homeOf(command);
  let loaded: Awaited<ReturnType<typeof loadConfigQuick>>;
  try {
    loaded = await loadConfigQuick({
      explicit: opts.config,
      homeConfig: paths.config,
      cacheFile: paths.configCache,
    });
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message, "nothing was started");
    throw err;
  }
  const config = {
    ...loaded.config,
    port: opts.port ?? loaded.config.port,
    host: opts.host ?? loaded.config.host,
  };
  const running = readRunFile(paths.runFile);
  if (running && running.pid !== process.pid) {
    throw new CliError(
      `aigw is already running for ${paths.home} (pid ${running.pid}, ${running.url})`,
      "stop it first with `aigw stop`, or use another --home",
    );
  }
  const db = openDb(paths.db);
  const shared = await openShared(config, () => db.close());
  const keyStore = shared.pg?.keys ?? createKeyStore(db);
  const clientStore = shared.pg?.clients ?? createClientStore(db);
  const loopback = isLoopbackHost(config.host);
  if (!loopback && clientStore.activeCount() === 0) {
    await shared.close();
    db.close();
    throw new CliError(
      `refusing to listen on ${config.host} with no client keys: anyone who can reach it could spend your upstream keys`,
      "add a client key first (aigw clients add <name>), or listen on 127.0.0.1",
    );
  }
  let gateway: ReturnType<typeof createGateway>;
  try {
    gateway = createGateway({
      config,
      // Budgets start from the fleet's spend when the usage log is shared (this home's rows otherwise).
      usage: shared.pg ? { ...createUsageLog(db), spendSince: shared.pg.spendSince } : createUsageLog(db),
      keys: keyStore,
      responseCache: createResponseCache(db, { maxBytes: config.cache.max_size }),
      storedResponses: shared.pg?.storedResponses ?? createStoredResponses(db),
      clients: clientStore,
      loadMaster: () => loadMasterKey(paths.masterKey, { create: false }),
      demo: opts.demo ?? false,
      ...shared.gatewayOptions,
      // Under the dashboard, warnings reach the screen as events; a stray line would tear its frame.
      ...(opts.dashboard ? { log: () => {} } : {}),
    });
  } catch (err) {
    await shared.close();
    db.close();
    if (err instanceof ConfigError)
      throw new CliError(`${loaded.file ?? "config"}: ${err.message}`, "nothing was started");
    if (err instanceof MasterKeyError) throw new CliError(err.message, "nothing was started");
    throw err;
  }
  // Rolls new usage rows into the hourly and daily stats, so `aigw stats` finds them ready: every
  // second, in bites of ROLLUP_BITE rows, a turn of the event loop each (2,000 rows in one turn held
  // requests up ~29 ms under load), until none is left.
  const usageStats = createUsageStats(db);
  let stopping = false;
  let rolling = false;
  const rollBite = () => {
    if (stopping) return;
    if (usageStats.catchUp(ROLLUP_BITE) === ROLLUP_BITE) setImmediate(rollBite);
    else rolling = false;
  };
  const rollup = setInterval(() => {
    if (rolling) return;
    rolling = true;
    rollBite();
  }, 1000);
  rollup.unref();
  // Keys and clients changed by the CLI reach the running gateway within a second.
  const reload = () => {
    try {
      gateway.reload();
    } catch (err) {
      process.stderr.write(`aigw: could not reload keys: ${(err as Error).message}\n`);
    }
  };
  const unwatch = watchDb(db, reload);
  const unwatchPg = shared.pg?.watch(reload);
  const adminToken = randomBytes(24).toString("base64url");
  const app = createApp({
    gateway,
    adminToken,
    requireClientAuth: !loopback,
    debug: process.env.AIGW_DEBUG === "1",
  });
  let server: Awaited<ReturnType<typeof serve>>;
  try {
    server = await serve(app, {
      host: config.host,
      port: config.port,
      requestTimeout: config.server.request_timeout,
    });
  } catch (err) {
    await gateway.close();
    await shared.close();
    db.close();
    if (err instanceof PortInUseError) throw new CliError(err.message);
    throw err;
  }
  void gateway.warmUp();
  shared.started({ db, instance: `${hostname()}:${server.port}` });
  writeRunFile(paths.runFile, {
    pid: process.pid,
    url: server.url,
    admin_token: adminToken,
    started_at: Date.now(),
    version,
  });

  const logFormat = accessLogFormat({ ...opts, tty: process.stdout.isTTY === true });
  // With NDJSON on stdout, everything for people goes to stderr so the stream stays parseable.
  const say = (text: string) => (logFormat === "json" ? process.stderr : process.stdout).write(text);
  const unfollow = logFormat
    ? followAccessLog(gateway.events, logFormat, (line) => process.stdout.write(line))
    : () => {};

  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(chalk.dim(`\n${signal}: finishing ${server.inFlight()} in-flight request(s)…\n`));
    await server.close(10_000);
    unfollow();
    unwatch();
    unwatchPg?.();
    clearInterval(rollup);
    await gateway.close();
    await shared.close();
    db.close();
    removeRunFile(paths.runFile, process.pid);
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  const stored = keyStore.list().filter((k) => !k.disabled);
  const rows = [...gateway.providers.values()].map((p) => [
    p.name,
    p.type,
    opts.demo && p.type !== "mock"
      ? "(demo: unused for bare names)"
      : keySource(p, process.env, stored.filter((k) => k.provider === p.name).length),
    p.baseUrl ?? "in-process",
  ]);
  const widths = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
  const model = opts.demo ? "gpt-4o-mini" : "mock/echo";
  say(
    [
      `${chalk.bold("aigw")} ${version} listening on ${chalk.cyan(server.url)}${opts.demo ? chalk.yellow("  (demo: every model answered by mock)") : ""}`,
      chalk.dim(`home ${paths.home} · config ${loaded.file ?? "(none, defaults)"}`),
      "",
      "providers",
      ...rows.map(
        (r) => `  ${r.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : chalk.dim(cell))).join("  ")}`,
      ),
      "",
      clientsLine(clientStore.activeCount(), gateway.clients.hasClients()),
      cacheLine(config.cache),
      budgetsLine(config.budgets),
      "",
      "try it",
      `  curl ${server.url}/v1/chat/completions -H 'content-type: application/json' \\`,
      ...(gateway.clients.hasClients() ? ["    -H 'authorization: Bearer <client key>' \\"] : []),
      `    -d '{"model":"${model}","messages":[{"role":"user","content":"Hello!"}]}'`,
      "",
      chalk.dim(`OpenAI SDK: baseURL "${server.url}/v1" · Anthropic SDK: baseURL "${server.url}"`),
      chalk.dim("watch: aigw tail · aigw dashboard · is it up: aigw status · stop: aigw stop (or Ctrl-C)"),
      ...(logFormat === "text"
        ? ["", chalk.dim("requests (one line each as they finish; --quiet hides them)")]
        : []),
      "",
    ].join("\n"),
  );
  if (opts.dashboard) {
    const { runDashboard } = await import("./dashboard.js");
    try {
      await runDashboard(paths);
    } finally {
      await stop("dashboard closed");
    }
  }
}

function clientsLine(active: number, authOn: boolean): string {
  if (!authOn)
    return `clients  ${chalk.dim("none: /v1 is open to loopback callers (aigw clients add <name> requires keys)")}`;
  return `clients  ${active} active ${chalk.dim("· every /v1 request needs a client key (aigw clients list)")}`;
}

function cacheLine(cache: Config["cache"]): string {
  if (!cache.enabled) return `cache    ${chalk.dim("off")}`;
  const mode = cache.mode === "normal" ? "" : ` · mode ${cache.mode}`;
  return `cache    on ${chalk.dim(`· ttl ${formatDuration(cache.ttl)} · up to ${Math.round(cache.max_size / 1024 / 1024)} MB${mode}`)}`;
}

function budgetsLine(budgets: Config["budgets"]): string {
  const caps = [
    budgets.daily_usd ? `${formatUsd(budgets.daily_usd)}/day` : null,
    budgets.monthly_usd ? `${formatUsd(budgets.monthly_usd)}/month` : null,
  ].filter(Boolean);
  return `budgets  ${caps.length ? caps.join(" · ") : chalk.dim("none for the gateway (clients may have their own)")}`;
}
