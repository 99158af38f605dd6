import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { routeFormat } from "../../providers/types.js";
import type { ResponseCache } from "../../store/response-cache.js";
import type { SharedSpend } from "../budgets.js";
import type { ClientInfo } from "../clients.js";
import type { HotParts, HotState } from "../hot-state.js";
import type { ClientLimits, RateHeaders } from "../limiters.js";
import type { GatewayRequest } from "../pipeline.js";
import { SharedAdmission } from "./admission.js";
import { RedisLink } from "./redis-link.js";
import { type FlightContext, LEAD_MS, RedisFlights } from "./remote-flight.js";
import { ADD_SPEND, ADJUST_BUCKET, HEARTBEAT, PREFETCH, SEED_SPEND } from "./scripts.js";
import { type ClientDecision, SharedClientLimits } from "./shared-client-limits.js";
import { SharedEventBus } from "./shared-events.js";

/** What one request's round trip before the pipeline fetched, read by the parts during the request. */
interface Prefetched extends FlightContext {
  client: (ClientDecision & { taken: boolean; used: boolean; name: string; rpm: number; tpm: number }) | null;
}

/** An instance that has not beaten for this long is no longer counted (its share goes to the others). */
const HEARTBEAT_WINDOW_MS = 3000;

/**
 * Hot state in Redis, for several gateways acting as one. Each request costs one round trip before
 * the pipeline (one script: client buckets, budget totals, the cache lookup with its single-flight),
 * and writes after it are not awaited. While Redis is unreachable every part falls back to local
 * behaviour, limits cut to this instance's share.
 */
