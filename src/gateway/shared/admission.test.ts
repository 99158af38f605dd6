import { describe, expect, it } from "vitest";
import { QueueTimeoutError } from "../limits/index.js";
import { SharedAdmission } from "./admission.js";
import type { RedisLink } from "./redis-link.js";

/** Redis away: the admission only ever takes this instance's share, without a round trip. */
const away = { usable: false } as unknown as RedisLink;
const opts = (deadlineMs: number) => ({
  tokens: 0,
  deadline: Date.now() + deadlineMs,
  signal: new AbortController().signal,
});

describe("SharedAdmission while Redis is away", () => {
  it("lets each of three instances hold a third of the concurrency; a freed slot goes to the next", async () => {
    const admission = new SharedAdmission(
      away,
      (...p) => p.join(":"),
      "me",
      () => 3,
    );
    const first = await admission.admit("p:up", { concurrency: 6 }, opts(1000));
    const second = await admission.admit("p:up", { concurrency: 6 }, opts(1000));
    let thirdIn = false;
    const third = admission.admit("p:up", { concurrency: 6 }, opts(2000)).then((p) => {
      thirdIn = true;
      return p;
    });
    await new Promise((r) => setImmediate(r));
    expect(thirdIn).toBe(false);
    first!.release();
    (await third)!.release();
    second!.release();
    expect(thirdIn).toBe(true);
  });

  it("refuses at once what its share of an rpm cannot allow before the deadline", async () => {
    const admission = new SharedAdmission(
      away,
      (...p) => p.join(":"),
      "me",
      () => 2,
    );
    await admission.admit("k:a", { rpm: 4 }, opts(1000));
    await admission.admit("k:a", { rpm: 4 }, opts(1000));
    await expect(admission.admit("k:a", { rpm: 4 }, opts(1000))).rejects.toBeInstanceOf(QueueTimeoutError);
  });

  it("holds nothing for a limiter without shared limits", async () => {
    const admission = new SharedAdmission(
      away,
      (...p) => p.join(":"),
      "me",
      () => 3,
    );
    expect(await admission.admit("p:up", {}, opts(1000))).toBeNull();
  });
});
