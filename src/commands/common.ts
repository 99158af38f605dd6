import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import chalk from "chalk";
import type { Command } from "commander";
import { ensureHome, type HomePaths, homePaths } from "../config/paths.js";
import { parseDuration } from "../config/units.js";
import { CliError } from "./cli-error.js";

/** aigw's version, from the package.json above this file (dist/ when bundled, src/commands in tests). */
export const version: string = (() => {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, "package.json");
    if (existsSync(file)) return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  }
  return "0.0.0";
})();

if (process.env.NO_COLOR) chalk.level = 0;

/**
 * The home folder of a command, from `--home` (on the command or the program) or the environment.
 * Commands that only read pass `existing`: a mistyped --home then fails instead of creating a new home.
 */
export function homeOf(command: Command, opts: { existing?: boolean } = {}): HomePaths {
  const { home } = command.optsWithGlobals<{ home?: string }>();
  const paths = homePaths(home);
  if (opts.existing && !existsSync(paths.home))
    throw new CliError(
      `no aigw home at ${paths.home}`,
      "check --home or AIGW_HOME (aigw start or aigw init creates a home)",
    );
  ensureHome(paths);
  return paths;
}

/** Parses "90s", "30m", "24h", "7d", "2w" (ago) or a date/time ("2026-11-01") into epoch ms. */
export function parseSince(value: string, now = Date.now()): number | null {
  // The units of config durations (one parser for both), plus weeks; a bare number is not an age.
  const rel = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/i.exec(value);
  if (rel) {
    const ago = rel[2]!.toLowerCase() === "w" ? Number(rel[1]) * 604_800_000 : parseDuration(value);
    return ago === null ? null : now - ago;
  }
  // A bare date means local midnight, as people mean it.
  const date = /^\d{4}-\d{2}-\d{2}$/.test(value) ? new Date(`${value}T00:00:00`) : new Date(value);
  return Number.isNaN(date.getTime()) ? null : date.getTime();
}

/** A commander parser for a positive whole number, naming the flag in its usage error. */
export const positiveInt = (flag: string) => (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0)
    throw new CliError(`${flag}: expected a positive whole number, got "${value}"`, null, 2);
  return n;
};
