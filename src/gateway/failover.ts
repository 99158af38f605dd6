import { GatewayError } from "../errors.js";
import type { UpstreamResponse } from "../providers/types.js";
import type { CircuitBreaker } from "./breaker.js";
import { type Attempt, type CallDeps, callTarget, type Fault } from "./call-target.js";
import { upstreamMessage } from "./error-shape.js";
import type { RequestLedger } from "./ledger.js";
import type { Clock, Timers } from "./limits/index.js";
import { pause } from "./pause.js";
import type { GatewayRequest } from "./pipeline.js";
import { finalUpstreamError, type Leg } from "./request.js";
import { readAll } from "./respond.js";
import type { Target } from "./router.js";

export type { Fault } from "./call-target.js";

/** How a request's search for an answer ended: an upstream response to deliver, or whose fault it failed. */
export type Outcome =
  | { ok: true; leg: Leg; upstream: UpstreamResponse }
  | { ok: false; fault: Fault; error: GatewayError };

export interface FailoverDeps extends CallDeps {
  breaker: CircuitBreaker;
  retry: { maxAttempts: number; backoffMs: number; maxBackoffMs: number };
  clock: Clock;
  timers: Timers;
}

/** Upstream statuses worth handing to the next target; any other 4xx is the request's own fault. */
const RETRYABLE = new Set([408, 409, 429, 500, 502, 503, 504, 529]);

/** What went wrong with one target, said once however many tries it took. */
interface TargetFailure {
  target: Target;
  tries: number;
  last: Exclude<Attempt, { ok: true }>;
}

/**
 * Tries a request's legs in order. Only the upstream's own failures (unreachable, timed out,
 * 5xx/529) are retried with backoff and count against its circuit; a 4xx the request caused or a bug
 * of ours ends the search at once; capacity (keys cooling, queues full) hands over to the next leg.
 * When every leg left has an open circuit, the one opened longest ago is tried anyway (panic mode).
 */
export class Failover {
  constructor(private readonly deps: FailoverDeps) {}

  async run(req: GatewayRequest, ledger: RequestLedger, legs: Leg[], deadline: number): Promise<Outcome> {
    const failures: TargetFailure[] = [];
    const skipped: Leg[] = [];
    for (const [index, leg] of legs.entries()) {
      if (req.signal.aborted) break;
      if (!this.deps.breaker.allow(circuitOf(leg.target))) {
        skipped.push(leg);
        continue;
      }
      const isLast = index === legs.length - 1;
      const result = await this.tryLeg(req, ledger, leg, {
        deadline,
        isLast,
        attempts: this.deps.retry.maxAttempts,
      });
      if ("outcome" in result) return result.outcome;
      failures.push(result.failure);
    }
    const panic = this.deps.breaker.longestOpen(skipped.map((l) => circuitOf(l.target)));
    const leg = skipped.find((l) => circuitOf(l.target) === panic);
    if (leg && !req.signal.aborted) {
      this.deps.breaker.force(circuitOf(leg.target));
      const result = await this.tryLeg(req, ledger, leg, { deadline, isLast: true, attempts: 1 });
      if ("outcome" in result) return result.outcome;
      failures.push(result.failure);
    }
    // A client that left while backing off ends the search: its row says so, no circuit moved.
    if (req.signal.aborted) {
      const error = new GatewayError(499, "api_error", "client closed the request");
      return { ok: false, fault: "aborted", error };
    }
    return summarize(failures);
  }

  /** One leg with its retries; its circuit was allowed (or forced) by the caller. */
  private async tryLeg(
    req: GatewayRequest,
    ledger: RequestLedger,
    leg: Leg,
    opts: { deadline: number; isLast: boolean; attempts: number },
  ): Promise<{ outcome: Outcome } | { failure: TargetFailure }> {
    const { breaker } = this.deps;
    const circuit = circuitOf(leg.target);
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(req, ledger, leg, opts);
      if (result.ok) {
        breaker.success(circuit);
        return { outcome: { ok: true, leg, upstream: result.upstream } };
      }
      const { fault, status } = result;
      if (fault === "upstream_transport" || (fault === "upstream_status" && status >= 500))
        breaker.failure(circuit);
      else breaker.release(circuit);
      const failure: TargetFailure = { target: leg.target, tries: attempt, last: result };
      if (fault === "aborted" || fault === "client" || fault === "gateway")
        return { outcome: { ok: false, fault, error: messageOf(failure) } };
      // Capacity and a 429 go to the next leg at once; only the upstream's own failures are retried,
      // while its circuit (which they may have just opened) still lets them.
      if (fault === "capacity" || (fault === "upstream_status" && status === 429)) return { failure };
      if (attempt >= opts.attempts || !(await this.backoff(req, attempt, opts.deadline))) return { failure };
      if (!breaker.allow(circuit)) return { failure };
    }
  }

  /** One call (with key rotation); a retryable upstream status is read and turned into a failure. */
  private async attempt(
    req: GatewayRequest,
    ledger: RequestLedger,
    leg: Leg,
    opts: { deadline: number; isLast: boolean },
  ): Promise<Attempt> {
    ledger.busyWith(leg.target);
    const result = await callTarget(this.deps, req, ledger, leg, opts);
    if (result.ok && !(result.upstream.status >= 400 && RETRYABLE.has(result.upstream.status))) return result;
    ledger.idle();
    ledger.release(0);
    if (!result.ok) return result;
    const { upstream } = result;
    const detail = upstreamMessage(await readAll(upstream.body).catch(() => new Uint8Array())) ?? "no detail";
    const error = finalUpstreamError(upstream, leg.target, detail, this.deps.clock.now());
    return { ok: false, fault: "upstream_status", status: upstream.status, error };
  }

  /** Sleeps before another attempt (exponential, full jitter); false when no attempt or time is left. */
  private async backoff(req: GatewayRequest, attempt: number, deadline: number): Promise<boolean> {
    const { backoffMs, maxBackoffMs } = this.deps.retry;
    const wait = Math.random() * Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
    if (this.deps.clock.now() + wait > deadline) return false;
    await pause(this.deps.timers, wait, req.signal).catch(() => {});
    return !req.signal.aborted;
  }
}

/** The circuit a failure counts against: the provider's, or the model's where failures are per model. */
function circuitOf(target: Target): string {
  return target.provider.circuitPerModel ? target.label : target.provider.name;
}

/** One target's failure, said once: what happened and after how many tries. */
function messageOf(f: TargetFailure): GatewayError {
  const { error } = f.last;
  if (f.tries < 2) return error;
  return new GatewayError(error.status, error.type, `${error.message} after ${f.tries} tries`, {
    code: error.code,
    headers: error.headers,
  });
}

function summarize(failures: TargetFailure[]): Outcome {
  const last = failures.at(-1);
  if (!last) {
    const error = new GatewayError(502, "upstream_error", "no target could be tried");
    return { ok: false, fault: "capacity", error };
  }
  const final = messageOf(last);
  const message = failures.length > 1 ? failures.map((f) => messageOf(f).message).join("; ") : final.message;
  const error = new GatewayError(final.status, final.type, message, {
    code: final.code,
    headers: final.headers,
  });
  return { ok: false, fault: last.last.fault, error };
}
