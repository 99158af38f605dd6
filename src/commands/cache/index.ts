import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import chalk from "chalk";
import { Command } from "commander";
import { parseDuration } from "../../config/units.js";
import type { ResponseCache } from "../../store/response-cache.js";
import type { UsageLog } from "../../store/usage-log.js";
import { formatCount, formatPercent, formatUsd } from "../../ui/format.js";
import { CliError } from "../cli-error.js";
import { homeOf, parseSince } from "../common.js";
import { cliSharedSettings } from "../shared.js";
import { renderTable } from "../table.js";

/** Opens the cache of the home folder for one command and closes it after. */
async function withCache<T>(
  command: Command,
  run: (cache: ResponseCache, usage: UsageLog) => Promise<T> | T,
  opts: { existing?: boolean } = {},
): Promise<T> {
  const paths = homeOf(command, opts);
  const [{ openDb }, { createResponseCache }, { createUsageLog }] = await Promise.all([
    import("../../store/db.js"),
    import("../../store/response-cache.js"),
    import("../../store/usage-log.js"),
  ]);
  const db = openDb(paths.db);
  try {
    // The byte limit only matters for `put`/`import`; eviction follows the running gateway's config.
    return await run(createResponseCache(db, { maxBytes: Number.MAX_SAFE_INTEGER }), createUsageLog(db));
  } finally {
    db.close();
  }
}

const statsCommand = new Command("stats")
  .description("entries, size on disk, hit rate over a window, money saved")
  .option("--since <when>", 'window for the hit rate: "24h", "7d", or a date', "24h")
  .option("--json", "print JSON")
  .action(async (opts: { since: string; json?: boolean }, command: Command) => {
    const since = parseSince(opts.since);
    if (since === null) throw new CliError(`--since: cannot read "${opts.since}"`, null, 2);
    const report = await withCache(
      command,
      (cache, usage) => {
        const stats = cache.stats(0);
        const window = usage.cacheSummary(since);
        return { since: new Date(since).toISOString(), ...stats, window };
      },
      { existing: true },
    );
    const shared = cliSharedSettings(homeOf(command, { existing: true }));
    if (shared?.redis) {
      const { withSharedCache } = await import("./shared-cache.js");
      Object.assign(report, {
        shared_entries: await withSharedCache(shared.redis, shared.prefix, (fleet) => fleet.count()),
      });
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const { window } = report;
    process.stdout.write(
      [
        `${chalk.bold(formatCount(report.entries))} entries, ${(report.bytes / 1024 / 1024).toFixed(2)} MB` +
          chalk.dim(` (database file ${(report.db_bytes / 1024 / 1024).toFixed(1)} MB)`),
        `since ${report.since}: ${formatCount(window.hits)} hits of ${formatCount(window.requests)} cacheable requests ` +
          `(${formatPercent(window.hits, window.requests)}), ${formatUsd(window.saved_usd)} saved`,
        ...("shared_entries" in report
          ? [`${formatCount(Number(report.shared_entries))} entries in the fleet's shared cache (Redis)`]
          : []),
        "",
      ].join("\n"),
    );
    if (report.by_model.length) {
      const rows = report.by_model.map((m) => [
        m.model,
        formatCount(m.entries),
        `${(m.bytes / 1024).toFixed(1)} KB`,
        formatCount(m.hits),
      ]);
      process.stdout.write(
        renderTable(
          [
            { header: "model" },
            { header: "entries", align: "right" },
            { header: "size", align: "right" },
            { header: "hits", align: "right" },
          ],
          rows,
        ),
      );
    }
  });

const clearCommand = new Command("clear")
  .description("delete cached answers (all, or by model and/or age)")
  .option("--model <model>", "only this model: provider/model, a bare name, or a glob like 'openai/*'")
  .option("--older-than <age>", 'only entries older than this: "1d", "12h", "30m"')
  .option("-y, --yes", "delete everything without asking (needed off a terminal when no filter is given)")
  .addHelpText(
    "after",
    "\nWith no filter, clear asks first on a terminal; elsewhere (scripts, CI) it refuses with exit 2 unless --yes.",
  )
  .action(async (opts: { model?: string; olderThan?: string; yes?: boolean }, command: Command) => {
    const olderThanMs = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan);
    if (olderThanMs === null)
      throw new CliError(`--older-than: cannot read "${opts.olderThan}"`, 'use "1d", "12h" or "30m"', 2);
    const everything = opts.model === undefined && olderThanMs === undefined;
    const shared = cliSharedSettings(homeOf(command));
    const local = (extra: number) =>
      withCache(command, async (cache) => {
        if (everything && !opts.yes) await confirmClearAll(cache.stats(0).entries + extra);
        return cache.clear({ model: opts.model, olderThanMs });
      });
    const plural = (n: number) => `${formatCount(n)} cached answer${n === 1 ? "" : "s"}`;
    if (!shared?.redis) {
      process.stdout.write(`deleted ${plural(await local(0))}\n`);
      return;
    }
    const { withSharedCache } = await import("./shared-cache.js");
    const before = olderThanMs === undefined ? undefined : Date.now() - olderThanMs;
    const [here, there] = await withSharedCache(shared.redis, shared.prefix, async (fleet) => [
      await local(everything && !opts.yes ? await fleet.count() : 0),
      await fleet.clear({ ...(opts.model ? { model: opts.model } : {}), ...(before ? { before } : {}) }),
    ]);
    process.stdout.write(`deleted ${plural(here)} here and ${plural(there)} in the fleet's shared cache\n`);
  });

