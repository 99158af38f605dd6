import { describe, expect, it } from "vitest";
import { realTimers } from "./clock.js";
import { ManualClock } from "./manual-clock.js";
import {
  type LimiterState,
  type Permit,
  QueueFullError,
  QueueTimeoutError,
  UpstreamLimiter,
  type UpstreamLimits,
} from "./upstream-limiter.js";

const T0 = 1_000_000;

function setup(limits: UpstreamLimits, maxDepth = 1000) {
  const clock = new ManualClock(T0);
  const events: LimiterState[] = [];
  const limiter = new UpstreamLimiter(limits, {
    maxDepth,
    clock,
    timers: clock,
    onChange: (s) => events.push(s),
  });
  return { clock, limiter, events };
}

/** Lets settled promises run their callbacks (no time passes on the ManualClock). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Tracked {
  permit: Permit | null;
  error: unknown;
}

/** Records how an acquire settles; `order` gets `name` when it is granted. */
function track(p: Promise<Permit>, order?: string[], name = ""): Tracked {
  const t: Tracked = { permit: null, error: null };
  p.then(
    (permit) => {
      t.permit = permit;
      order?.push(name);
    },
    (error) => {
      t.error = error;
    },
  );
  return t;
}

const granted = (ts: Tracked[]) => ts.filter((t) => t.permit).length;

describe("UpstreamLimiter request windows", () => {
  it.each([
    {
      limits: { requests: 5, per: 2000 },
      n: 10,
      steps: [
        [0, 5],
        [1999, 5],
        [1, 10],
      ],
    },
    {
      limits: { rpm: 3 },
      n: 7,
      steps: [
        [0, 3],
        [59_999, 3],
        [1, 6],
        [60_000, 7],
      ],
    },
    {
      limits: { requests: 1, per: 500 },
      n: 4,
      steps: [
        [0, 1],
        [500, 2],
        [499, 2],
        [1, 3],
        [500, 4],
      ],
    },
    // Both windows apply: the minute caps the 1-second window.
    {
      limits: { rpm: 4, requests: 3, per: 1000 },
      n: 6,
      steps: [
        [0, 3],
        [1000, 4],
        [1000, 4],
        [58_000, 6],
      ],
    },
  ])("$limits with $n at once: granted counts after each advance", async ({ limits, n, steps }) => {
    const { clock, limiter } = setup(limits);
    const ts = Array.from({ length: n }, () => track(limiter.acquire()));
    for (const [ms, count] of steps) {
      clock.advance(ms!);
      await flush();
      expect(granted(ts)).toBe(count);
    }
    expect(clock.timerCount).toBe(0);
  });
});

describe("UpstreamLimiter concurrency", () => {
  it.each([1, 3])("concurrency %i with 20 acquirers: never more in flight, FIFO", async (limit) => {
    const { limiter } = setup({ concurrency: limit });
    let inFlight = 0;
    let peak = 0;
    const order: number[] = [];
    const done = Array.from({ length: 20 }, (_, i) =>
      limiter.acquire().then(async (permit) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        order.push(i);
        await flush();
        inFlight--;
        permit.release();
      }),
    );
    await Promise.all(done);
    expect(peak).toBe(limit);
    expect(order).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(limiter.status().inFlight).toBe(0);
  });

  it("release is idempotent", async () => {
    const { limiter } = setup({ concurrency: 1 });
    const a = await limiter.acquire();
    const b = track(limiter.acquire());
    const c = track(limiter.acquire());
    a.release();
    a.release();
    await flush();
    expect([!!b.permit, !!c.permit]).toEqual([true, false]);
  });
});

