import type { Config } from "../config/schema.js";
import { preloadHttp } from "../providers/http.js";
import { createProviders } from "../providers/registry.js";
import type { Provider } from "../providers/types.js";
import type { ClientStore } from "../store/clients.js";
import type { KeyStore } from "../store/keys.js";
import type { MasterKey } from "../store/secrets.js";
import type { UsageLog } from "../store/usage-log.js";
import { CircuitBreaker } from "./breaker.js";
import { ClientIndex } from "./clients.js";
import { EventBus } from "./events.js";
import { KeyPool } from "./key-pool.js";
import { type Clock, Pipeline } from "./pipeline.js";
import { createRouter, type Router } from "./router.js";
import { TargetOrder } from "./strategy.js";

export { type ClientAuthResult, ClientIndex, type ClientInfo } from "./clients.js";
export { EventBus, type GatewayEvent } from "./events.js";
export type { Clock, GatewayRequest, GatewayResponse } from "./pipeline.js";
export type { RouteEntry, Router } from "./router.js";

/** Everything one running gateway holds, built from the config with no I/O at construction. */
export interface Gateway {
  config: Config;
  providers: Map<string, Provider>;
  router: Router;
  pipeline: Pipeline;
  breaker: CircuitBreaker;
  events: EventBus;
  keys: KeyPool;
  /** Client keys, limits, budgets and model allowlists, by key hash and by name. */
  clients: ClientIndex;
  startedAt: number;
  /** Re-reads what the CLI may have changed (keys, clients); called when the database changes. */
  reload(): void;
  /** Loads what the first upstream call needs; called once listening, off the start-up path. */
  warmUp(): Promise<void>;
  close(): Promise<void>;
}

export function createGateway(opts: {
  config: Config;
  usage: UsageLog;
  /** Stored upstream keys; without it only environment keys are used. */
  keys?: KeyStore;
  loadMaster?: () => MasterKey | null;
  /** Client keys; without it there are none and `/v1/*` is open (to loopback). */
  clients?: ClientStore;
  env?: NodeJS.ProcessEnv;
  clock?: Clock;
  demo?: boolean;
}): Gateway {
  const providers = createProviders(opts.config);
  const router = createRouter({ providers, models: opts.config.models, demo: opts.demo ?? false });
  const events = new EventBus();
  const clock = opts.clock ?? Date;
  const keys = new KeyPool({
    providers,
    store: opts.keys ?? null,
    loadMaster: opts.loadMaster ?? (() => null),
    env: opts.env ?? process.env,
    clock,
    events,
  });
  const clients = new ClientIndex(opts.clients ?? null);
  const breaker = new CircuitBreaker({
    failures: opts.config.circuit_breaker.failures,
    coolOffMs: opts.config.circuit_breaker.cool_off,
    clock,
    events,
  });
  const pipeline = new Pipeline({
    breaker,
    order: new TargetOrder(),
    router,
    keys,
    usage: opts.usage,
    events,
    clock,
    maxWaitMs: opts.config.queue.max_wait,
  });
  return {
    config: opts.config,
    providers,
    router,
    pipeline,
    breaker,
    events,
    keys,
    clients,
    startedAt: clock.now(),
    reload() {
      // Clients first: a key store the master key cannot open must not keep revoked clients alive.
      clients.reload();
      keys.reload();
    },
    async warmUp() {
      await preloadHttp();
    },
    async close() {
      await Promise.all([...providers.values()].map((p) => p.close()));
    },
  };
}
