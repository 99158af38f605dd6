import { describe, expect, it } from "vitest";
import { ManualClock } from "./manual-clock.js";
import { TokenBucket } from "./token-bucket.js";

/** A per-minute limit as the client limiter uses it: burst = limit, sustained = limit / 60 000 per ms. */
const perMinute = (limit: number, clock = new ManualClock(1_000_000)) => ({
  clock,
  bucket: new TokenBucket({ capacity: limit, refillPerMs: limit / 60_000 }, clock),
});

describe("TokenBucket", () => {
  it.each([
    { limit: 60, burst: 60, next: { ok: false, retryAfterMs: 1000 } },
    { limit: 10, burst: 10, next: { ok: false, retryAfterMs: 6000 } },
    { limit: 600, burst: 600, next: { ok: false, retryAfterMs: 100 } },
  ])("allows a burst of $limit at once, then one per 60 000 / $limit ms", ({ limit, burst, next }) => {
    const { bucket } = perMinute(limit);
    for (let i = 0; i < burst; i++) expect(bucket.tryTake(1)).toEqual({ ok: true });
    expect(bucket.tryTake(1)).toEqual(next);
  });

  it("refills at the sustained rate, never past capacity", () => {
    const { clock, bucket } = perMinute(60);
    expect(bucket.tryTake(60).ok).toBe(true);
    clock.advance(999);
    expect(bucket.tryTake(1)).toEqual({ ok: false, retryAfterMs: 1 });
    clock.advance(1);
    expect(bucket.tryTake(1)).toEqual({ ok: true });
    clock.advance(10 * 60_000);
    expect(bucket.level()).toBe(60);
  });

  it.each([
    { n: 1, level: 0, wait: 1000 },
    { n: 30, level: 0, wait: 30_000 },
    { n: 30, level: 20, wait: 10_000 },
    { n: 20, level: 20, wait: 0 },
    // Larger than the whole bucket: waits for a full bucket, not forever.
    { n: 500, level: 0, wait: 60_000 },
  ])("msUntil($n) at level $level is $wait", ({ n, level, wait }) => {
    const { bucket } = perMinute(60);
    bucket.take(60 - level);
    expect(bucket.msUntil(n)).toBe(wait);
    expect(bucket.tryTake(n).ok).toBe(wait === 0);
  });

  it("a waited-out retryAfterMs is always enough, despite fractional rates", () => {
    const { clock, bucket } = perMinute(7);
    bucket.take(7);
    for (let i = 0; i < 20; i++) {
      const r = bucket.tryTake(1);
      expect(r.ok).toBe(false);
      if (!r.ok) clock.advance(r.retryAfterMs);
      expect(bucket.tryTake(1)).toEqual({ ok: true });
    }
  });

  it("take() forces into debt and give() refunds, capped at capacity", () => {
    const { clock, bucket } = perMinute(100);
    bucket.take(150);
    expect(bucket.level()).toBe(-50);
    expect(bucket.msUntil(10)).toBe(36_000);
    bucket.give(80);
    expect(bucket.level()).toBe(30);
    bucket.give(1000);
    expect(bucket.level()).toBe(100);
    clock.advance(60_000);
    expect(bucket.level()).toBe(100);
  });

  it("a request bigger than capacity goes from a full bucket and leaves it in debt", () => {
    const { clock, bucket } = perMinute(100);
    expect(bucket.tryTake(250)).toEqual({ ok: true });
    expect(bucket.level()).toBe(-150);
    expect(bucket.tryTake(1)).toEqual({ ok: false, retryAfterMs: 90_600 });
    clock.advance(90_600);
    expect(bucket.tryTake(1)).toEqual({ ok: true });
  });

  it("a clock stepping back neither refills nor drains", () => {
    let now = 10_000;
    const bucket = new TokenBucket({ capacity: 10, refillPerMs: 0.01 }, { now: () => now });
    bucket.take(5);
    now = 5_000;
    expect(bucket.level()).toBe(5);
    now = 5_100;
    expect(bucket.level()).toBe(6);
  });

  it.each([
    { capacity: 0, refillPerMs: 1 },
    { capacity: 10, refillPerMs: 0 },
    { capacity: Number.NaN, refillPerMs: 1 },
  ])("rejects capacity $capacity / refill $refillPerMs", (opts) => {
    expect(() => new TokenBucket(opts, new ManualClock())).toThrow(RangeError);
  });
});
