import type { UsageRecord } from "../src/store/usage-log.js";

/** A finished 200 usage row with plain defaults, for tests that write the log directly. */
export function usageRecord(
  over: Partial<UsageRecord> & Pick<UsageRecord, "id" | "started_at">,
): UsageRecord {
  return {
    client: null,
    route: "chat",
    requested_model: "m",
    provider: "p",
    upstream_model: "m",
    key_id: null,
    status: 200,
    error_type: null,
    stream: false,
    cache: "MISS",
    attempts: 1,
    fallback_from: null,
    queue_wait_ms: null,
    ttfb_ms: null,
    latency_ms: 100,
    input_tokens: 10,
    cached_input_tokens: 0,
    cache_write_tokens: 0,
    output_tokens: 5,
    cost_usd: 0.01,
    saved_usd: null,
    tags: null,
    aborted: false,
    coalesced: false,
    ...over,
  };
}
