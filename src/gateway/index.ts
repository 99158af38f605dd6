import type { Config } from "../config/schema.js";
import { preloadHttp } from "../providers/http.js";
import { claimBareModel, createProviders } from "../providers/registry.js";
import type { Provider } from "../providers/types.js";
import type { ClientStore } from "../store/clients.js";
import type { KeyStore } from "../store/keys.js";
import type { ResponseCache } from "../store/response-cache.js";
import type { MasterKey } from "../store/secrets.js";
import type { StoredResponses } from "../store/stored-responses.js";
import type { UsageLog } from "../store/usage-log.js";
import { CircuitBreaker } from "./breaker.js";
import { Budgets } from "./budgets.js";
import { CachePolicy } from "./cache.js";
import { ClientIndex } from "./clients.js";
import { EventBus } from "./events.js";
import type { HotState } from "./hot-state.js";
import { startHousekeeping } from "./housekeeping.js";
import { KeyPool } from "./key-pool.js";
import { ClientLimits, Limiters } from "./limiters.js";
import { realTimers, type Timers } from "./limits/index.js";
import { Metrics } from "./metrics.js";
import { type CatalogTimers, ModelCatalog } from "./model-catalog.js";
import { type Clock, Pipeline } from "./pipeline.js";
import { Pricing } from "./pricing.js";
import { createRouter, type Router } from "./router.js";
import { TargetOrder } from "./strategy.js";

export { type ClientAuthResult, ClientIndex, type ClientInfo } from "./clients.js";
export { EventBus, type GatewayEvent } from "./events.js";
export type { HotState } from "./hot-state.js";
export type { ModelEntry } from "./model-catalog.js";
export type { Clock, GatewayRequest, GatewayResponse } from "./pipeline.js";
export type { RouteEntry, Router } from "./router.js";

