/**
 * Child processes for the benchmark (fake upstream, gateways), /proc readers, and clean-up: every child
 * spawned here is killed when the benchmark exits, fails or is interrupted.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();

let cli = "";
/**
 * The aigw entry point gateways are started with: a private copy of bin/ + dist/ (so a concurrent
 * `npm run build`, which empties dist/, cannot break a run), or AIGW_BENCH_CLI as given.
 */
export function prepareCli(): string {
  if (process.env.AIGW_BENCH_CLI) {
    cli = resolve(process.env.AIGW_BENCH_CLI);
    return cli;
  }
  if (!existsSync(join(ROOT, "dist", "cli.js")))
    throw new Error("dist/cli.js is missing: npm run build first");
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-build-"));
  tempDirs.add(dir);
  cpSync(join(ROOT, "dist"), join(dir, "dist"), { recursive: true });
  cpSync(join(ROOT, "bin"), join(dir, "bin"), { recursive: true });
  cpSync(join(ROOT, "package.json"), join(dir, "package.json"));
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  cli = join(dir, "bin", "aigw");
  return cli;
}

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function killAll(signal: NodeJS.Signals): void {
  for (const child of children) {
    if (!alive(child)) continue;
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/** Kills all children and removes temp folders on exit, errors and SIGINT/SIGTERM/SIGHUP. */
export function installCleanup(): void {
  process.on("exit", () => {
    killAll("SIGKILL");
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${children.size} child process(es)\n`);
      killAll("SIGKILL");
      process.exit(130);
    });
  }
}

function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

function exited(child: ChildProcess): Promise<void> {
  return alive(child) ? new Promise((done) => child.once("exit", () => done())) : Promise.resolve();
}

/** SIGTERM, then SIGKILL after `graceMs`. */
async function stopChild(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (!alive(child)) return;
  child.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((done) => {
    timer = setTimeout(() => {
      if (alive(child)) child.kill("SIGKILL");
      done();
    }, graceMs);
  });
  await Promise.race([exited(child), killed]);
  clearTimeout(timer);
  await exited(child);
}

/** Keeps the last `max` characters of a stream (stderr for error messages). */
function tail(stream: NodeJS.ReadableStream | null, max = 4000): () => string {
  let text = "";
  stream?.on("data", (chunk: Buffer) => {
    text = (text + chunk.toString("utf8")).slice(-max);
  });
  return () => text.trim();
}

const now = (): bigint => process.hrtime.bigint();
const sinceMs = (t0: bigint): number => Number(now() - t0) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface FakeUpstreamProc {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export function startFakeUpstream(): Promise<FakeUpstreamProc> {
  return startScript(join(ROOT, "test", "fake-upstream-main.ts"), [
    "--port",
    "0",
    "--chunks",
    "20",
    "--chunk-delay",
    "0",
  ]);
}

/** The minimal Hono + undici proxy to the upstream: the CPU yardstick. */
export function startReferenceProxy(upstreamUrl: string): Promise<FakeUpstreamProc> {
  return startScript(join(ROOT, "bench", "reference-proxy.ts"), ["--upstream", upstreamUrl]);
}

/** Runs a TypeScript server script that prints one JSON line `{"url": ...}` once listening. */
async function startScript(file: string, args: string[]): Promise<FakeUpstreamProc> {
  const child = track(
    spawn(process.execPath, ["--import", "tsx", file, ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    }),
  );
  const stderr = tail(child.stderr);
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${file}: no URL after 20 s\n${stderr()}`)), 20_000);
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      try {
        resolveUrl((JSON.parse(line) as { url: string }).url);
      } catch (err) {
        reject(err);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited (${code}) before listening\n${stderr()}`));
    });
  });
  child.stdout?.resume();
  return { url, pid: child.pid!, stop: () => stopChild(child) };
}

export interface GatewayProc {
  url: string;
  pid: number;
  /** Spawn → first 200 from /aigw/health. */
  healthyMs: number;
  /** Spawn → banner line "listening on …" on stdout (waited for up to 5 s after healthy). */
  bannerMs: number;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => done(port));
    });
  });
}

function probeHealth(url: string): Promise<boolean> {
  return new Promise((done) => {
    const req = http.get(`${url}/aigw/health`, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode === 200);
    });
    req.on("error", () => done(false));
    req.on("timeout", () => {
      req.destroy();
      done(false);
    });
  });
}

/** Starts `aigw start` on a fresh temp home, with the fake upstream as provider "fake". */
/** A gateway over the fake upstream; the cache is off unless asked for; `limits` is a YAML flow mapping. */
export async function startGateway(
  upstreamUrl: string,
  opts: { cache?: boolean; limits?: string } = {},
): Promise<GatewayProc> {
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-"));
  tempDirs.add(dir);
  const config = join(dir, "bench.yaml");
  writeFileSync(
    config,
    `providers:\n  fake: { type: openai-compatible, base_url: ${upstreamUrl}/v1${opts.limits ? `, limits: ${opts.limits}` : ""} }\n` +
      `cache: { enabled: ${opts.cache ? "true" : "false"} }\n`,
  );
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  if (!cli) throw new Error("prepareCli() first");
  const t0 = now();
  const child = track(
    spawn(
      process.execPath,
      [cli, "start", "--port", String(port), "--config", config, "--home", join(dir, "home")],
      { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] },
    ),
  );
  const stderr = tail(child.stderr);
  let bannerMs = Number.NaN;
  let out = "";
  const banner = new Promise<void>((done) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (!Number.isNaN(bannerMs)) return;
      out = (out + chunk.toString("utf8")).slice(-2000);
      if (/listening on http:\/\/127\.0\.0\.1:\d+/.test(out)) {
        bannerMs = sinceMs(t0);
        done();
      }
    });
    child.once("exit", () => done());
  });

  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
    tempDirs.delete(dir);
  };
  const deadline = Date.now() + 15_000;
  let healthyMs = Number.NaN;
  try {
    for (;;) {
      if (!alive(child)) throw new Error(`aigw exited (${child.exitCode}) before listening\n${stderr()}`);
      if (await probeHealth(url)) {
        healthyMs = sinceMs(t0);
        break;
      }
      if (Date.now() > deadline) throw new Error(`aigw: /aigw/health not 200 after 15 s\n${stderr()}`);
      await sleep(5);
    }
    await Promise.race([banner, sleep(5000)]);
    if (Number.isNaN(bannerMs))
      process.stderr.write(`warning: aigw answered /aigw/health but printed no banner in 5 s\n${stderr()}\n`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, pid: child.pid!, healthyMs, bannerMs, stop };
}

export const CLK_TCK: number = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User and system CPU time of a process (all its threads), in µs. */
export function cpuTimes(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: (Number(fields[11]) * 1e6) / CLK_TCK, system: (Number(fields[12]) * 1e6) / CLK_TCK };
}

/** utime + stime of a process, in µs. */
export function cpuMicros(pid: number): number {
  const t = cpuTimes(pid);
  return t.user + t.system;
}

/** Whole-machine CPU counters from /proc/stat (ticks): busy (user+nice+system+irq+softirq), idle, steal. */
export function machineCpu(): { busy: number; idle: number; steal: number } {
  const f = (readFileSync("/proc/stat", "utf8").split("\n")[0] ?? "")
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = f;
  return { busy: user + nice + system + irq + softirq, idle: idle + iowait, steal };
}

/** Peak (VmHWM) and current (VmRSS) resident set size in MB. */
export function memoryMB(pid: number): { peak: number; current: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (name: string) =>
    Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { peak: kb("VmHWM") / 1024, current: kb("VmRSS") / 1024 };
}
