import type { ResponseCache } from "../store/response-cache.js";
import type { CircuitBreaker } from "./breaker.js";
import type { Budgets } from "./budgets.js";
import type { CachePolicy } from "./cache.js";
import type { ClientIndex } from "./clients.js";
import type { EventBus } from "./events.js";
import type { KeyPool } from "./key-pool.js";
import type { ClientLimits, Limiters } from "./limiters.js";
import type { GatewayRequest } from "./pipeline.js";
import type { Router } from "./router.js";

/** The parts of a gateway whose state a HotState may hold elsewhere (or mirror from elsewhere). */
export interface HotParts {
  router: Router;
  clients: ClientIndex;
  clientLimits: ClientLimits;
  limiters: Limiters;
  budgets: Budgets;
  keys: KeyPool;
  breaker: CircuitBreaker;
  cache: CachePolicy | null;
  events: EventBus;
}

/**
 * Where a gateway's hot state lives. Absent (the default), everything stays in this process's memory.
 * A shared implementation (Redis) supplies the event bus, client limits and cache store, and runs each
 * request inside `around`, which fetches what the request will read in one round trip beforehand.
 */
export interface HotState {
  readonly instance: string;
  events(): EventBus;
  clientLimits(defaults: { rpm?: number; tpm?: number }, clock: { now(): number }): ClientLimits;
  responseCache(local: ResponseCache): ResponseCache;
  attach(parts: HotParts): void;
  around<T>(req: GatewayRequest, run: () => Promise<T>): Promise<T>;
  /** `shared`, or `degraded` while the shared store cannot be reached (local limits apply). */
  status(): "shared" | "degraded";
  /** Gateways sharing the state when it was last reachable (each keeps its share of limits without it). */
  instances(): number;
  close(): Promise<void>;
}
