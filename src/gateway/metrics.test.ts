import { describe, expect, it } from "vitest";
import type { UsageRecord } from "../store/usage-log.js";
import { Metrics } from "./metrics.js";

const sources = {
  limiters: () => [{ provider: "openai", key_id: null, queueDepth: 2, inFlight: 1 }],
  keys: () => [{ id: "env:OPENAI_API_KEY", provider: "openai", state: "ok" }],
  circuits: () => ({ anthropic: { state: "open" } }),
  budgets: () => ({ spent: { "day:client:ci": 1.5 } }),
};

const row = (over: Partial<UsageRecord>): UsageRecord =>
  ({
    route: "chat",
    provider: "openai",
    upstream_model: "gpt-4o-mini",
    requested_model: "gpt-4o-mini",
    status: 200,
    cache: "MISS",
    input_tokens: 10,
    cached_input_tokens: 0,
    output_tokens: 5,
    cost_usd: 0.25,
    saved_usd: null,
    latency_ms: 30,
    ...over,
  }) as UsageRecord;

describe("Metrics", () => {
  it("writes counters, a cumulative histogram and scrape-time gauges in the Prometheus text format", async () => {
    const m = new Metrics(sources);
    m.observe(row({}));
    m.observe(
      row({ latency_ms: 300, cache: "HIT", saved_usd: 0.5, model: undefined } as Partial<UsageRecord>),
    );
    m.observe(row({ upstream_model: 'we"ird\\', status: 502, output_tokens: 0, cost_usd: null }));
    const { contentType, body } = await m.render();
    expect(contentType).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(body).toContain("# TYPE aigw_requests_total counter\n");
    expect(body).toContain(
      'aigw_requests_total{route="chat",provider="openai",model="gpt-4o-mini",status="200",cache="MISS"} 1\n',
    );
    expect(body).toContain('model="we\\"ird\\\\",status="502"');
    expect(body).toContain('aigw_tokens_total{provider="openai",model="gpt-4o-mini",kind="output"} 10\n');
    expect(body).toContain('aigw_cost_usd_total{provider="openai",model="gpt-4o-mini"} 0.5\n');
    expect(body).toContain("aigw_cache_saved_usd_total 0.5\n");
    // 0.03 s and 0.03 s fall in le=0.1, 0.3 s in le=0.5; buckets are cumulative.
    expect(body).toContain(
      'aigw_request_duration_seconds_bucket{route="chat",provider="openai",le="0.025"} 0\n',
    );
    expect(body).toContain(
      'aigw_request_duration_seconds_bucket{route="chat",provider="openai",le="0.1"} 2\n',
    );
    expect(body).toContain(
      'aigw_request_duration_seconds_bucket{route="chat",provider="openai",le="0.5"} 3\n',
    );
    expect(body).toContain(
      'aigw_request_duration_seconds_bucket{route="chat",provider="openai",le="+Inf"} 3\n',
    );
    expect(body).toContain('aigw_request_duration_seconds_count{route="chat",provider="openai"} 3\n');
    expect(body).toContain('aigw_queue_depth{provider="openai",key=""} 2\n');
    expect(body).toContain('aigw_key_up{provider="openai",key="env:OPENAI_API_KEY",state="ok"} 1\n');
    expect(body).toContain('aigw_circuit_open{provider="anthropic"} 1\n');
    expect(body).toContain('aigw_budget_spent_usd{span="day",scope="client:ci"} 1.5\n');
  });

  it("shows an unlabelled counter as 0 before anything happened", async () => {
    const { body } = await new Metrics(sources).render();
    expect(body).toContain("aigw_cache_saved_usd_total 0\n");
    expect(body).not.toContain("aigw_requests_total{");
  });
});
