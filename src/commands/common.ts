import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import chalk from "chalk";
import type { Command } from "commander";
import { ensureHome, type HomePaths, homePaths } from "../config/paths.js";
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

/** The home folder of a command, from `--home` (on the command or the program) or the environment. */
export function homeOf(command: Command): HomePaths {
  const { home } = command.optsWithGlobals<{ home?: string }>();
  const paths = homePaths(home);
  ensureHome(paths);
  return paths;
}

/** Parses "24h", "7d", "30m" (ago) or a date/time ("2026-11-01") into epoch ms. */
export function parseSince(value: string, now = Date.now()): number | null {
  const rel = /^(\d+(?:\.\d+)?)\s*(m|h|d|w)$/i.exec(value.trim());
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[rel[2]!.toLowerCase() as "m"];
    return now - Number(rel[1]) * unit;
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