describe("UpstreamLimiter tokens per minute", () => {
  it("strict FIFO: a small request never jumps a waiting big one", async () => {
    const { clock, limiter } = setup({ tpm: 1000 });
    const order: string[] = [];
    track(limiter.acquire({ tokens: 900 }), order, "first");
    const big = track(limiter.acquire({ tokens: 500 }), order, "big");
    const small = track(limiter.acquire({ tokens: 10 }), order, "small");
    await flush();
    expect([!!big.permit, !!small.permit]).toEqual([false, false]); // 100 left would fit `small`
    clock.advance(23_999);
    await flush();
    expect(order).toEqual(["first"]);
    clock.advance(1); // 400 more tokens after 24 s
    await flush();
    expect(order).toEqual(["first", "big"]);
    clock.advance(600); // the bucket is at 0: 10 tokens take 600 ms
    await flush();
    expect(order).toEqual(["first", "big", "small"]);
  });

  it.each([
    { estimate: 500, actual: 200, level: 800 },
    { estimate: 500, actual: 900, level: 100 },
    { estimate: 500, actual: 500, level: 500 },
    { estimate: 500, actual: null, level: 500 },
    { estimate: 100, actual: 1500, level: -500 },
  ])("estimate $estimate corrected by actual $actual → level $level", async ({ estimate, actual, level }) => {
    const { limiter } = setup({ tpm: 1000 });
    const permit = await limiter.acquire({ tokens: estimate });
    expect(limiter.status().tokensLevel).toBe(1000 - estimate);
    permit.release({ actualTokens: actual });
    expect(limiter.status().tokensLevel).toBe(level);
  });

  it("a refund on release lets the waiting head go at once", async () => {
    const { limiter } = setup({ tpm: 1000 });
    const first = await limiter.acquire({ tokens: 1000 });
    const next = track(limiter.acquire({ tokens: 600 }));
    await flush();
    expect(next.permit).toBeNull();
    first.release({ actualTokens: 300 });
    await flush();
    expect(next.permit).not.toBeNull();
  });

  it("tpm debt that a request in flight may refund is no reason to reject early", async () => {
    const { limiter } = setup({ tpm: 1000 });
    const big = await limiter.acquire({ tokens: 1500 }); // from a full bucket: level -500
    const next = track(limiter.acquire({ tokens: 100, deadline: T0 + 5000 }));
    await flush();
    expect(next.error).toBeNull();
    big.release({ actualTokens: 200 });
    await flush();
    expect(next.permit).not.toBeNull();
  });

  it("a request bigger than tpm waits for a full bucket, then goes", async () => {
    const { clock, limiter } = setup({ tpm: 1000 });
    (await limiter.acquire({ tokens: 400 })).release();
    const huge = track(limiter.acquire({ tokens: 5000 }));
    clock.advance(23_999);
    await flush();
    expect(huge.permit).toBeNull();
    clock.advance(1);
    await flush();
    expect(huge.permit?.estimate).toBe(5000);
    expect(limiter.status().tokensLevel).toBe(-4000);
  });
});

