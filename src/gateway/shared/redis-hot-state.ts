import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { routeFormat } from "../../providers/types.js";
import type { CacheEntry, ResponseCache } from "../../store/response-cache.js";
import type { ClientInfo } from "../clients.js";
import type { HotParts, HotState } from "../hot-state.js";
import { ClientLimits, type RateHeaders } from "../limiters.js";
import type { Permit } from "../limits/index.js";
import type { GatewayRequest } from "../pipeline.js";
import { RedisLink } from "./redis-link.js";
import { ADJUST_BUCKET, REFRESH_LEASE, TAKE_CLIENT, TAKE_LEASE } from "./scripts.js";
import { SharedEventBus } from "./shared-events.js";

/** What one request's round trip before the pipeline fetched, read by the parts during the request. */
interface Prefetched {
  client: {
    waitMs: number;
    headers: RateHeaders;
    taken: boolean;
    used: boolean;
    name: string;
    rpm: number;
    tpm: number;
  } | null;
  cache: Map<string, CacheEntry | null>;
}

const LEASE_MS = 30_000;

/**
 * Hot state in Redis, for several gateways acting as one. Each request costs one round trip before
 * the pipeline (client buckets and the cache lookup, pipelined), and writes after it are not awaited.
 * While Redis is unreachable every part falls back to its local, in-memory behaviour.
 */
export class RedisHotState implements HotState {
  readonly instance: string;
  private readonly link: RedisLink;
  private readonly als = new AsyncLocalStorage<Prefetched>();
  private readonly bus: SharedEventBus;
  /** "This client is over its limit until T": refused traffic costs no round trip. */
  private readonly over = new Map<string, number>();
  private parts: HotParts | null = null;
  private defaults: { rpm?: number; tpm?: number } = {};

  constructor(
    url: string,
    private readonly prefix: string,
    log: (line: string) => void = (line) => process.stderr.write(`aigw: ${line}\n`),
  ) {
    this.instance = `${process.pid}-${randomBytes(3).toString("hex")}`;
    this.link = new RedisLink(url, log);
    this.bus = new SharedEventBus(this.link, `${prefix}:events`, this.instance);
    this.link.client.on("ready", () => void this.bus.ready());
  }

  /** Waits (bounded) for Redis at start, so a gateway starts shared when Redis is up. */
  ready(): Promise<void> {
    return this.link.ready().then(() => this.bus.ready());
  }

  status(): "shared" | "degraded" {
    return this.link.usable ? "shared" : "degraded";
  }

  events(): SharedEventBus {
    return this.bus;
  }

  clientLimits(defaults: { rpm?: number; tpm?: number }, clock: { now(): number }): ClientLimits {
    this.defaults = defaults;
    return new SharedClientLimits({ defaults, clock }, this);
  }

  responseCache(local: ResponseCache): ResponseCache {
    const self = this;
    return {
      ...local,
      get(key, now) {
        const prefetched = self.als.getStore()?.cache;
        if (prefetched?.has(key)) return prefetched.get(key) ?? null;
        return local.get(key, now);
      },
      put(entry) {
        const stored = local.put(entry);
        const ttl = Math.max(1, entry.expires_at - entry.created_at);
        const { raw: _raw, ...rest } = stored ?? {
          ...entry,
          last_hit_at: entry.created_at,
          hits: 0,
          size: 0,
        };
        self.link.send((c) => c.set(self.key("cache", entry.key), JSON.stringify(rest), { PX: ttl }));
        return stored;
      },
    };
  }

  attach(parts: HotParts): void {
    this.parts = parts;
    this.bus.onRemote((event) => {
      if (event.type !== "limiter") return;
      if (event.key_id && event.state === "cooling" && typeof event.detail.until === "number")
        parts.keys.coolRemote(event.key_id, event.detail.until);
      if (event.key_id && event.state === "invalid") parts.keys.invalidRemote(event.key_id);
      if (!event.key_id && event.state === "circuit-open") parts.breaker.openRemote(event.provider);
    });
    parts.limiters.share((scope, limit, opts) => this.lease(scope, limit, opts));
  }

  async around<T>(req: GatewayRequest, run: () => Promise<T>): Promise<T> {
    if (!this.link.usable || !this.parts) return run();
    const ctx: Prefetched = { client: null, cache: new Map() };
    const tasks: Promise<unknown>[] = [];
    const client = req.client ? this.parts.clients.get(req.client) : null;
    const clientTask = this.takeClient(req, client, ctx);
    if (clientTask) tasks.push(clientTask);
    const cacheKey = this.cacheKey(req);
    if (cacheKey) {
      tasks.push(
        this.link
          .run((c) => c.get(this.key("cache", cacheKey)))
          .then((v) => ctx.cache.set(cacheKey, v ? revive(v) : null)),
      );
    }
    try {
      await Promise.all(tasks);
    } catch {
      return run(); // Redis failed mid-way: this request is limited locally
    }
    return this.als.run(ctx, async () => {
      try {
        return await run();
      } finally {
        // Turned away before its limits were checked (bad request, unknown model): give the slot back.
        const taken = ctx.client;
        if (taken?.taken && !taken.used)
          this.link.script(ADJUST_BUCKET, [this.key("c", taken.name, "rpm")], [taken.rpm, 1]).catch(() => {});
      }
    });
  }

  /** The decision prefetched for this request, marked as used; null when there is none (local limits). */
  clientDecision(): Prefetched["client"] {
    const decided = this.als.getStore()?.client ?? null;
    if (decided) decided.used = true;
    return decided;
  }

