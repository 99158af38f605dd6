import chalk from "chalk";
import { Command, Option } from "commander";
import { type StatsGrouping, type StatsRow, statsGroupings } from "../store/usage-stats.js";
import { formatCount, formatMs, formatPercent, formatUsd } from "../ui/format.js";
import { CliError } from "./cli-error.js";
import { homeOf, parseSince } from "./common.js";
import { cliPgStores } from "./shared.js";
import { renderCsv, renderTable } from "./table.js";

interface StatsOptions {
  since: string;
  until?: string;
  by: StatsGrouping;
  json?: boolean;
  csv?: boolean;
}

export interface StatsReport {
  since: string;
  until: string;
  by: StatsGrouping;
  rows: StatsRow[];
  total: StatsRow;
}

export const statsCommand = new Command("stats")
  .description("requests, errors, tokens, cost and latency from the usage log")
  .option("--since <when>", 'window start: "90s", "30m", "24h", "7d", or a date like 2026-11-01', "24h")
  .option("--until <when>", "window end, same forms (default: now)")
  .addOption(new Option("--by <group>", "group rows by").choices(statsGroupings).default("model"))
  .addOption(new Option("--json", "print one JSON document").conflicts("csv"))
  .option("--csv", "print CSV")
  .addHelpText(
    "after",
    `
p50/p95 are nearest-rank percentiles (the value at rank ceil(q·n)): p95 of two requests is the slower
one. They come from log-scale histograms, within about 5 %; the fastest and slowest are exact.

Examples:
  aigw stats --since 7d --by client
  aigw stats --since 2026-11-01 --until 2026-12-01 --by day --csv`,
  )
  .action(async (opts: StatsOptions, command: Command) => {
    const report = await collectStats(opts, command);
    if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else if (opts.csv) process.stdout.write(statsCsv(report));
    else process.stdout.write(statsTable(report));
  });

/** Reads the usage log: pure data, rendered by one of the printers below. */
export async function collectStats(opts: StatsOptions, command: Command): Promise<StatsReport> {
  const now = Date.now();
  const since = parseSince(opts.since, now);
  if (since === null)
    throw new CliError(
      `--since: cannot read "${opts.since}"`,
      'use "90s", "30m", "24h", "7d" or a date like 2026-11-01',
      2,
    );
  const until = opts.until ? parseSince(opts.until, now) : now + 1;
  if (until === null) throw new CliError(`--until: cannot read "${opts.until}"`, null, 2);
  if (until <= since)
    throw new CliError(
      `--since ${opts.since} starts after --until ${opts.until}: the window is empty`,
      "an age counts back from now, so the larger one goes to --since (--since 1h --until 30m)",
      2,
    );
  const paths = homeOf(command, { existing: true });
  const window = { since: new Date(since).toISOString(), until: new Date(until).toISOString(), by: opts.by };
  const shared = await cliPgStores(paths);
  if (shared) {
    try {
      const { summarizePg } = await import("../store/pg/index.js");
      return { ...window, ...summarizePg(shared.db, shared.schema, { since, until, by: opts.by }) };
    } finally {
      await shared.close();
    }
  }
  const { openDb } = await import("../store/db.js");
  const { createUsageStats } = await import("../store/usage-stats.js");
  const db = openDb(paths.db);
  try {
    return { ...window, ...createUsageStats(db).summarize({ since, until, by: opts.by }) };
  } finally {
    db.close();
  }
}

const HEADERS = ["requests", "errors", "cache hit", "input tok", "output tok", "cost", "saved", "p50", "p95"];

function cells(row: StatsRow): string[] {
  const cost = row.unpriced > 0 && row.cost_usd === null ? "unpriced" : formatUsd(row.cost_usd ?? 0);
  return [
    formatCount(row.requests),
    row.errors ? chalk.red(formatCount(row.errors)) : "0",
    formatPercent(row.cache_hits, row.requests),
    formatCount(row.input_tokens),
    formatCount(row.output_tokens),
    row.unpriced > 0 && row.cost_usd !== null ? `${cost}+` : cost,
    formatUsd(row.saved_usd),
    formatMs(row.p50_ms),
    formatMs(row.p95_ms),
  ];
}

export function statsTable(report: StatsReport): string {
  const head = chalk.dim(`${report.since} → ${report.until}\n`);
  if (report.total.requests === 0) return `${head}no requests in this window\n`;
  const columns = [{ header: report.by }, ...HEADERS.map((header) => ({ header, align: "right" as const }))];
  const rows = report.rows.map((r) => [r.group, ...cells(r)]);
  const note = report.total.unpriced
    ? chalk.dim("\n+ some requests are unpriced (no known price): not counted in cost\n")
    : "";
  return head + renderTable(columns, rows, [chalk.bold("total"), ...cells(report.total)]) + note;
}

export function statsCsv(report: StatsReport): string {
  const keys = [
    "requests",
    "errors",
    "cache_hits",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "unpriced",
    "saved_usd",
    "p50_ms",
    "p95_ms",
  ] as const;
  const rows = [...report.rows, report.total].map((r) => [r.group, ...keys.map((k) => r[k])]);
  return renderCsv([report.by, ...keys], rows);
}