export class RedisHotState implements HotState {
  readonly instance: string;
  private readonly link: RedisLink;
  private readonly als = new AsyncLocalStorage<Prefetched>();
  private readonly bus: SharedEventBus;
  private readonly flights: RedisFlights;
  private readonly admission: SharedAdmission;
  /** "This client is over its limit until T": refused traffic costs no round trip. */
  private readonly over = new Map<string, number>();
  private parts: HotParts | null = null;
  private defaults: { rpm?: number; tpm?: number } = {};
  private live = 1;
  private readonly beat: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly prefix: string,
    log: (line: string) => void = (line) => process.stderr.write(`aigw: ${line}\n`),
  ) {
    this.instance = `${process.pid}-${randomBytes(3).toString("hex")}`;
    this.link = new RedisLink(url, log);
    this.bus = new SharedEventBus(this.link, `${prefix}:events`, this.instance);
    const key = (...parts: string[]) => this.key(...parts);
    this.flights = new RedisFlights(this.link, key, this.instance, () => this.als.getStore());
    this.admission = new SharedAdmission(this.link, key, this.instance, () => this.live);
    this.link.client.on("ready", () => {
      void this.bus.ready();
      void this.heartbeat();
      this.parts?.budgets.seedShared(); // a restarted Redis learns this period's spend again
    });
    this.beat = setInterval(() => void this.heartbeat(), 1000);
    this.beat.unref();
  }

  /** Waits (bounded) for Redis at start, so a gateway starts shared when Redis is up. */
  ready(): Promise<void> {
    return this.link.ready().then(() => Promise.all([this.bus.ready(), this.heartbeat()]).then(() => {}));
  }

  status(): "shared" | "degraded" {
    return this.link.usable ? "shared" : "degraded";
  }

  /** Instances alive when Redis was last seen (this one included). */
  instances(): number {
    return this.live;
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
      const paused = event.state === "paused" ? event.detail.pausedUntil : null;
      if (typeof paused === "number") parts.limiters.pauseRemote(event.provider, event.key_id, paused);
    });
    parts.limiters.share(this.admission.admit);
    parts.cache?.shareFlights(this.flights);
    parts.budgets.share(this.spend());
  }

  async around<T>(req: GatewayRequest, run: () => Promise<T>): Promise<T> {
    if (!this.link.usable || !this.parts) return run();
    const ctx: Prefetched = { client: null, cache: new Map(), leads: new Map(), ledElsewhere: new Set() };
    const client = req.client ? this.parts.clients.get(req.client) : null;
    const take = this.clientTake(req, client, ctx);
    const budgetKeys = this.parts.budgets.fleetKeys(client);
    const cacheKey = this.cacheKey(req);
    if (!take && !budgetKeys.length && !cacheKey) return this.als.run(ctx, run);
    const name = take?.name ?? "-";
    const lead = cacheKey ? this.flights.leadId() : "";
    let reply: unknown[];
    try {
      reply = (await this.link.script(
        PREFETCH,
        [
          this.key("c", name, "rpm"),
          this.key("c", name, "tpm"),
          this.key("cache", cacheKey ?? "-"),
          this.key("lead", cacheKey ?? "-"),
          ...budgetKeys.map((k) => this.key("b", k)),
        ],
        [take?.rpm ?? 0, take?.tpm ?? 0, take?.tokens ?? 0, cacheKey ? 1 : 0, lead, LEAD_MS],
      )) as unknown[];
    } catch {
      // Redis failed (or was slow): this request is limited locally; a lead the script took is given back.
      if (cacheKey) ctx.leads.set(cacheKey, lead);
      this.flights.release(ctx);
      return run();
    }
    if (take) this.decided(take, reply as [number, string, string, number], ctx);
    if (cacheKey) {
      const [entry, led, elsewhere] = reply.slice(4, 7) as [string | null, number, number];
      this.flights.accept(ctx, cacheKey, lead, { entry, led: led === 1, elsewhere: elsewhere === 1 });
    }
    budgetKeys.forEach((k, i) => {
      const v = reply[7 + i];
      if (v) this.parts!.budgets.adopt(k, Number(v));
    });
    return this.als.run(ctx, async () => {
      try {
        return await run();
      } finally {
        this.flights.release(ctx);
        // Turned away before its limits were checked (bad request, unknown model): give the slot back.
        const taken = ctx.client;
        if (taken?.taken && !taken.used)
          this.link.script(ADJUST_BUCKET, [this.key("c", taken.name, "rpm")], [taken.rpm, 1]).catch(() => {});
      }
    });
  }

  /** The decision prefetched for this request, marked as used; null when there is none (local limits). */
  clientDecision(): ClientDecision | null {
    const decided = this.als.getStore()?.client ?? null;
    if (decided) decided.used = true;
    return decided;
  }

  get defaultTpm(): number | undefined {
    return this.defaults.tpm;
  }

  /** Corrects the client's shared tpm bucket by what the request really used (not awaited). */
  settleTokens(name: string, tpm: number, delta: number): void {
    this.link
      .later(() => this.link.script(ADJUST_BUCKET, [this.key("c", name, "tpm")], [tpm, delta]))
      .catch(() => {});
  }

  async close(): Promise<void> {
    clearInterval(this.beat);
    // Leaving: the others' share of a limit grows at once instead of when this beat expires.
    await this.link.run((c) => c.zRem(this.key("instances"), this.instance)).catch(() => {});
    await this.bus.close();
    await this.link.close();
  }

  private async heartbeat(): Promise<void> {
    if (!this.link.usable) return;
    try {
      const n = await this.link.script(
        HEARTBEAT,
        [this.key("instances")],
        [this.instance, HEARTBEAT_WINDOW_MS],
      );
      if (typeof n === "number" && n > 0) this.live = n;
    } catch {
      // The link reports the outage; the last count stands.
    }
  }

  private spend(): SharedSpend {
    const b = (key: string) => this.key("b", key);
    return {
      usable: () => this.link.usable,
      // Not deferred: the next request, on any instance, must see this spend.
      add: async (keys, micros) =>
        (await this.link.script(
          ADD_SPEND,
          keys.map((k) => b(k.key)),
          [micros, ...keys.map((k) => k.ttlMs)],
        )) as number[],
      seed: (totals) =>
        void this.link
          .script(
            SEED_SPEND,
            totals.map((t) => b(t.key)),
            totals.flatMap((t) => [t.micros, t.ttlMs]),
          )
          .catch(() => {}),
    };
  }

  /** What the prefetch takes from the client's buckets; null when it has no limits or is known over them. */
  private clientTake(req: GatewayRequest, client: ClientInfo | null, ctx: Prefetched) {
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
    return { name, rpm, tpm, tokens: tpm ? this.parts!.limiters.estimate(req.body) : 0 };
  }

  private decided(
    take: { name: string; rpm: number; tpm: number },
    [wait, r, k, full]: [number, string, string, number],
    ctx: Prefetched,
  ): void {
    const { name, rpm, tpm } = take;
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

  private key(...parts: string[]): string {
    return [this.prefix, ...parts].join(":");
  }
}
