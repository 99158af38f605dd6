import type { UsageRecord } from "../store/usage-log.js";

type Prom = typeof import("prom-client");

/** What the gauges read at scrape time. */
export interface MetricsSources {
  limiters: () => { provider: string; key_id: string | null; queueDepth: number; inFlight: number }[];
  keys: () => { id: string; provider: string; state: string }[];
  circuits: () => Record<string, { state: string }>;
  budgets: () => { spent: Record<string, number> };
}

/**
 * Prometheus metrics for `/aigw/metrics`, fed by finished requests (their usage rows) and read from
 * the limiters, keys, circuits and budgets at scrape time. prom-client (about 100 ms to load) is
 * loaded after the gateway listens; rows finished before that are kept and counted then.
 */
export class Metrics {
  private record: ((rec: UsageRecord) => void) | null = null;
  private registry: import("prom-client").Registry | null = null;
  private early: UsageRecord[] = [];

  constructor(private readonly sources: MetricsSources) {}

  observe(rec: UsageRecord): void {
    if (this.record) this.record(rec);
    else if (this.early.length < 50_000) this.early.push(rec);
  }

  async load(): Promise<void> {
    if (this.registry) return;
    const mod = await import("prom-client");
    const prom = ((mod as { default?: Prom }).default ?? mod) as Prom;
    const registers = [new prom.Registry()];
    const requests = new prom.Counter({
      name: "aigw_requests_total",
      help: "Client requests by route, provider, model, status and cache result",
      labelNames: ["route", "provider", "model", "status", "cache"],
      registers,
    });
    const tokens = new prom.Counter({
      name: "aigw_tokens_total",
      help: "Tokens by provider, model and kind (input, cached_input, output)",
      labelNames: ["provider", "model", "kind"],
      registers,
    });
    const cost = new prom.Counter({
      name: "aigw_cost_usd_total",
      help: "Spend in USD",
      labelNames: ["provider", "model"],
      registers,
    });
    const saved = new prom.Counter({
      name: "aigw_cache_saved_usd_total",
      help: "USD saved by cache hits",
      registers,
    });
    const duration = new prom.Histogram({
      name: "aigw_request_duration_seconds",
      help: "Request latency as the client saw it",
      labelNames: ["route", "provider"],
      buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    const { sources } = this;
    new prom.Gauge({
      name: "aigw_queue_depth",
      help: "Requests waiting for an upstream limiter",
      labelNames: ["provider", "key"],
      registers,
      collect() {
        this.reset();
        for (const l of sources.limiters())
          this.set({ provider: l.provider, key: l.key_id ?? "" }, l.queueDepth);
      },
    });
    new prom.Gauge({
      name: "aigw_upstream_in_flight",
      help: "Requests in flight through a limited provider or key",
      labelNames: ["provider", "key"],
      registers,
      collect() {
        this.reset();
        for (const l of sources.limiters())
          this.set({ provider: l.provider, key: l.key_id ?? "" }, l.inFlight);
      },
    });
    new prom.Gauge({
      name: "aigw_key_up",
      help: "1 when an upstream key is usable, 0 when cooling or invalid",
      labelNames: ["provider", "key", "state"],
      registers,
      collect() {
        this.reset();
        for (const k of sources.keys())
          this.set({ provider: k.provider, key: k.id, state: k.state }, k.state === "ok" ? 1 : 0);
      },
    });
    new prom.Gauge({
      name: "aigw_circuit_open",
      help: "1 while a provider's circuit is open (skipped)",
      labelNames: ["provider"],
      registers,
      collect() {
        this.reset();
        for (const [provider, c] of Object.entries(sources.circuits()))
          this.set({ provider }, c.state === "open" ? 1 : 0);
      },
    });
    new prom.Gauge({
      name: "aigw_budget_spent_usd",
      help: "Spend in the current day or month, by scope (gateway or client:<name>)",
      labelNames: ["span", "scope"],
      registers,
      collect() {
        this.reset();
        for (const [key, usd] of Object.entries(sources.budgets().spent)) {
          const [span, ...scope] = key.split(":");
          this.set({ span: span ?? "", scope: scope.join(":") }, usd);
        }
      },
    });
    this.record = (rec) => {
      const provider = rec.provider ?? "";
      const model = rec.upstream_model ?? rec.requested_model ?? "";
      requests.inc({ route: rec.route, provider, model, status: String(rec.status), cache: rec.cache });
      if (rec.input_tokens) tokens.inc({ provider, model, kind: "input" }, rec.input_tokens);
      if (rec.cached_input_tokens)
        tokens.inc({ provider, model, kind: "cached_input" }, rec.cached_input_tokens);
      if (rec.output_tokens) tokens.inc({ provider, model, kind: "output" }, rec.output_tokens);
      if (rec.cost_usd) cost.inc({ provider, model }, rec.cost_usd);
      if (rec.saved_usd) saved.inc(rec.saved_usd);
      duration.observe({ route: rec.route, provider }, rec.latency_ms / 1000);
    };
    this.registry = registers[0]!;
    for (const rec of this.early) this.record(rec);
    this.early = [];
  }

  /** The Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    await this.load();
    return { contentType: this.registry!.contentType, body: await this.registry!.metrics() };
  }
}
