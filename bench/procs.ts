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

/** What the preloaded bench/hook.mjs reports about the process it runs in. */
export interface Probe {
  cpuUs: number;
  systemUs: number;
  rss: number;
  /** Event-loop delay (ms) since the last reset (or the start). */
  loop: { p50: number; p99: number; max: number };
}

export type ServerKind = "bare" | "hono" | "aigw";

export interface ServerProc {
  kind: ServerKind;
  url: string;
  pid: number;
  /** Spawn → first HTTP answer (for aigw: a 200 from /aigw/health). */
  listeningMs: number;
  /** Spawn → first 200 to a proxied chat completion, asked as soon as it listens. */
  firstAnswerMs: number;
  /** The worst event-loop delay (ms) between listening and that first answer. */
  loopToFirstAnswer: number;
  /** CPU, memory and event-loop delay from inside the process; `reset` restarts the delay histogram. */
  probe(reset?: boolean): Promise<Probe>;
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

/** GET `url`: its status, or 0 when nothing answers. */
function probeStatus(url: string): Promise<number> {
  return new Promise((done) => {
    const req = http.get(url, { agent: false, timeout: 1000 }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on("error", () => done(0));
    req.on("timeout", () => {
      req.destroy();
      done(0);
    });
  });
}

const CHAT = JSON.stringify({ model: "fake/gpt-4o-mini", messages: [{ role: "user", content: "hello" }] });

function postChat(url: string): Promise<number> {
  return new Promise((done) => {
    const req = http.request(
      `${url}/v1/chat/completions`,
      { method: "POST", agent: false, timeout: 5000, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
      },
    );
    req.on("error", () => done(0));
    req.on("timeout", () => {
      req.destroy();
      done(0);
    });
    req.end(CHAT);
  });
}

const HOOK = join(ROOT, "bench", "hook.mjs");
let yardsticks: { bare: string; hono: string } | null = null;

/** Bundles the two yardstick proxies like aigw is bundled, so their start-up compares like with like. */
export async function prepareYardsticks(): Promise<void> {
  const { build } = await import("esbuild");
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-yard-"));
  tempDirs.add(dir);
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  await build({
    entryPoints: {
      bare: join(ROOT, "bench", "bare-proxy.ts"),
      hono: join(ROOT, "bench", "reference-proxy.ts"),
    },
    outdir: dir,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    minifyWhitespace: true,
    minifySyntax: true,
    outExtension: { ".js": ".mjs" },
    banner: {
      js: "import { createRequire as __aigwRequire } from 'node:module'; const require = __aigwRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
  yardsticks = { bare: join(dir, "bare.mjs"), hono: join(dir, "hono.mjs") };
}

const nodeFlags = () => process.env.AIGW_BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];

/** Starts one of the measured servers with the probe hook preloaded; times listening and first answer. */
async function launch(
  kind: ServerKind,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; port: number; cleanup?: () => void },
): Promise<ServerProc> {
  const url = `http://127.0.0.1:${opts.port}`;
  const t0 = now();
  const child = track(
    // AIGW_BENCH_NODE_FLAGS: extra node flags for the measured server (bench/profile.ts: --cpu-prof).
    spawn(process.execPath, [...nodeFlags(), "--import", HOOK, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe", "ipc"],
    }),
  );
  child.stdout?.resume();
  const stderr = tail(child.stderr);
  let seq = 0;
  const waiting = new Map<number, (p: Probe) => void>();
  child.on("message", (msg: { probe?: string; id?: number } & Probe) => {
    if (msg?.probe !== "aigw-bench" || msg.id === undefined) return;
    waiting.get(msg.id)?.(msg);
    waiting.delete(msg.id);
  });
  const probe = (reset = false): Promise<Probe> =>
    new Promise((done, reject) => {
      const id = ++seq;
      const timer = setTimeout(() => reject(new Error(`${kind}: no probe answer in 5 s`)), 5000);
      waiting.set(id, (p) => {
        clearTimeout(timer);
        done(p);
      });
      child.send({ probe: "aigw-bench", id, reset });
    });
  const stop = async () => {
    await stopChild(child);
    opts.cleanup?.();
  };
  const deadline = Date.now() + 15_000;
  let listeningMs = Number.NaN;
  let firstAnswerMs = Number.NaN;
  let loopToFirstAnswer = Number.NaN;
  try {
    for (;;) {
      if (!alive(child)) throw new Error(`${kind} exited (${child.exitCode}) before listening\n${stderr()}`);
      const status = await probeStatus(`${url}/aigw/health`);
      if (kind === "aigw" ? status === 200 : status > 0) {
        listeningMs = sinceMs(t0);
        await probe(true); // what blocks between listening and the first answer is counted apart
        break;
      }
      if (Date.now() > deadline) throw new Error(`${kind}: not listening after 15 s\n${stderr()}`);
      await sleep(2);
    }
    for (;;) {
      if ((await postChat(url)) === 200) {
        firstAnswerMs = sinceMs(t0);
        // From here on the delay histogram covers only what runs after the start.
        loopToFirstAnswer = (await probe(true)).loop.max;
        break;
      }
      if (Date.now() > deadline) throw new Error(`${kind}: no 200 to a chat request after 15 s\n${stderr()}`);
      await sleep(2);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { kind, url, pid: child.pid!, listeningMs, firstAnswerMs, loopToFirstAnswer, probe, stop };
}

/** A yardstick proxy (bundled by prepareYardsticks) in front of the upstream. */
export async function startYardstick(kind: "bare" | "hono", upstreamUrl: string): Promise<ServerProc> {
  if (!yardsticks) throw new Error("prepareYardsticks() first");
  const port = await freePort();
  return launch(kind, [yardsticks[kind], "--upstream", upstreamUrl, "--port", String(port)], {
    cwd: ROOT,
    port,
  });
}

/** A folder for a gateway's config and home that outlives one launch (`startGateway({ dir })`). */
export function gatewayDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "aigw-bench-"));
  tempDirs.add(dir);
  return {
    dir,
    remove: () => {
      rmSync(dir, { recursive: true, force: true });
      tempDirs.delete(dir);
    },
  };
}

/**
 * A gateway over the fake upstream; the cache is off unless asked for; `limits` is a YAML flow mapping.
 * Its config and home are in a new folder removed when it stops, or in `dir` (kept: a later launch
 * finds the home as the last one left it).
 */
export async function startGateway(
  upstreamUrl: string,
  opts: { cache?: boolean; limits?: string; extraConfig?: string; dir?: string } = {},
): Promise<ServerProc> {
  const own = opts.dir ? null : gatewayDir();
  const dir = opts.dir ?? own!.dir;
  const config = join(dir, "bench.yaml");
  writeFileSync(
    config,
    `providers:\n  fake: { type: openai-compatible, base_url: ${upstreamUrl}/v1${opts.limits ? `, limits: ${opts.limits}` : ""} }\n` +
      `cache: { enabled: ${opts.cache ? "true" : "false"} }\n${opts.extraConfig ?? ""}`,
  );
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1" };
  delete env.FORCE_COLOR;
  if (!cli) throw new Error("prepareCli() first");
  return launch(
    "aigw",
    [cli, "start", "--port", String(port), "--config", config, "--home", join(dir, "home")],
    {
      cwd: dir,
      env,
      port,
      cleanup: () => own?.remove(),
    },
  );
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
