import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./breaker.js";
import { ManualClock } from "./limits/index.js";

describe("CircuitBreaker panic mode", () => {
  it("names the circuit opened longest ago, and a forced request's verdict closes or re-opens it", () => {
    const clock = new ManualClock(0);
    const breaker = new CircuitBreaker({ failures: 1, coolOffMs: 60_000, clock });
    breaker.failure("a");
    clock.advance(1000);
    breaker.failure("b");
    expect([breaker.allow("a"), breaker.allow("b")]).toEqual([false, false]);
    expect(breaker.longestOpen(["b", "a"])).toBe("a");

    clock.advance(1000);
    breaker.force("a");
    breaker.failure("a"); // still down: open again, now the most recent
    expect(breaker.longestOpen(["a", "b"])).toBe("b");

    breaker.force("b");
    breaker.success("b");
    expect(breaker.status().b?.state).toBe("closed");
    expect(breaker.allow("b")).toBe(true);
    expect(breaker.longestOpen([])).toBeNull();
  });
});
