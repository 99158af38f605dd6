import { createHash } from "node:crypto";
import { createClient, type RedisClientType } from "redis";
import { redactUrl } from "../../config/shared.js";
import type { Timers } from "../limits/clock.js";

/** Every Redis command on the request path gives up after this: a slow Redis must not stall requests. */
export const COMMAND_TIMEOUT_MS = 250;

/** The process's timers, not unref'd: each command's timer lives only as long as the command. */
const commandTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * One connection to Redis and whether it is usable. Unreachable or slow → `degraded` (one line on
 * stderr), and callers use their local state; a ping every 500 ms brings it back. No offline queue: a
 * command while disconnected fails at once instead of piling up.
 */
export class RedisLink {
  readonly client: RedisClientType;
  private degraded = true;
  private warned = false;
  private connectedOnce = false;
  /** Start-up: the first connection is awaited by `ready()`, not announced as an outage. */
  private quietUntil = Date.now() + 2000;
  private readonly pinger: NodeJS.Timeout;
  private readonly shas = new Map<string, string>();
  private readonly queued: (() => void)[] = [];

  constructor(
    readonly url: string,
    private readonly log: (line: string) => void,
    /** Times each command's timeout (injected in tests). */
    private readonly timers: Timers = commandTimers,
  ) {
    this.client = createClient({
      url,
      disableOfflineQueue: true,
      socket: { connectTimeout: 1000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000) },
    });
    this.client.on("error", () => this.down("connection lost"));
    this.client.on("ready", () => void this.check());
    this.client.connect().catch(() => this.down("cannot connect"));
    this.pinger = setInterval(() => void this.check(), 500);
    this.pinger.unref();
  }

  get usable(): boolean {
    return !this.degraded && this.client.isReady;
  }

  /** Waits (bounded) for the first connection, so a gateway starts shared when Redis is there. */
  async ready(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.usable && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  /** Runs a command with the short timeout; a failure marks the link degraded and rethrows. */
  async run<T>(fn: (client: RedisClientType) => Promise<T>): Promise<T> {
    if (!this.usable) throw new Error("redis degraded");
    let timer: unknown;
    try {
      return await Promise.race([
        fn(this.client),
        new Promise<never>((_, reject) => {
          timer = this.timers.setTimeout(
            () => reject(new Error("redis command timed out")),
            COMMAND_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (err) {
      // A lost connection degrades the link; one slow answer only sends this request to local limits.
      if (!this.client.isReady) this.down((err as Error).message);
      throw err;
    } finally {
      this.timers.clearTimeout(timer);
    }
  }

  /** EVALSHA, loading the script on first use or after a Redis restart (NOSCRIPT). */
  async script(source: string, keys: string[], args: (string | number)[]): Promise<unknown> {
    let sha = this.shas.get(source);
    if (!sha) {
      sha = createHash("sha1").update(source).digest("hex");
      this.shas.set(source, sha);
    }
    const options = { keys, arguments: args.map(String) };
    return this.run(async (c) => {
      try {
        return await c.evalSha(sha, options);
      } catch (err) {
        if (!String((err as Error).message).includes("NOSCRIPT")) throw err;
        return c.eval(source, options);
      }
    });
  }

  /**
   * Fire and forget (writes after the upstream call): queued, in order, and sent together once the
   * current work (the answer going out) is done, so they add nothing to the request they follow.
   */
  send(fn: (client: RedisClientType) => Promise<unknown>): void {
    this.later(() => fn(this.client)).catch(() => {});
  }

  /** Runs `fn` after the current work, in order with `send`; rejects when Redis is not usable then. */
  later<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push(() =>
        (this.usable ? fn() : Promise.reject(new Error("redis degraded"))).then(resolve, reject),
      );
      if (this.queued.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.queued.splice(0);
    for (const run of batch) run();
  }

  async close(): Promise<void> {
    clearInterval(this.pinger);
    this.client.destroy();
  }

  private async check(): Promise<void> {
    if (!this.client.isReady) return this.down("not connected");
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.client.ping(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error("ping timed out")), COMMAND_TIMEOUT_MS * 4);
        }),
      ]);
      if (this.degraded && this.warned)
        this.log(`Redis at ${redactUrl(this.url)} is back: limits are shared again`);
      this.degraded = false;
      this.warned = false;
      this.connectedOnce = true;
    } catch (err) {
      this.down((err as Error).message);
    } finally {
      clearTimeout(timer);
    }
  }

  private down(reason: string): void {
    this.degraded = true;
    if (this.warned || (!this.connectedOnce && Date.now() < this.quietUntil)) return;
    this.warned = true;
    this.log(
      `Redis at ${redactUrl(this.url)} is unreachable (${reason}): serving with this instance's local limits and cache until it is back`,
    );
  }
}
