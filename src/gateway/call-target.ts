import { performance } from "node:perf_hooks";
import { GatewayError } from "../errors.js";
import { hostOf, isTransportError, upstreamFailure } from "../providers/http.js";
import type { UpstreamResponse } from "../providers/types.js";
import { toGatewayError, upstreamMessage } from "./error-shape.js";
import type { KeyPool } from "./key-pool.js";
import type { RequestLedger } from "./ledger.js";
import type { Limiters } from "./limiters.js";
import { type Clock, QueueError, QueueFullError, type Timers } from "./limits/index.js";
import { pause } from "./pause.js";
import type { GatewayRequest } from "./pipeline.js";
import { type Leg, upstreamRetryAfterMs } from "./request.js";
import { readAll } from "./respond.js";

/**
 * Whose fault a failed attempt was. Only `upstream_transport` and a 5xx `upstream_status` count
 * against a circuit; `gateway` is a bug of ours (never the upstream's), `client` the request's own.
 */
export type Fault = "upstream_transport" | "upstream_status" | "gateway" | "client" | "capacity" | "aborted";

export type Attempt =
  | { ok: true; upstream: UpstreamResponse }
  | { ok: false; fault: Fault; status: number; error: GatewayError };

export interface CallDeps {
  keys: KeyPool;
  limiters: Limiters;
  clock: Clock;
  timers: Timers;
}

/** Upstream calls one target may make while rotating keys, so a flapping upstream cannot loop forever. */
const MAX_KEY_TRIES = 10;

const fail = (fault: Fault, error: GatewayError): Attempt => ({
  ok: false,
  fault,
  status: error.status,
  error,
});

const aborted = () => fail("aborted", new GatewayError(499, "api_error", "client closed the request"));

/**
 * Calls one target, rotating across its keys: a 429 cools the key and the request moves to the next
 * healthy one at once; a 401 retires the key. When every key is cooling, the last target waits for
 * the first to come back if that is before the deadline; other targets hand over to the next. Each
 * call first waits its turn in the provider's and key's limiters. Never throws: a failure says whose.
 */
