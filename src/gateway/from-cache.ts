import { performance } from "node:perf_hooks";
import { GatewayError } from "../errors.js";
import { routeFormat } from "../providers/types.js";
import type { CacheEntry } from "../store/response-cache.js";
import type { CachePolicy } from "./cache.js";
import type { RequestLedger } from "./ledger.js";
import type { Clock, Timers } from "./limits/index.js";
import { pause } from "./pause.js";
import type { GatewayRequest } from "./pipeline.js";
import type { GatewayResponse } from "./respond.js";
import type { Plan } from "./router.js";

export interface CacheStepDeps {
  cache: CachePolicy | null;
  clock: Clock;
  timers: Timers;
  maxWaitMs: number;
}

/**
 * Answers from the cache when it can: a stored answer, or the one an identical request in flight is
 * about to store (single-flight). Otherwise makes this request the one that will store it, and
 * returns the deadline its wait for upstream starts from (afresh after waiting on a failed leader).
 */
export async function fromCache(
  deps: CacheStepDeps,
  req: GatewayRequest,
  ledger: RequestLedger,
  plan: Plan,
  deadline: number,
): Promise<{ hit: GatewayResponse } | { deadline: number }> {
  const { cache, clock } = deps;
  const { rec } = ledger;
  const ticket =
    cache?.ticket({
      route: req.route,
      format: routeFormat[req.route],
      body: req.body,
      plan,
      client: req.client,
      hints: req.cacheHints,
      headers: req.query ? { ...req.headers, "?": req.query } : req.headers,
    }) ?? null;
  if (!ticket || !cache) {
    // Replay mode never calls upstream, even for what the cache cannot hold.
    if ((req.cacheHints.mode ?? cache?.mode) === "replay") {
      const message = `replay mode: "${plan.requested}" is not cacheable or the cache is off`;
      throw new GatewayError(404, "cache_miss", message, { code: "cache_miss" });
    }
    return { deadline };
  }
  // MISS: the answer comes from upstream and is stored (no-cache and record skip only the lookup).
  rec.cache = ticket.store || ticket.lookup ? "MISS" : "BYPASS";
  const hit = cache.lookup(ticket);
  if (hit) return { hit: replay(deps, req, ledger, hit, false) };
  const leader = cache.follow(ticket, deadline);
  if (leader) {
    const give = new AbortController();
    const onAbort = () => give.abort();
    req.signal.addEventListener("abort", onAbort, { once: true });
    const left = Math.max(0, deadline - clock.now());
    try {
      const timeout = pause(deps.timers, left, give.signal).then(
        () => null,
        () => null,
      );
      const entry = await Promise.race([leader, timeout]);
      if (entry) return { hit: replay(deps, req, ledger, entry, true) };
    } finally {
      give.abort(); // the losing timer goes
      req.signal.removeEventListener("abort", onAbort);
    }
    if (req.signal.aborted) throw new GatewayError(499, "api_error", "client closed the request");
    // The leader failed: this request starts its own wait for upstream afresh.
    deadline = clock.now() + deps.maxWaitMs;
  }
  if (ticket.replayOnly) throw cache.missError(ticket);
  ledger.lead(ticket, ticket.store ? cache.lead(ticket) : null);
  return { deadline };
}

function replay(
  deps: CacheStepDeps,
  req: GatewayRequest,
  ledger: RequestLedger,
  entry: CacheEntry,
  coalesced: boolean,
): GatewayResponse {
  const { rec } = ledger;
  const slash = entry.model.indexOf("/");
  rec.cache = "HIT";
  rec.coalesced = coalesced;
  rec.provider = entry.model.slice(0, slash);
  rec.upstream_model = entry.model.slice(slash + 1);
  rec.input_tokens = entry.usage.input;
  rec.cached_input_tokens = entry.usage.cachedInput;
  rec.cache_write_tokens = entry.usage.cacheWrite;
  rec.output_tokens = entry.usage.output;
  rec.cost_usd = 0;
  rec.saved_usd = entry.cost_usd;
  const stream = req.body.stream === true;
  const includeUsage =
    (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  const answer = deps.cache!.replay(entry, { stream, includeUsage });
  const headers: Record<string, string> = {
    "content-type": "json" in answer ? "application/json" : "text/event-stream",
    "x-aigw-provider": entry.model,
    "x-aigw-cache": "HIT",
    age: String(Math.max(0, Math.floor((deps.clock.now() - entry.created_at) / 1000))),
  };
  rec.ttfb_ms = performance.now() - ledger.t0;
  ledger.end(200, null);
  if ("json" in answer) return { status: 200, headers, body: answer.json, stream: null };
  const bytes = Buffer.from(answer.frames.join(""));
  return {
    status: 200,
    headers,
    body: null,
    stream: (async function* () {
      yield bytes;
    })(),
  };
}