  get defaultTpm(): number | undefined {
    return this.defaults.tpm;
  }

  /** Corrects the client's shared tpm bucket by what the request really used (not awaited). */
  settleTokens(name: string, tpm: number, delta: number): void {
    this.link.script(ADJUST_BUCKET, [this.key("c", name, "tpm")], [tpm, delta]).catch(() => {});
  }

  async close(): Promise<void> {
    await this.bus.close();
    await this.link.close();
  }

  private takeClient(req: GatewayRequest, client: ClientInfo | null, ctx: Prefetched): Promise<void> | null {
    const rpm = client?.rpm ?? this.defaults.rpm ?? 0;
    const tpm = client?.tpm ?? this.defaults.tpm ?? 0;
    if (!rpm && !tpm) return null;
    const name = req.client ?? "(anonymous)";
    const until = this.over.get(name) ?? 0;
    const now = Date.now();
    if (until > now) {
      ctx.client = { waitMs: until - now, headers: {}, taken: false, used: false, name, rpm, tpm };
      return null;
    }
    const tokens = tpm ? this.parts!.limiters.estimate(req.body) : 0;
    return this.link
      .script(TAKE_CLIENT, [this.key("c", name, "rpm"), this.key("c", name, "tpm")], [rpm, tpm, tokens])
      .then((reply) => {
        const [wait, r, k, full] = reply as [number, string, string, number];
        const headers: RateHeaders = {};
        if (rpm) {
          headers["x-ratelimit-limit-requests"] = String(rpm);
          headers["x-ratelimit-remaining-requests"] = String(Math.max(0, Math.floor(Number(r))));
          headers["x-ratelimit-reset-requests"] = `${Math.ceil(full / 1000)}s`;
        }
        if (tpm) {
          headers["x-ratelimit-limit-tokens"] = String(tpm);
          headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, Math.floor(Number(k))));
        }
        if (wait > 0) this.over.set(name, Date.now() + wait);
        ctx.client = { waitMs: wait, headers, taken: wait === 0 && rpm > 0, used: false, name, rpm, tpm };
      });
  }

  private cacheKey(req: GatewayRequest): string | null {
    const { cache, router } = this.parts!;
    if (!cache || typeof req.body.model !== "string") return null;
    try {
      const ticket = cache.ticket({
        route: req.route,
        format: routeFormat[req.route],
        body: req.body,
        plan: router.resolve(req.body.model),
        client: req.client,
        hints: req.cacheHints,
        headers: req.query ? { ...req.headers, "?": req.query } : req.headers,
      });
      return ticket?.lookup ? ticket.key : null;
    } catch {
      return null; // unknown model: the pipeline says so
    }
  }

  /** Waits for a slot of a fleet-wide concurrency limit; null when Redis is away (local limits only). */
  private async lease(
    scope: string,
    limit: number,
    opts: { deadline: number; signal: AbortSignal },
  ): Promise<Permit | null> {
    if (!this.link.usable) return null;
    const key = this.key("sem", scope);
    const id = `${this.instance}:${randomBytes(4).toString("hex")}`;
    const started = Date.now();
    // Bounded by the request's deadline; a freed slot is seen within one poll.
    for (let delay = 5; ; delay = Math.min(delay * 2, 50)) {
      let got: unknown;
      try {
        got = await this.link.script(TAKE_LEASE, [key], [limit, id, LEASE_MS]);
      } catch {
        return null;
      }
      if (got === 1) break;
      if (opts.signal.aborted || Date.now() + delay > opts.deadline) {
        const { QueueError } = await import("../limits/index.js");
        throw new QueueError(
          `every ${limit} shared slot(s) of ${scope} stayed busy until the deadline`,
          1000,
        );
      }
      await new Promise((r) => setTimeout(r, delay));
    }
    // A long stream keeps its slot: the lease is refreshed while held.
    const refresh = setInterval(
      () => this.link.script(REFRESH_LEASE, [key], [id, LEASE_MS]).catch(() => {}),
      LEASE_MS / 3,
    );
    refresh.unref();
    let released = false;
    return {
      estimate: 0,
      waitedMs: Date.now() - started,
      release: () => {
        if (released) return;
        released = true;
        clearInterval(refresh);
        this.link.send((c) => c.zRem(key, id));
      },
    };
  }

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(":");
  }
}

/** Client buckets decided in Redis (prefetched by `around`); local buckets while Redis is away. */
class SharedClientLimits extends ClientLimits {
  constructor(
    opts: ConstructorParameters<typeof ClientLimits>[0],
    private readonly hot: RedisHotState,
  ) {
    super(opts);
  }

  override take(client: ClientInfo | null, name: string | null, tokens: () => number) {
    const decided = this.hot.clientDecision();
    if (!decided) return super.take(client, name, tokens);
    if (decided.tpm) tokens(); // the pipeline settles against this estimate
    return { waitMs: decided.waitMs, headers: decided.headers };
  }

  override settle(client: ClientInfo | null, name: string | null, estimate: number, actual: number): void {
    const tpm = client?.tpm ?? this.hot.defaultTpm;
    if (tpm && this.hot.status() === "shared")
      this.hot.settleTokens(name ?? "(anonymous)", tpm, estimate - actual);
    else super.settle(client, name, estimate, actual);
  }
}

function revive(text: string): CacheEntry | null {
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry.expires_at > Date.now() ? entry : null;
  } catch {
    return null;
  }
}
