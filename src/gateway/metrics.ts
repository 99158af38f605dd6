import type { UsageRecord } from "../store/usage-log.js";

/** What the gauges read at scrape time. */
export interface MetricsSources {
  limiters: () => { provider: string; key_id: string | null; queueDepth: number; inFlight: number }[];
  keys: () => { id: string; provider: string; state: string }[];
  circuits: () => Record<string, { state: string }>;
  budgets: () => { spent: Record<string, number> };
  /** Shared hot state: whether it is reachable and how many instances share it; absent when not shared. */
  shared?: () => { state: "shared" | "degraded"; instances: number };
}

const BUCKETS = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Joins label values into one map key (the separator cannot appear in a header-safe label). */
const SEP = "\u0001";

/** A labelled counter: one sum per distinct label values. */
class Counter {
  readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labels: readonly string[],
  ) {}
  inc(key: string, by = 1): void {
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
}

/** A labelled histogram over BUCKETS (seconds): per label values, per-bucket counts, sum and count. */
class Histogram {
  readonly series = new Map<string, { buckets: Float64Array; sum: number; count: number }>();
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labels: readonly string[],
  ) {}
  observe(key: string, value: number): void {
    let s = this.series.get(key);
    if (!s) {
      s = { buckets: new Float64Array(BUCKETS.length), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    const i = BUCKETS.findIndex((le) => value <= le);
    if (i >= 0) s.buckets[i]!++;
    s.sum += value;
    s.count++;
  }
}

const quoteLabel = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
function labelText(names: readonly string[], key: string, extra = ""): string {
  if (!names.length) return extra ? `{${extra}}` : "";
  const values = key.split(SEP);
  const pairs = names.map((n, i) => `${n}="${quoteLabel(values[i] ?? "")}"`);
  if (extra) pairs.push(extra);
  return `{${pairs.join(",")}}`;
}
const head = (name: string, help: string, type: string) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;

/**
 * Prometheus metrics for `/aigw/metrics`, fed by finished requests (their usage rows) and read from
 * the limiters, keys, circuits and budgets at scrape time. Written here rather than with prom-client:
 * that library costs ~100 ms and several MB to load and a label hash per increment, for text this small.
 */
export class Metrics {
  private readonly requests = new Counter(
    "aigw_requests_total",
    "Client requests by route, provider, model, status and cache result",
    ["route", "provider", "model", "status", "cache"],
  );
  private readonly tokens = new Counter(
    "aigw_tokens_total",
    "Tokens by provider, model and kind (input, cached_input, output)",
    ["provider", "model", "kind"],
  );
  private readonly cost = new Counter("aigw_cost_usd_total", "Spend in USD", ["provider", "model"]);
  private readonly saved = new Counter("aigw_cache_saved_usd_total", "USD saved by cache hits", []);
  private readonly duration = new Histogram(
    "aigw_request_duration_seconds",
    "Request latency as the client saw it",
    ["route", "provider"],
  );

  constructor(private readonly sources: MetricsSources) {}

  observe(rec: UsageRecord): void {
    const provider = rec.provider ?? "";
    const model = rec.upstream_model ?? rec.requested_model ?? "";
    const pm = provider + SEP + model;
    this.requests.inc(rec.route + SEP + pm + SEP + rec.status + SEP + rec.cache);
    if (rec.input_tokens) this.tokens.inc(`${pm}${SEP}input`, rec.input_tokens);
    if (rec.cached_input_tokens) this.tokens.inc(`${pm}${SEP}cached_input`, rec.cached_input_tokens);
    if (rec.output_tokens) this.tokens.inc(`${pm}${SEP}output`, rec.output_tokens);
    if (rec.cost_usd) this.cost.inc(pm, rec.cost_usd);
    if (rec.saved_usd) this.saved.inc("", rec.saved_usd);
    this.duration.observe(rec.route + SEP + provider, rec.latency_ms / 1000);
  }

  /** The Prometheus text exposition (format 0.0.4). */
  async render(): Promise<{ contentType: string; body: string }> {
    let out = "";
    for (const c of [this.requests, this.tokens, this.cost, this.saved]) {
      out += head(c.name, c.help, "counter");
      if (!c.labels.length && !c.values.size) out += `${c.name} 0\n`;
      for (const [key, value] of c.values) out += `${c.name}${labelText(c.labels, key)} ${value}\n`;
      out += "\n";
    }
    const h = this.duration;
    out += head(h.name, h.help, "histogram");
    for (const [key, s] of h.series) {
      let cumulative = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        cumulative += s.buckets[i]!;
        out += `${h.name}_bucket${labelText(h.labels, key, `le="${BUCKETS[i]}"`)} ${cumulative}\n`;
      }
      out += `${h.name}_bucket${labelText(h.labels, key, 'le="+Inf"')} ${s.count}\n`;
      out += `${h.name}_sum${labelText(h.labels, key)} ${s.sum}\n`;
      out += `${h.name}_count${labelText(h.labels, key)} ${s.count}\n`;
    }
    out += "\n";
    const gauge = (
      name: string,
      help: string,
      samples: [labels: Record<string, string>, value: number][],
    ) => {
      out += head(name, help, "gauge");
      for (const [labels, value] of samples) {
        const pairs = Object.entries(labels).map(([k, v]) => `${k}="${quoteLabel(v)}"`);
        out += `${name}${pairs.length ? `{${pairs.join(",")}}` : ""} ${value}\n`;
      }
      out += "\n";
    };
    const { sources } = this;
    const limiters = sources.limiters();
    gauge(
      "aigw_queue_depth",
      "Requests waiting for an upstream limiter",
      limiters.map((l) => [{ provider: l.provider, key: l.key_id ?? "" }, l.queueDepth]),
    );
    gauge(
      "aigw_upstream_in_flight",
      "Requests in flight through a limited provider or key",
      limiters.map((l) => [{ provider: l.provider, key: l.key_id ?? "" }, l.inFlight]),
    );
    gauge(
      "aigw_key_up",
      "1 when an upstream key is usable, 0 when cooling or invalid",
      sources
        .keys()
        .map((k) => [{ provider: k.provider, key: k.id, state: k.state }, k.state === "ok" ? 1 : 0]),
    );
    gauge(
      "aigw_circuit_open",
      "1 while a provider's circuit is open (skipped)",
      Object.entries(sources.circuits()).map(([provider, c]) => [{ provider }, c.state === "open" ? 1 : 0]),
    );
    gauge(
      "aigw_budget_spent_usd",
      "Spend in the current day or month, by scope (gateway or client:<name>)",
      Object.entries(sources.budgets().spent).map(([key, usd]) => {
        const [span, ...scope] = key.split(":");
        return [{ span: span ?? "", scope: scope.join(":") }, usd];
      }),
    );
    const shared = sources.shared?.();
    if (shared) {
      gauge(
        "aigw_shared_degraded",
        "1 while the shared state (Redis) is unreachable and local limits apply",
        [[{}, shared.state === "degraded" ? 1 : 0]],
      );
      gauge("aigw_shared_instances", "Gateways sharing this state when it was last reachable", [
        [{}, shared.instances],
      ]);
    }
    return { contentType: "text/plain; version=0.0.4; charset=utf-8", body: out };
  }
}