/** Asks y/N on a terminal; off one, refuses: a script must say --yes to empty the whole cache. */
async function confirmClearAll(entries: number): Promise<void> {
  if (entries === 0) return;
  if (!process.stdin.isTTY || !process.stdout.isTTY)
    throw new CliError(
      `refusing to delete all ${formatCount(entries)} cached answers without confirmation`,
      "pass --yes, or narrow it with --model / --older-than",
      2,
    );
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await new Promise<string>((resolve) =>
    rl.question(`delete all ${formatCount(entries)} cached answers? [y/N] `, resolve),
  );
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("nothing was deleted");
}

const exportCommand = new Command("export")
  .description("write every cached answer to FILE as NDJSON (for replay on another machine or in CI)")
  .argument("<file>", "where to write ('-' for stdout)")
  .action(async (file: string, _opts: unknown, command: Command) => {
    const out = file === "-" ? process.stdout : createWriteStream(file);
    const count = await withCache(command, (cache) => {
      let n = 0;
      for (const entry of cache.export()) {
        out.write(`${JSON.stringify(entry)}\n`);
        n++;
      }
      return n;
    });
    if (out !== process.stdout)
      await new Promise<void>((resolve) => (out as NodeJS.WritableStream).end(resolve));
    if (file !== "-") process.stderr.write(`exported ${formatCount(count)} entries to ${file}\n`);
  });

const importCommand = new Command("import")
  .description("load cached answers exported with `aigw cache export` (expired ones are skipped)")
  .argument("<file>", "NDJSON file ('-' for stdin)")
  .action(async (file: string, _opts: unknown, command: Command) => {
    const lines: unknown[] = [];
    const input = file === "-" ? process.stdin : createReadStream(file);
    try {
      for await (const line of createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })) {
        if (line.trim()) lines.push(JSON.parse(line));
      }
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`);
    }
    const count = await withCache(command, (cache) => {
      try {
        return cache.import(lines);
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`, "nothing was imported");
      }
    });
    process.stdout.write(`imported ${formatCount(count)} entries\n`);
  });

export const cacheCommand = new Command("cache")
  .description("the response cache: stats, clear, export, import")
  .addHelpText(
    "after",
    `
Examples:
  aigw cache stats --since 7d
  aigw cache clear --model 'openai/*' --older-than 1d
  aigw cache export answers.ndjson && aigw --home ci-home cache import answers.ndjson`,
  );
for (const sub of [statsCommand, clearCommand, exportCommand, importCommand]) cacheCommand.addCommand(sub);