describe("UpstreamLimiter deadlines and depth", () => {
  it("rejects at once when the window cannot open before the deadline", async () => {
    const { limiter } = setup({ rpm: 1 });
    await limiter.acquire();
    const err = await limiter.acquire({ deadline: T0 + 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(QueueTimeoutError);
    expect(err.retryAfterMs).toBe(60_000);
  });

  it("times out at the deadline while waiting on concurrency", async () => {
    const { clock, limiter } = setup({ concurrency: 1 });
    await limiter.acquire();
    const waiting = track(limiter.acquire({ deadline: T0 + 5000 }));
    clock.advance(4999);
    await flush();
    expect(waiting.error).toBeNull();
    clock.advance(1);
    await flush();
    expect(waiting.error).toBeInstanceOf(QueueTimeoutError);
    expect((waiting.error as QueueTimeoutError).retryAfterMs).toBe(1000);
    expect(limiter.status().queueDepth).toBe(0);
  });

  it("a deadline exactly at the opening still goes", async () => {
    const { clock, limiter } = setup({ requests: 1, per: 1000 });
    await limiter.acquire();
    const edge = track(limiter.acquire({ deadline: T0 + 1000 }));
    clock.advance(1000);
    await flush();
    expect(edge.permit).not.toBeNull();
  });

  it("a waiter behind the head is rejected as soon as it cannot make its deadline", async () => {
    const { clock, limiter } = setup({ requests: 1, per: 1000 });
    await limiter.acquire();
    const b = track(limiter.acquire());
    const c = track(limiter.acquire({ deadline: T0 + 1500 }));
    clock.advance(1000);
    await flush();
    expect(b.permit).not.toBeNull();
    expect(c.error).toBeInstanceOf(QueueTimeoutError); // next opening is at 2000, past 1500
    expect((c.error as QueueTimeoutError).retryAfterMs).toBe(1000);
  });

  it("rejects at once when even the next opening is past its deadline; retry counts those ahead", async () => {
    const { limiter } = setup({ requests: 1, per: 1000 });
    await limiter.acquire();
    track(limiter.acquire());
    const err = await limiter.acquire({ deadline: T0 + 100 }).catch((e) => e);
    expect(err).toBeInstanceOf(QueueTimeoutError);
    expect(err.retryAfterMs).toBe(2000); // the one ahead goes at 1000, this one at 2000
    expect(limiter.status().queueDepth).toBe(1);
  });

  it("a full queue rejects at once with QueueFullError", async () => {
    const { limiter } = setup({ requests: 1, per: 1000 }, 2);
    await limiter.acquire();
    track(limiter.acquire());
    track(limiter.acquire());
    const err = await limiter.acquire().catch((e) => e);
    expect(err).toBeInstanceOf(QueueFullError);
    expect(err.retryAfterMs).toBe(3000); // two ahead at 1000 and 2000, then this one
    expect(limiter.status().queueDepth).toBe(2);
  });

  it("maxDepth 0 never queues", async () => {
    const { limiter } = setup({ concurrency: 1 }, 0);
    await limiter.acquire();
    await expect(limiter.acquire()).rejects.toBeInstanceOf(QueueFullError);
  });
});

describe("UpstreamLimiter abort", () => {
  it("an aborted waiter leaves at once with the signal's reason; the next proceeds", async () => {
    const { clock, limiter } = setup({ concurrency: 1 });
    const first = await limiter.acquire();
    const ac = new AbortController();
    const b = track(limiter.acquire({ signal: ac.signal, deadline: T0 + 60_000 }));
    const c = track(limiter.acquire());
    ac.abort(new Error("client went away"));
    await flush();
    expect((b.error as Error).message).toBe("client went away");
    expect(limiter.status().queueDepth).toBe(1);
    first.release();
    await flush();
    expect(c.permit).not.toBeNull();
    expect(clock.timerCount).toBe(0); // b's deadline timer is gone
  });

  it("aborting a head blocked on tokens lets a smaller next request go", async () => {
    const { limiter } = setup({ tpm: 1000 });
    await limiter.acquire({ tokens: 900 });
    const ac = new AbortController();
    track(limiter.acquire({ tokens: 500, signal: ac.signal }));
    const small = track(limiter.acquire({ tokens: 50 }));
    await flush();
    expect(small.permit).toBeNull();
    ac.abort();
    await flush();
    expect(small.permit).not.toBeNull();
  });

  it("an already-aborted signal rejects without queueing", async () => {
    const { limiter } = setup({ concurrency: 1 });
    const reason = new Error("gone");
    await expect(limiter.acquire({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });
});

describe("UpstreamLimiter upstream slow-down", () => {
  it("slowDown holds new requests until the given time", async () => {
    const { clock, limiter, events } = setup({ concurrency: 10 });
    limiter.slowDown(T0 + 5000);
    const a = track(limiter.acquire());
    clock.advance(4999);
    await flush();
    expect(a.permit).toBeNull();
    expect(limiter.status().pausedUntil).toBe(T0 + 5000);
    clock.advance(1);
    await flush();
    expect(a.permit?.waitedMs).toBe(5000);
    expect(events).toEqual(["paused", "queued", "drained"]);
    await expect(limiter.acquire()).resolves.toBeDefined();
  });

  it("a pause past the deadline is a QueueTimeoutError at once", async () => {
    const { limiter } = setup({ rpm: 100 });
    limiter.slowDown(T0 + 30_000);
    const err = await limiter.acquire({ deadline: T0 + 10_000 }).catch((e) => e);
    expect(err).toBeInstanceOf(QueueTimeoutError);
    expect(err.retryAfterMs).toBe(30_000);
  });

  it.each([
    { requests: 0, tokens: null, reset: 2000, last: 0, pausedFor: 2000 },
    { requests: 1, tokens: null, reset: 2000, last: 0, pausedFor: 2000 },
    { requests: 2, tokens: null, reset: 2000, last: 0, pausedFor: null },
    { requests: 100, tokens: 300, reset: 4000, last: 500, pausedFor: 4000 },
    { requests: 100, tokens: 5000, reset: 4000, last: 500, pausedFor: null },
    { requests: null, tokens: 0, reset: 700, last: 0, pausedFor: 700 },
    { requests: 0, tokens: null, reset: null, last: 0, pausedFor: 1000 },
    { requests: null, tokens: null, reset: 9000, last: 0, pausedFor: null },
  ])(
    "headers: $requests requests / $tokens tokens left (last estimate $last) → paused for $pausedFor",
    async ({ requests, tokens, reset, last, pausedFor }) => {
      const { limiter } = setup({ tpm: 100_000 });
      (await limiter.acquire({ tokens: last })).release();
      expect(limiter.applyUpstreamHeaders(requests, tokens, reset)).toBe(pausedFor !== null);
      expect(limiter.status().pausedUntil).toBe(pausedFor === null ? null : T0 + pausedFor);
    },
  );
});

describe("UpstreamLimiter status and events", () => {
  it("reports levels, depth and waits", async () => {
    const { clock, limiter, events } = setup({ rpm: 10, tpm: 1000, concurrency: 2 });
    const permits = [await limiter.acquire({ tokens: 100 }), await limiter.acquire({ tokens: 100 })];
    track(limiter.acquire({ tokens: 100 }));
    clock.advance(1500);
    expect(limiter.status()).toEqual({
      limits: { rpm: 10, tpm: 1000, concurrency: 2 },
      inFlight: 2,
      queueDepth: 1,
      queuedTokens: 100,
      oldestWaitMs: 1500,
      windows: [{ limit: 10, perMs: 60_000, used: 2 }],
      tokensLevel: 825,
      tokensUsed: 175,
      pausedUntil: null,
    });
    permits[0]!.release({ actualTokens: 50 });
    await flush();
    expect(limiter.status()).toMatchObject({ inFlight: 2, queueDepth: 0, tokensLevel: 775 });
    expect(events).toEqual(["queued", "drained"]);
    clock.advance(60_000);
    expect(limiter.status().windows[0]!.used).toBe(0);
  });

  it.each([
    { cfg: undefined, unlimited: true },
    { cfg: {}, unlimited: true },
    { cfg: { per: 1000 }, unlimited: true },
    { cfg: { rpm: 10 }, unlimited: false },
    { cfg: { tpm: 10 }, unlimited: false },
    { cfg: { requests: 5, per: 2000 }, unlimited: false },
    { cfg: { concurrency: 1 }, unlimited: false },
  ])("isUnlimited($cfg) is $unlimited", ({ cfg, unlimited }) => {
    expect(UpstreamLimiter.isUnlimited(cfg)).toBe(unlimited);
  });

  it("a throwing onChange never breaks the queue", async () => {
    const clock = new ManualClock(T0);
    const limiter = new UpstreamLimiter(
      { concurrency: 1 },
      {
        maxDepth: 10,
        clock,
        timers: clock,
        onChange: () => {
          throw new Error("boom");
        },
      },
    );
    const a = await limiter.acquire();
    const b = track(limiter.acquire());
    a.release();
    await flush();
    expect(b.permit).not.toBeNull();
  });
});

describe("timers", () => {
  it("realTimers never keep the process alive", () => {
    const handle = realTimers.setTimeout(() => {}, 60_000) as NodeJS.Timeout;
    expect(handle.hasRef()).toBe(false);
    realTimers.clearTimeout(handle);
  });

  it("ManualClock fires due timers in time order, including ones set while advancing", () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    const cancelled = clock.setTimeout(() => fired.push("never"), 5);
    clock.setTimeout(() => {
      fired.push(`a@${clock.now()}`);
      clock.setTimeout(() => fired.push(`c@${clock.now()}`), 5);
    }, 10);
    clock.clearTimeout(cancelled);
    clock.advance(30);
    expect(fired).toEqual(["a@110", "c@115", "b@120"]);
    expect(clock.now()).toBe(130);
  });
});

describe("huge limits", () => {
  it("cost memory by traffic, not by the limit (rpm 100,000,000)", async () => {
    // Resident memory: a log sized by the limit would touch 800 MB of pages.
    const memory = () => process.memoryUsage().rss;
    const before = memory();
    const { limiter, clock } = setup({ rpm: 100_000_000, tpm: 1_000_000_000, concurrency: 10_000 });
    const permits = await Promise.all(Array.from({ length: 500 }, () => limiter.acquire({ tokens: 10 })));
    for (const p of permits) p.release({ actualTokens: 10 });
    expect(limiter.status().windows[0]).toMatchObject({ limit: 100_000_000, used: 500 });
    expect(memory() - before).toBeLessThan(100 * 1024 * 1024);
    clock.advance(60_000);
    expect(limiter.status().windows[0]?.used).toBe(0);
  });
});
