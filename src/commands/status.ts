import chalk from "chalk";
import { Command } from "commander";
import type { HomePaths } from "../config/paths.js";
import { type RunInfo, readRunFile } from "../config/run-file.js";
import { formatCount, formatDuration, formatUsd } from "../ui/format.js";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";
import { startOfToday } from "./keys/context.js";

export interface StatusReport {
  running: boolean;
  home: string;
  url?: string;
  pid?: number;
  version?: string;
  started_at?: string;
  uptime_ms?: number;
  /** Whether /aigw/health answered just now. */
  answering?: boolean;
  /** Since this gateway started. */
  requests?: number;
  errors?: number;
  /** Priced spend since local midnight, of every gateway of this home. */
  spent_today_usd?: number;
}

export const statusCommand = new Command("status")
  .description("is a gateway running for this home: its url, pid, uptime, requests, errors, spend today")
  .option("--json", "print one JSON document (running: false, and exit 1, when none runs)")
  .addHelpText("after", "\nExit code: 0 when a gateway runs for this home, 1 when none does.")
  .action(async (opts: { json?: boolean }, command: Command) => {
    const paths = homeOf(command, { existing: true });
    const info = readRunFile(paths.runFile);
    if (!info) {
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ running: false, home: paths.home }, null, 2)}\n`);
        process.exitCode = 1;
        return;
      }
      throw new CliError(`no gateway is running for ${paths.home}`, "start one with: aigw start");
    }
    const report = await collectStatus(paths, info, Date.now());
    process.stdout.write(opts.json ? `${JSON.stringify(report, null, 2)}\n` : statusText(report));
  });

/** What the running gateway of a home is doing, from run.json, its health check and the usage log. */
export async function collectStatus(paths: HomePaths, info: RunInfo, now: number): Promise<StatusReport> {
  const { openDb } = await import("../store/db.js");
  const db = openDb(paths.db);
  let counts: { requests: number; errors: number | null };
  let spent: number | null;
  try {
    counts = db
      .prepare(
        "SELECT count(*) AS requests, sum(status >= 400 OR error_type IS NOT NULL) AS errors FROM usage WHERE started_at >= ?",
      )
      .get(info.started_at) as typeof counts;
    spent = db
      .prepare("SELECT sum(cost_usd) FROM usage WHERE started_at >= ?")
      .pluck()
      .get(startOfToday(new Date(now))) as number | null;
  } finally {
    db.close();
  }
  return {
    running: true,
    home: paths.home,
    url: info.url,
    pid: info.pid,
    version: info.version,
    started_at: new Date(info.started_at).toISOString(),
    uptime_ms: Math.max(0, now - info.started_at),
    answering: await answers(info.url),
    requests: counts.requests,
    errors: counts.errors ?? 0,
    spent_today_usd: Math.round((spent ?? 0) * 1e8) / 1e8,
  };
}

/** A bounded health check: a gateway that does not answer in 2 s is reported as not answering. */
async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/aigw/health`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

function statusText(r: StatusReport): string {
  const state = r.answering ? chalk.green("running") : chalk.yellow("running, but not answering");
  return `${[
    `${state} ${chalk.cyan(r.url)} ${chalk.dim(`(pid ${r.pid}, aigw ${r.version})`)}`,
    `home     ${r.home}`,
    `since    ${r.started_at} ${chalk.dim(`(up ${formatDuration(r.uptime_ms ?? 0)})`)}`,
    `requests ${formatCount(r.requests ?? 0)} ${chalk.dim("since start")}, ${r.errors ? chalk.red(formatCount(r.errors)) : "0"} errors`,
    `spent    ${formatUsd(r.spent_today_usd ?? 0)} ${chalk.dim("today")}`,
  ].join("\n")}\n`;
}
