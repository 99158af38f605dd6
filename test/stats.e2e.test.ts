/** `aigw stats` through the real CLI on a generated usage log: the table, JSON and CSV agree. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateUsageLog } from "../bench/usage-log-gen.js";
import { runCli, tempHome } from "./helpers.js";

const home = tempHome();
const ROWS = 3000;

beforeAll(() => {
  // Spread over the last 30 days, ending now.
  generateUsageLog(home.dir, ROWS);
});
afterAll(() => home.cleanup());

type Row = Record<string, string | number | null>;

function parseCsv(text: string): Row[] {
  const [header, ...lines] = text.trim().split("\n");
  const keys = header!.split(",");
  return lines.map((line) => {
    const cells = line.split(",");
    return Object.fromEntries(
      keys.map((k, i) => [
        k,
        cells[i] === "" ? null : Number.isNaN(Number(cells[i])) ? cells[i]! : Number(cells[i]),
      ]),
    );
  });
}

describe("aigw stats on a generated log", () => {
  it("gives the same numbers as JSON and as CSV, with a total over every row", async () => {
    const json = JSON.parse(
      (await runCli(["stats", "--since", "31d", "--by", "model", "--json"], { home: home.dir })).stdout,
    );
    const csv = parseCsv(
      (await runCli(["stats", "--since", "31d", "--by", "model", "--csv"], { home: home.dir })).stdout,
    );
    expect(json.total.requests).toBe(ROWS);
    expect(json.rows.reduce((n: number, r: Row) => n + Number(r.requests), 0)).toBe(ROWS);
    expect(csv).toHaveLength(json.rows.length + 1);
    for (const row of [...json.rows, json.total]) {
      const line = csv.find((c) => c.model === row.group)!;
      for (const key of [
        "requests",
        "errors",
        "cache_hits",
        "input_tokens",
        "output_tokens",
        "unpriced",
        "p50_ms",
        "p95_ms",
      ]) {
        expect(line[key], `${row.group} ${key}`).toBe(row[key]);
      }
      expect(Number(line.cost_usd)).toBeCloseTo(row.cost_usd ?? 0, 6);
    }
  });

  it("groups by day and narrows to a window with --since/--until", async () => {
    const byDay = JSON.parse(
      (await runCli(["stats", "--since", "31d", "--by", "day", "--json"], { home: home.dir })).stdout,
    );
    expect(byDay.rows.length).toBeGreaterThanOrEqual(30);
    expect(byDay.total.requests).toBe(ROWS);
    const lastWeek = JSON.parse(
      (await runCli(["stats", "--since", "7d", "--json"], { home: home.dir })).stdout,
    );
    expect(lastWeek.total.requests).toBeGreaterThan(ROWS * 0.2);
    expect(lastWeek.total.requests).toBeLessThan(ROWS * 0.26);
    const none = JSON.parse(
      (await runCli(["stats", "--since", "60d", "--until", "45d", "--json"], { home: home.dir })).stdout,
    );
    expect(none.total.requests).toBe(0);
  });

  it("prints an aligned table with the unpriced count kept apart from cost", async () => {
    const res = await runCli(["stats", "--since", "31d", "--by", "provider"], { home: home.dir });
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split("\n");
    expect(lines[1]).toMatch(/^provider\s+requests\s+errors/);
    expect(lines.at(-1)).toMatch(new RegExp(`^total\\s+${ROWS.toLocaleString("en-US")}\\s`));
    const widths = new Set(lines.slice(1).map((l) => l.length));
    expect(widths.size).toBeLessThanOrEqual(2);
  });
});