export async function callTarget(
  deps: CallDeps,
  req: GatewayRequest,
  ledger: RequestLedger,
  leg: Leg,
  opts: { deadline: number; isLast: boolean },
): Promise<Attempt> {
  const { rec } = ledger;
  const { target, bridge } = leg;
  const { provider } = target;
  let body: Record<string, unknown>;
  try {
    body = bodyFor(req, leg);
  } catch (err) {
    const error = toGatewayError(err);
    return fail(error.status < 500 ? "client" : "gateway", error);
  }
  const { keys, limiters, clock } = deps;
  for (let tries = 0; ; tries++) {
    if (req.signal.aborted) return aborted();
    const got = keys.acquire(provider);
    if ("waitUntil" in got) {
      const now = clock.now();
      const retryAfter = String(Math.max(1, Math.ceil((got.waitUntil - now) / 1000)));
      const headers = { "retry-after": retryAfter };
      const cooling = `every key of ${provider.name} is cooling down after 429s`;
      if (!opts.isLast)
        return fail("capacity", new GatewayError(429, "rate_limit_exceeded", cooling, { headers }));
      if (got.waitUntil > opts.deadline || tries >= MAX_KEY_TRIES) {
        const message = `${cooling}; the first is back in ${retryAfter}s, past queue.max_wait`;
        return fail("capacity", new GatewayError(429, "queue_timeout", message, { headers }));
      }
      const waited = performance.now();
      if (
        !(await pause(deps.timers, got.waitUntil - now, req.signal).then(
          () => true,
          () => false,
        ))
      )
        return aborted();
      rec.queue_wait_ms = (rec.queue_wait_ms ?? 0) + (performance.now() - waited);
      continue;
    }
    const { lease } = got;
    const queued = await waitForLimiters(deps, req, ledger, provider.name, lease.id, body, opts.deadline);
    if (queued) return queued;
    rec.attempts++;
    rec.provider = provider.name;
    rec.upstream_model = target.model;
    rec.key_id = lease.id;
    let upstream: UpstreamResponse;
    try {
      upstream = await provider.send({
        route: bridge ? (leg.upstreamFormat === "anthropic" ? "messages" : "chat") : req.route,
        body,
        stream: body.stream === true,
        key: lease.secret,
        // Headers and query that steer an upstream only make sense in the client's own format.
        headers: bridge ? {} : req.headers,
        query: bridge ? "" : req.query,
        signal: req.signal,
      });
    } catch (err) {
      if (req.signal.aborted) return aborted();
      // Only a network failure is the upstream's; anything else thrown here is a bug of ours.
      if (!isTransportError(err)) return fail("gateway", toGatewayError(err));
      const host = hostOf(provider.baseUrl);
      return fail("upstream_transport", upstreamFailure(err, target.label, host));
    }
    const resetMs = () => upstreamRetryAfterMs(provider, upstream.headers, clock.now());
    limiters.learn(provider.name, lease.id, provider.dialect?.remaining(upstream.headers) ?? null, resetMs);
    const rotatable = lease.id !== null && tries < MAX_KEY_TRIES;
    if (rotatable && upstream.status === 429) {
      ledger.release(0);
      await readAll(upstream.body).catch(() => undefined);
      keys.rateLimited(lease, resetMs());
      continue;
    }
    // 401 is the key; a 403 is usually about the request (moderation, region, a model the account
    // lacks) and passes through without retiring a good key.
    if (rotatable && upstream.status === 401) {
      ledger.release(0);
      const detail =
        upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "rejected";
      keys.rejected(lease, upstream.status, detail);
      continue;
    }
    if (upstream.status < 400) keys.succeeded(lease);
    return { ok: true, upstream };
  }
}

/** The body in the target's format: its params merged, its model set, usage asked for on streams. */
function bodyFor(req: GatewayRequest, leg: Leg): Record<string, unknown> {
  const { target, bridge } = leg;
  const merged = target.params ? { ...req.body, ...target.params } : req.body;
  if (bridge) return bridge.request(merged, target.model);
  const body: Record<string, unknown> = { ...merged, model: target.model };
  if (leg.upstreamFormat === "openai" && body.stream === true) {
    // Ask for usage on the client's behalf; the extra chunk is stripped if it did not ask.
    body.stream_options = { ...(body.stream_options as object | undefined), include_usage: true };
  }
  return body;
}

/** Waits in the provider's and key's queues (FIFO, up to the deadline); a failure past it. */
async function waitForLimiters(
  deps: CallDeps,
  req: GatewayRequest,
  ledger: RequestLedger,
  provider: string,
  keyId: string | null,
  body: Record<string, unknown>,
  deadline: number,
): Promise<Attempt | null> {
  const { limiters } = deps;
  const tokens = limiters.needsTokens(provider, keyId) ? limiters.estimate(body) : 0;
  try {
    const permits = await limiters.acquire(provider, keyId, { tokens, deadline, signal: req.signal });
    ledger.hold(permits);
    const waited = permits.reduce((ms, p) => Math.max(ms, p.waitedMs), 0);
    if (waited > 0) ledger.rec.queue_wait_ms = (ledger.rec.queue_wait_ms ?? 0) + waited;
    return null;
  } catch (err) {
    if (req.signal.aborted) return aborted();
    if (!(err instanceof QueueError)) return fail("gateway", toGatewayError(err));
    const retryAfter = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)));
    const error = new GatewayError(429, "queue_timeout", `${provider}: ${err.message}`, {
      code: err instanceof QueueFullError ? "queue_full" : "queue_timeout",
      headers: { "retry-after": retryAfter },
    });
    return fail("capacity", error);
  }
}
