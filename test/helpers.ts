/** Shared pieces of the end-to-end tests: a temp home, an in-process gateway on a real port, the CLI. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseConfig } from "../src/config/load.js";
import type { ConfigInput } from "../src/config/schema.js";
import { createGateway, type Gateway } from "../src/gateway/index.js";
import type { CatalogTimers } from "../src/gateway/model-catalog.js";
import { createApp } from "../src/server/app.js";
import { type RunningServer, serve } from "../src/server/serve.js";
import { type ClientStore, createClientStore } from "../src/store/clients.js";
import { type Db, openDb } from "../src/store/db.js";
import { createResponseCache } from "../src/store/response-cache.js";
import { createStoredResponses } from "../src/store/stored-responses.js";
import { createUsageLog, type UsageLog, type UsageRecord } from "../src/store/usage-log.js";

export const BIN = resolve(import.meta.dirname, "../bin/aigw");

export function tempHome(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "aigw-test-"));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestGateway {
  url: string;
  gateway: Gateway;
  server: RunningServer;
  db: Db;
  usage: UsageLog;
  /** The client store over the same database; call `gateway.reload()` after changing it. */
  clients: ClientStore;
  adminToken: string;
  /** Usage rows, oldest first. */
  rows(): UsageRecord[];
  /** Waits until `n` usage rows exist (rows of streams land when the stream ends). */
  waitForRows(n: number, timeoutMs?: number): Promise<UsageRecord[]>;
  close(): Promise<void>;
}

/** A real gateway on a loopback port, in this process, over a SQLite file in a temp home. */
export async function startTestGateway(
  opts: {
    config?: ConfigInput;
    env?: NodeJS.ProcessEnv;
    demo?: boolean;
    /** Ask providers for their models at start (off by default: most tests count upstream calls). */
    discoverModels?: boolean;
    catalogTimers?: CatalogTimers;
    clock?: { now(): number };
    /** Use this home folder (kept after close) instead of a fresh temporary one. */
    home?: string;
    /** Listen without waiting for the warm-up (as `aigw start` does). */
    backgroundWarmUp?: boolean;
  } = {},
): Promise<TestGateway> {
  const home = opts.home ? { dir: opts.home, cleanup: () => {} } : tempHome();
  // The cache is off unless a test is about it: most tests count upstream calls for repeated prompts.
  const config = parseConfig({ port: 0, cache: { enabled: false }, ...opts.config }, "test config");
  const db = openDb(join(home.dir, "aigw.db"));
  const usage = createUsageLog(db);
  const clients = createClientStore(db);
  const gateway = createGateway({
    config,
    usage,
    clients,
    responseCache: createResponseCache(db, {
      maxBytes: config.cache.max_size,
      ...(opts.clock ? { clock: () => opts.clock!.now() } : {}),
    }),
    storedResponses: createStoredResponses(db),
    env: opts.env ?? {},
    demo: opts.demo ?? false,
    discoverModels: opts.discoverModels ?? false,
    ...(opts.catalogTimers ? { catalogTimers: opts.catalogTimers } : {}),
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  if (opts.backgroundWarmUp) void gateway.warmUp();
  else await gateway.warmUp();
  const adminToken = "test-admin-token";
  const server = await serve(createApp({ gateway, adminToken }), {
    host: "127.0.0.1",
    port: 0,
    requestTimeout: config.server.request_timeout,
  });
  const rows = () => usage.recent(10_000).reverse();
  return {
    url: server.url,
    gateway,
    server,
    db,
    usage,
    clients,
    adminToken,
    rows,
    async waitForRows(n, timeoutMs = 3000) {
      const deadline = Date.now() + timeoutMs;
      while (usage.count() < n) {
        if (Date.now() > deadline) throw new Error(`expected ${n} usage rows, have ${usage.count()}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return rows();
    },
    async close() {
      await server.close(1000);
      await gateway.close();
      db.close();
      home.cleanup();
    },
  };
}

export async function waitFor(check: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `bin/aigw` to completion. */
export function runCli(
  args: string[],
  opts: { home: string; env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? opts.home,
      env: { ...cleanEnv(), AIGW_HOME: opts.home, NO_COLOR: "1", ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`aigw ${args.join(" ")} timed out\n${stdout}\n${stderr}`));
    }, opts.timeoutMs ?? 10_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}

export interface CliServer {
  child: ChildProcess;
  url: string;
  output(): { stdout: string; stderr: string };
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `aigw start` as a real process and waits for its banner. */
export function startCli(
  args: string[],
  opts: { home: string; env?: NodeJS.ProcessEnv; cwd?: string },
): Promise<CliServer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, "start", ...args], {
      cwd: opts.cwd ?? opts.home,
      env: { ...cleanEnv(), AIGW_HOME: opts.home, NO_COLOR: "1", ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    const timer = setTimeout(
      () => reject(new Error(`aigw start did not listen\n${stdout}\n${stderr}`)),
      10_000,
    );
    child.stdout.on("data", (d) => {
      stdout += d;
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePromise({ child, url: match[1]!, output: () => ({ stdout, stderr }), exited });
      }
    });
    child.stderr.on("data", (d) => (stderr += d));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`aigw start exited with ${code}\n${stdout}\n${stderr}`));
    });
  });
}

/** The test runner's environment without anything that would point aigw at real providers. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env))
    if (name.endsWith("_API_KEY") || name.startsWith("AIGW_")) delete env[name];
  return env;
}
