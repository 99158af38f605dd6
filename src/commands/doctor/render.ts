import chalk from "chalk";
import type { HomePaths } from "../../config/paths.js";
import { version } from "../common.js";
import { type Check, type CheckStatus, plural } from "./check.js";

/** How doctor prints its checks for people. */
const MARK: Record<CheckStatus, (text: string) => string> = {
  ok: chalk.green,
  warn: chalk.yellow,
  fail: chalk.red.bold,
};

export function renderChecks(paths: HomePaths, checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const indent = " ".repeat(2 + 4 + 2 + width + 2);
  const lines = checks.flatMap((c) => {
    const [first, ...rest] = c.detail.split("\n");
    const head = `  ${MARK[c.status](c.status.padEnd(4))}  ${c.name.padEnd(width)}  ${first}`;
    const more = rest.map((line) => `${indent}${line.trimStart()}`);
    const hint = c.hint && c.status !== "ok" ? [`${indent}${chalk.dim(`→ ${c.hint}`)}`] : [];
    return [head, ...more, ...hint];
  });
  const count = (s: CheckStatus) => checks.filter((c) => c.status === s).length;
  const [failed, warned] = [count("fail"), count("warn")];
  const summary =
    failed || warned
      ? [
          failed && chalk.red(`${plural(failed, "failure")}`),
          warned && chalk.yellow(plural(warned, "warning")),
        ]
          .filter(Boolean)
          .join(", ")
      : chalk.green("all good");
  const tips = checks.filter((c) => c.status === "ok" && c.hint).map((c) => chalk.dim(`  ${c.hint}`));
  return [
    `${chalk.bold("aigw doctor")} ${version} ${chalk.dim(`· home ${paths.home}`)}`,
    "",
    ...lines,
    "",
    `${summary} ${chalk.dim(`· ${count("ok")} ok`)}`,
    ...(tips.length && !failed ? ["", chalk.dim("tips"), ...tips] : []),
    "",
  ].join("\n");
}
