/**
 * Real Redis and PostgreSQL servers for tests: each started from its own temp folder on a free loopback
 * port (never the machine's own 6379/5432), stopped by PID. A missing binary fails the test saying which
 * Debian package to install.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const RESERVED = new Set([6379, 5432]);

/** A port the kernel says is free on 127.0.0.1 (never one of the machine's own services). */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const address = server.address();
        const p = typeof address === "object" && address ? address.port : 0;
        server.close(() => resolve(p));
      });
    });
    if (!RESERVED.has(port)) return port;
  }
  throw new Error("no free loopback port found in 20 tries");
}

function findBinary(name: string, pkg: string): string {
  const dirs = [
    ...(process.env.PATH ?? "").split(":"),
    ...(existsSync("/usr/lib/postgresql")
      ? readdirSync("/usr/lib/postgresql")
          .sort()
          .reverse()
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : []),
  ];
  for (const dir of dirs) if (dir && existsSync(join(dir, name))) return join(dir, name);
  throw new Error(
    `${name} not found: install the Debian package ${pkg} (apt-get install ${pkg}); the shared-state tests need it`,
  );
}

/** Resolves when `pattern` shows up in the process's output; rejects on exit or after `timeoutMs`. */
function waitForOutput(
  child: ChildProcess,
  pattern: RegExp,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(
      () => done(new Error(`${what} did not start in ${timeoutMs} ms:\n${seen}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4000);
      if (pattern.test(seen)) done();
    };
    const onExit = (code: number | null) =>
      done(new Error(`${what} exited (${code}) before it was ready:\n${seen}`));
    const done = (err?: Error) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.stderr?.off("data", onData);
      child.off("exit", onExit);
      if (err) reject(err);
      else resolve();
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** Sends SIGTERM to the PID, then SIGKILL if it has not exited within `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  process.kill(child.pid, "SIGTERM");
  const timer = setTimeout(() => child.pid && process.kill(child.pid, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export interface RedisService {
  url: string;
  port: number;
  pid(): number | undefined;
  /** Stops the server (the port stays reserved for `start`). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startRedis(): Promise<RedisService> {
  const bin = findBinary("redis-server", "redis-server");
  const dir = mkdtempSync(join(tmpdir(), "aigw-redis-"));
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    child = spawn(bin, [...args, "--dir", dir], { stdio: ["ignore", "pipe", "pipe"] });
    await waitForOutput(child, /Ready to accept connections/, `redis-server on port ${port}`);
  };
  const stop = async () => {
    if (child) await stopChild(child);
    child = null;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    pid: () => child?.pid,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface PostgresService {
  url: string;
  port: number;
  pid(): number | undefined;
  close(): Promise<void>;
}

/** PostgreSQL refuses to run as root: when we are root, its files and process belong to `postgres`. */
function postgresUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  try {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error("running as root and there is no `postgres` user: install the Debian package postgresql");
  }
}

export async function startPostgres(): Promise<PostgresService> {
  const initdb = findBinary("initdb", "postgresql");
  const postgres = findBinary("postgres", "postgresql");
  const dir = mkdtempSync(join(tmpdir(), "aigw-pg-"));
  const data = join(dir, "data");
  const socket = join(dir, "sock");
  mkdirSync(socket);
  const user = postgresUser();
  if (user) for (const path of [dir, socket]) chownSync(path, user.uid, user.gid);
  const as = user ? { uid: user.uid, gid: user.gid } : {};
  const env = { ...process.env, LC_ALL: "C", HOME: dir };
  execFileSync(initdb, ["-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"], {
    ...as,
    env,
    stdio: "pipe",
  });
  const port = await freePort();
  const child = spawn(
    postgres,
    [
      ...["-D", data, "-p", String(port), "-k", socket],
      ...["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"],
      ...["-c", "full_page_writes=off", "-c", "max_connections=100"],
    ],
    { ...as, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  await waitForOutput(child, /database system is ready to accept connections/, `postgres on port ${port}`);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    pid: () => child.pid,
    async close() {
      await stopChild(child, 10_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
