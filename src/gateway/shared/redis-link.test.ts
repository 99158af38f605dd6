import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisService, startRedis } from "../../../test/services.js";
import { ManualClock } from "../limits/manual-clock.js";
import { COMMAND_TIMEOUT_MS, RedisLink } from "./redis-link.js";

describe("RedisLink against a stalled redis-server", () => {
  let redis: RedisService;
  beforeAll(async () => {
    redis = await startRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.close();
  });

  it("fails a command the server never answers once the timeout passes (injected clock)", async () => {
    const clock = new ManualClock(0);
    const link = new RedisLink(redis.url, () => {}, clock);
    try {
      await link.ready();
      expect(link.usable).toBe(true);
      await expect(link.run((c) => c.set("k", "v"))).resolves.toBe("OK");
      const pid = redis.pid()!;
      process.kill(pid, "SIGSTOP"); // the server holds the connection but answers nothing
      try {
        let outcome = "pending";
        const stalled = link
          .run((c) => c.get("k"))
          .then(
            () => (outcome = "answered"),
            (err: Error) => (outcome = err.message),
          );
        clock.advance(COMMAND_TIMEOUT_MS - 1);
        await new Promise((r) => setImmediate(r)); // a rejection would have settled by now
        expect(outcome).toBe("pending");
        clock.advance(1);
        await stalled;
        expect(outcome).toBe("redis command timed out");
      } finally {
        process.kill(pid, "SIGCONT");
      }
      // The connection itself was never lost: the next command is answered.
      await expect(link.run((c) => c.get("k"))).resolves.toBe("v");
    } finally {
      await link.close();
    }
  });
});