/** Everything one running gateway holds, built from the config with no I/O at construction. */
export interface Gateway {
  config: Config;
  providers: Map<string, Provider>;
  /** Client headers some provider honours (its dialect's), forwarded on same-format routes. */
  forwardHeaders: readonly string[];
  router: Router;
  /** What `GET /v1/models` lists, refreshed from the providers in the background. */
  models: ModelCatalog;
  pipeline: Pipeline;
  breaker: CircuitBreaker;
  /** Target order and in-flight counts (least-busy). */
  order: TargetOrder;
  budgets: Budgets;
  limiters: Limiters;
  clientLimits: ClientLimits;
  metrics: Metrics;
  events: EventBus;
  keys: KeyPool;
  /** Client keys, limits, budgets and model allowlists, by key hash and by name. */
  clients: ClientIndex;
  /** The usage log: live views read their opening history from it through the gateway. */
  usage: UsageLog;
  /** Responses made by translation, kept for `responses.retention`; null when not kept. */
  storedResponses: StoredResponses | null;
  /** The gateway's clock (injected in tests): stored responses' lifetimes and the like. */
  clock: Clock;
  startedAt: number;
  /** `shared` or `degraded` when hot state is shared (Redis); null when this process holds it all. */
  shared(): "shared" | "degraded" | null;
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
  /** The response cache's store; without it nothing is cached. */
  responseCache?: ResponseCache;
  /** Client keys; without it there are none and `/v1/*` is open (to loopback). */
  clients?: ClientStore;
  /** Responses kept for `previous_response_id`; without it none are kept. */
  storedResponses?: StoredResponses;
  env?: NodeJS.ProcessEnv;
  /** The providers to route to; default: built from the config. Tests pass scripted ones. */
  providers?: Map<string, Provider>;
  clock?: Clock;
  /** Timers behind every wait (queues, backoff, cooling keys); default the process's. */
  timers?: Timers;
  demo?: boolean;
  /** Ask providers for their models (default true); tests that count upstream calls turn it off. */
  discoverModels?: boolean;
  /** Timers of the models refresh; default real ones. */
  catalogTimers?: CatalogTimers;
  /** Where hot state lives when several gateways share it (Redis); default this process's memory. */
  hot?: HotState;
  /** Where warnings (budget thresholds) are written; default stderr. */
  log?: (line: string) => void;
}): Gateway {
  const providers = opts.providers ?? createProviders(opts.config);
  const router = createRouter({ providers, models: opts.config.models, demo: opts.demo ?? false });
  const hot = opts.hot ?? null;
  const events = hot?.events() ?? new EventBus();
  const clock = opts.clock ?? Date;
  const timers = opts.timers ?? realTimers;
  const limiters = new Limiters({ config: opts.config, clock, timers, events });
  const defaults = opts.config.default_client_limits;
  const clientLimits = hot?.clientLimits(defaults, clock) ?? new ClientLimits({ defaults, clock });
  const keys = new KeyPool({
    onKeyLimits: (provider, keyId, limits) => limiters.setKeyLimits(provider, keyId, limits),
    providers,
    store: opts.keys ?? null,
    loadMaster: opts.loadMaster ?? (() => null),
    env: opts.env ?? process.env,
    clock,
    events,
  });
  const clients = new ClientIndex(opts.clients ?? null);
  const models = new ModelCatalog({
    providers,
    router,
    demo: opts.demo ?? false,
    keyFor: (provider) => keys.peek(provider),
    ...(opts.catalogTimers ? { timers: opts.catalogTimers } : {}),
  });
  const breaker = new CircuitBreaker({
    failures: opts.config.circuit_breaker.failures,
    coolOffMs: opts.config.circuit_breaker.cool_off,
    clock,
    events,
  });
  const pricing = new Pricing(opts.config.pricing);
  let warmedUp = false;
  /**
   * Whether the price table (~80 ms, a few MB) is needed: some provider it prices can serve (free ones
   * are not priced, and one that needs a key has none yet: `reload` asks again when keys change); a
   * demo prices the mock as what it imitates. Prometheus metrics need no library.
   */
  const priced = () =>
    opts.demo === true || [...providers.values()].some((p) => !p.free && keys.peek(p) !== undefined);
  const { budgets: budgetConfig } = opts.config;
  const webhook = budgetConfig.webhook_url;
  const budgets = new Budgets({
    gateway: budgetConfig,
    timeZone: budgetConfig.timezone,
    clock,
    events,
    spendSince: (since) => opts.usage.spendSince(since),
    log: opts.log ?? ((line) => process.stderr.write(`aigw: ${line}\n`)),
    notify: webhook
      ? (warning) => {
          fetch(webhook, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ type: "budget_warning", ...warning }),
            signal: AbortSignal.timeout(5000),
          }).catch(() => {});
        }
      : undefined,
  });
  const { retry } = opts.config;
  const cache =
    opts.config.cache.enabled && opts.responseCache
      ? new CachePolicy(
          hot?.responseCache(opts.responseCache) ?? opts.responseCache,
          opts.config.cache,
          clock,
        )
      : null;
  const stored = opts.storedResponses ?? null;
  const housekeeping = startHousekeeping({
    sweepCache: cache ? () => cache.sweep() : null,
    flushHits: cache ? () => cache.flushHits() : null,
    stored,
    clock,
    timers,
  });
  const metrics = new Metrics({
    limiters: () => limiters.status(),
    keys: () => keys.status(),
    circuits: () => breaker.status(),
    budgets: () => budgets.status(),
    ...(hot ? { shared: () => ({ state: hot.status(), instances: hot.instances() }) } : {}),
  });
  const order = new TargetOrder();
  const pipeline = new Pipeline({
    metrics,
    cache,
    clients,
    limiters,
    clientLimits,
    retry: { maxAttempts: retry.max_attempts, backoffMs: retry.backoff, maxBackoffMs: retry.max_backoff },
    budgets,
    price: (rec) => {
      let provider = rec.provider ? providers.get(rec.provider) : undefined;
      let model = rec.upstream_model;
      if (!provider || !model) return null;
      // In demo a stand-in answer costs what the model it imitates would, marked simulated, unless
      // `pricing:` names it.
      const imitated = opts.demo && !pricing.configured(provider, model) ? provider.imitates?.(model) : null;
      const real = imitated ? claimBareModel(providers, imitated) : null;
      if (imitated && real) {
        provider = real;
        model = imitated;
        rec.simulated = true;
      }
      return pricing.cost(provider, model, {
        input: rec.input_tokens,
        cachedInput: rec.cached_input_tokens,
        cacheWrite: rec.cache_write_tokens,
        output: rec.output_tokens,
      });
    },
    pricesLoading: () => pricing.loadingNow(),
    breaker,
    order,
    router,
    keys,
    usage: opts.usage,
    events,
    clock,
    timers,
    maxWaitMs: opts.config.queue.max_wait,
  });
  if (hot) {
    hot.attach({ router, clients, clientLimits, limiters, budgets, keys, breaker, cache, events });
    // One round trip to the shared state before each request; the pipeline never learns of it.
    const handle = pipeline.handle.bind(pipeline);
    pipeline.handle = (req) => hot.around(req, () => handle(req));
  }
  return {
    config: opts.config,
    shared: () => hot?.status() ?? null,
    providers,
    forwardHeaders: [...new Set([...providers.values()].flatMap((p) => p.dialect?.forward ?? []))],
    router,
    models,
    pipeline,
    breaker,
    order,
    budgets,
    limiters,
    clientLimits,
    metrics,
    events,
    keys,
    clients,
    usage: opts.usage,
    storedResponses: stored,
    clock,
    startedAt: clock.now(),
    reload() {
      // Clients first: a key store the master key cannot open must not keep revoked clients alive.
      clients.reload();
      keys.reload();
      // A key just added can make a priced provider usable.
      if (warmedUp && priced()) void pricing.load();
    },
    async warmUp() {
      warmedUp = true;
      budgets.load();
      if (opts.discoverModels !== false) void models.start();
      // One after the other: each module's compile is one stall of the event loop; started together,
      // both could land in one turn of it.
      const modules = priced()
        ? pricing
            .load(preloadHttp())
            .then(() =>
              pricing.warm(
                [...providers.values()].filter((p) => !p.free).map((p) => p.priceCatalogue ?? p.name),
              ),
            )
        : preloadHttp();
      await Promise.all([modules, limiters.warmUp()]);
    },
    async close() {
      housekeeping.stop();
      models.stop();
      await hot?.close();
      await Promise.all([...providers.values()].map((p) => p.close()));
      // The last rows queued before the server stopped, before the database closes.
      opts.usage.flush();
    },
  };
}
