import type { CacheEntry } from "../../store/response-cache.js";
import type { RemoteFlights } from "../cache.js";
import type { RedisLink } from "./redis-link.js";
import { CACHE_OR_LED, END_LEAD } from "./scripts.js";

/** How long a lead marker outlives a gateway that died while leading. */
export const LEAD_MS = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What one request's prefetch learned of the cache: entries, leads it took, keys led elsewhere. */
export interface FlightContext {
  cache: Map<string, CacheEntry | null>;
  /** Leads this request took in its prefetch: key → lead id, deleted once the pipeline leads. */
  leads: Map<string, string>;
  ledElsewhere: Set<string>;
}

/**
 * Single-flight across the fleet: the prefetch (one script with the client's buckets) looks the key
 * up and, on a miss, takes its lead marker in the same atomic step; a request that finds another gateway leading polls for the entry
 * that gateway stores (or for the marker to go, when that gateway failed).
 */
export class RedisFlights implements RemoteFlights {
  private seq = 0;
  constructor(
    private readonly link: RedisLink,
    private readonly key: (...parts: string[]) => string,
    private readonly instance: string,
    private readonly context: () => FlightContext | undefined,
  ) {}

  /** A lead id for the prefetch to set when it finds no entry and no leader. */
  leadId(): string {
    return `${this.instance}:${++this.seq}`;
  }

  /** What the prefetch found for a cacheable request: the entry, or who leads it. */
  accept(
    ctx: FlightContext,
    cacheKey: string,
    id: string,
    found: { entry: string | null; led: boolean; elsewhere: boolean },
  ): void {
    ctx.cache.set(cacheKey, found.entry ? revive(found.entry) : null);
    if (found.led) ctx.leads.set(cacheKey, id);
    if (found.elsewhere) ctx.ledElsewhere.add(cacheKey);
  }

  /** Gives back leads the request took but never used (it was refused before it could lead). */
  release(ctx: FlightContext): void {
    for (const [cacheKey, id] of ctx.leads) this.end(cacheKey, id);
  }

  follow(cacheKey: string, deadline: number): Promise<CacheEntry | null> | null {
    if (!this.context()?.ledElsewhere.has(cacheKey)) return null;
    return this.poll(cacheKey, deadline);
  }

  lead(cacheKey: string): () => void {
    const ctx = this.context();
    let id = ctx?.leads.get(cacheKey);
    if (id) ctx!.leads.delete(cacheKey);
    else if (ctx && this.link.usable) {
      // Leading after a failed leader elsewhere: mark it so later arrivals wait for this one.
      const lead = this.leadId();
      id = lead;
      this.link.send((c) => c.set(this.key("lead", cacheKey), lead, { PX: LEAD_MS }));
    }
    return id ? () => this.end(cacheKey, id) : () => {};
  }

  private end(cacheKey: string, id: string): void {
    // After the entry's SET (queued by the cache put): a follower sees the entry or the lead, never neither.
    this.link.later(() => this.link.script(END_LEAD, [this.key("lead", cacheKey)], [id])).catch(() => {});
  }

  /** Polls (5 ms, doubling to 50 ms) until the entry is stored, the lead ends, or the deadline. */
  private async poll(cacheKey: string, deadline: number): Promise<CacheEntry | null> {
    const keys = [this.key("cache", cacheKey), this.key("lead", cacheKey)];
    for (let delay = 5; Date.now() + delay < deadline; delay = Math.min(delay * 2, 50)) {
      await sleep(delay);
      let reply: [string | null, number];
      try {
        reply = (await this.link.script(CACHE_OR_LED, keys, [])) as [string | null, number];
      } catch {
        return null;
      }
      if (reply[0]) return revive(reply[0]);
      if (reply[1] !== 1) return null;
    }
    return null;
  }
}

export function revive(text: string): CacheEntry | null {
  try {
    const entry = JSON.parse(text) as CacheEntry;
    return entry.expires_at > Date.now() ? entry : null;
  } catch {
    return null;
  }
}
