import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openDb } from "../store/db.js";
import { createStoredResponses, type StoredResponses } from "../store/stored-responses.js";
import { SWEEP_BITE, startHousekeeping } from "./housekeeping.js";
import { ManualClock } from "./limits/index.js";

let dir: string;
let db: Db;
let stored: StoredResponses;
const T0 = Date.UTC(2026, 11, 1, 12);
const MIN = 60_000;

const keep = (id: string, expiresAt: number) =>
  stored.put({
    id,
    client: null,
    model: "anthropic/claude-haiku-4-5",
    created_at: T0,
    expires_at: expiresAt,
    input: [],
    response: { id },
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-housekeeping-"));
  db = openDb(join(dir, "aigw.db"));
  stored = createStoredResponses(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("housekeeping", () => {
  it("deletes stored responses past their retention once a minute, off any request", () => {
    const clock = new ManualClock(T0);
    const house = startHousekeeping({ sweepCache: null, stored, clock, timers: clock });
    keep("resp_soon", T0 + 30_000);
    keep("resp_later", T0 + 10 * MIN);
    clock.advance(MIN - 1);
    expect(stored.count()).toBe(2); // nothing runs before the first minute
    clock.advance(1);
    expect(stored.count()).toBe(1);
    clock.advance(10 * MIN);
    expect(stored.count()).toBe(0);
    house.stop();
    expect(clock.timerCount).toBe(0);
  });

  it("drains a backlog in bounded bites a second apart, then goes back to once a minute", () => {
    const clock = new ManualClock(T0);
    let cacheBites = 0;
    const house = startHousekeeping({
      sweepCache: () => (++cacheBites === 1 ? SWEEP_BITE : 0),
      stored,
      clock,
      timers: clock,
    });
    db.transaction(() => {
      for (let i = 0; i < SWEEP_BITE * 2 + 10; i++) keep(`resp_${i}`, T0);
    })();
    clock.advance(MIN);
    expect(stored.count()).toBe(SWEEP_BITE + 10);
    clock.advance(1000);
    expect(stored.count()).toBe(10);
    clock.advance(1000);
    expect(stored.count()).toBe(0);
    expect(cacheBites).toBe(3);
    clock.advance(1000); // the last bite was not full: the next round is a minute away
    expect(cacheBites).toBe(3);
    clock.advance(MIN);
    expect(cacheBites).toBe(4);
    house.stop();
  });

  it("writes the cache's pending hits every second off the request path, and once more at stop", () => {
    const clock = new ManualClock(T0);
    let flushes = 0;
    const house = startHousekeeping({
      sweepCache: null,
      stored: null,
      flushHits: () => void flushes++,
      clock,
      timers: clock,
    });
    clock.advance(999);
    expect(flushes).toBe(0);
    clock.advance(1);
    expect(flushes).toBe(1);
    clock.advance(3000);
    expect(flushes).toBe(4);
    house.stop();
    expect(flushes).toBe(5);
    expect(clock.timerCount).toBe(0);
  });

  it("sets no timer when there is nothing to keep", () => {
    const clock = new ManualClock(T0);
    startHousekeeping({ sweepCache: null, stored: null, clock, timers: clock });
    expect(clock.timerCount).toBe(0);
  });
});
