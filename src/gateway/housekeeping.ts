import type { StoredResponses } from "../store/stored-responses.js";
import type { Clock, Timers } from "./limits/index.js";

/** Rows one bite deletes: small enough that a bite never holds the database for long. */
export const SWEEP_BITE = 500;

/**
 * Deletes expired cache entries and stored responses (past `responses.retention`) off the request
 * path: one bounded bite of each every `everyMs`, and the next bite soon after while one comes back
 * full, so a backlog drains without a long write.
 */
export function startHousekeeping(opts: {
  /** Deletes up to SWEEP_BITE expired cache entries; returns how many. */
  sweepCache: (() => number) | null;
  stored: StoredResponses | null;
  /** Writes the cache hits kept in memory; run every `flushEveryMs` and once more at stop. */
  flushHits?: (() => void) | null;
  flushEveryMs?: number;
  clock: Clock;
  timers: Timers;
  everyMs?: number;
}): { stop(): void } {
  const { sweepCache, stored, clock, timers } = opts;
  const everyMs = opts.everyMs ?? 60_000;
  let handle: unknown = null;
  let stopped = false;
  const tick = () => {
    let full = false;
    try {
      full = (sweepCache?.() ?? 0) >= SWEEP_BITE;
      full = (stored?.sweep(clock.now(), SWEEP_BITE) ?? 0) >= SWEEP_BITE || full;
    } catch {
      full = false; // a busy or closing database: the next round tries again
    }
    if (!stopped) handle = timers.setTimeout(tick, full ? 1000 : everyMs);
  };
  if (sweepCache || stored) handle = timers.setTimeout(tick, everyMs);
  const { flushHits } = opts;
  let flushHandle: unknown = null;
  const flush = () => {
    try {
      flushHits?.();
    } catch {
      // a busy database: the hits stay pending for the next round
    }
    if (!stopped) flushHandle = timers.setTimeout(flush, opts.flushEveryMs ?? 1000);
  };
  if (flushHits) flushHandle = timers.setTimeout(flush, opts.flushEveryMs ?? 1000);
  return {
    stop() {
      stopped = true;
      if (handle !== null) timers.clearTimeout(handle);
      if (flushHandle !== null) timers.clearTimeout(flushHandle);
      if (flushHits) flush();
    },
  };
}
