/** The CLI's answers to wrong input: one error and a hint, exit 2; a mistyped --home creates nothing. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { UsageRecord } from "../src/store/usage-log.js";
import { runCli, tempHome } from "./helpers.js";
import { usageRecord } from "./usage-record.js";

const home = tempHome();
afterAll(() => home.cleanup());
const cli = (args: string[], dir = home.dir) => runCli(args, { home: dir });

describe("usage errors", () => {
  it("print the one error and where the help is, not the whole help page, with exit 2", async () => {
    const res = await cli(["stats", "--bogus"]);
    expect(res.code).toBe(2);
    expect(res.stderr).toBe("error: unknown option '--bogus'\nsee 'aigw stats --help'\n");
    const nested = await cli(["clients", "set"]);
    expect(nested.code).toBe(2);
    expect(nested.stderr).toBe("error: missing required argument 'name'\nsee 'aigw clients set --help'\n");
    const value = await cli(["clients", "add", "x", "--rpm", "ten"]);
    expect(value.code).toBe(2);
    expect(value.stderr).toBe(
      `aigw: --rpm: expected a positive whole number, got "ten"\nsee 'aigw clients add --help'\n`,
    );
    const top = await cli(["frobnicate"]);
    expect(top.code).toBe(2);
    expect(top.stderr).toMatch(/^error: unknown command 'frobnicate'\nsee 'aigw --help'\n$/);
  });

  it("refuse --json with --csv, and a reversed --since/--until window", async () => {
    const both = await cli(["stats", "--json", "--csv"]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/'--json' cannot be used with option '--csv'/);
    const reversed = await cli(["stats", "--since", "30m", "--until", "1h"]);
    expect(reversed.code).toBe(2);
    expect(reversed.stderr).toMatch(/--since 30m starts after --until 1h/);
    expect(reversed.stdout).toBe("");
  });

  it("accept seconds in --since, as config durations do", async () => {
    const res = await cli(["stats", "--since", "90s", "--json"]);
    expect(res.code).toBe(0);
    const { since, until } = JSON.parse(res.stdout);
    // Both ends come from one reading of the clock: until is now + 1 ms, since is now - 90 s.
    expect(Date.parse(until) - Date.parse(since)).toBe(90_001);
    expect((await cli(["stats", "--since", "90x"])).code).toBe(2);
  });
});

describe("aigw stats percentiles", () => {
  it("p95 of two requests (0.88 ms and 136 ms) is the slower one, nearest-rank, as --help says", async () => {
    const dir = tempHome();
    try {
      const { openDb } = await import("../src/store/db.js");
      const { createUsageLog } = await import("../src/store/usage-log.js");
      const db = openDb(join(dir.dir, "aigw.db"));
      const log = createUsageLog(db);
      const now = Date.now();
      for (const [i, latency] of [0.88, 136].entries()) log.insert(usageRow(`r${i}`, now - 1000, latency));
      db.close();
      const res = await cli(["stats", "--since", "1h", "--json"], dir.dir);
      expect(JSON.parse(res.stdout).total).toMatchObject({ requests: 2, p50_ms: 0.88, p95_ms: 136 });
      const table = await cli(["stats", "--since", "1h"], dir.dir);
      expect(table.stdout).toMatch(/total .* 0\.88ms +136ms\n/);
      expect((await cli(["stats", "--help"], dir.dir)).stdout).toMatch(/nearest-rank/);
    } finally {
      dir.cleanup();
    }
  });
});

function usageRow(id: string, startedAt: number, latency: number): UsageRecord {
  return usageRecord({
    id,
    started_at: startedAt,
    latency_ms: latency,
    input_tokens: 1,
    output_tokens: 1,
    cost_usd: 0,
  });
}

describe("a home that does not exist", () => {
  it.each([
    [["stats"]],
    [["keys", "list"]],
    [["clients", "list"]],
    [["cache", "stats"]],
    [["models"]],
    [["status"]],
  ])("aigw %j says so, exits 1 and creates nothing", async (args) => {
    const missing = join(home.dir, "typo-home");
    const res = await runCli(["--home", missing, ...args], { home: home.dir });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`no aigw home at ${missing}`);
    expect(existsSync(missing)).toBe(false);
  });
});
