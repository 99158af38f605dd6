import pg from "pg";
import { createClient } from "redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type PostgresService, type RedisService, startPostgres, startRedis } from "./services.js";

describe("test services", () => {
  let redis: RedisService;
  let postgres: PostgresService;
  beforeAll(async () => {
    [redis, postgres] = await Promise.all([startRedis(), startPostgres()]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([redis?.close(), postgres?.close()]);
  }, 30_000);

  it("runs its own redis-server on a free loopback port, and stops and restarts it", async () => {
    expect(redis.port).not.toBe(6379);
    const client = createClient({ url: redis.url });
    await client.connect();
    await client.set("k", "v");
    expect(await client.get("k")).toBe("v");
    client.destroy();
    const pid = redis.pid()!;
    await redis.stop();
    expect(() => process.kill(pid, 0)).toThrow();
    await redis.start();
    const again = createClient({ url: redis.url });
    await again.connect();
    expect(await again.get("k")).toBeNull();
    again.destroy();
  });

  it("runs its own PostgreSQL cluster on a free loopback port", async () => {
    expect(postgres.port).not.toBe(5432);
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    const { rows } = await client.query<{ n: number }>("SELECT 1 + 1 AS n");
    expect(rows[0]!.n).toBe(2);
    await client.end();
  });
});
