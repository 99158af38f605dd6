import { createReadStream, createWriteStream } from "node:fs";
import { createInterface } from "node:readline";
import chalk from "chalk";
import { Command, Option } from "commander";
import { parseDuration } from "../../config/units.js";
import type { ResponseCache } from "../../store/response-cache.js";
import type { StoredResponses } from "../../store/stored-responses.js";
import type { UsageLog } from "../../store/usage-log.js";
import { formatCount, formatPercent, formatUsd } from "../../ui/format.js";
import { CliError } from "../cli-error.js";
import { homeOf, parseSince } from "../common.js";
import { cliPgStores, cliSharedSettings } from "../shared.js";
import { renderTable } from "../table.js";

interface CacheStores {
  cache: ResponseCache;
  usage: UsageLog;
  /** Responses kept for `previous_response_id` (`responses.retention`). */
  stored: StoredResponses;
}

/** Opens the cache of the home folder for one command and closes it after. */
async function withCache<T>(
  command: Command,
  run: (stores: CacheStores) => Promise<T> | T,
  opts: { existing?: boolean } = {},
): Promise<T> {
  const paths = homeOf(command, opts);
  const [{ openDb }, { createResponseCache }, { createUsageLog }, { createStoredResponses }] =
    await Promise.all([
      import("../../store/db.js"),
      import("../../store/response-cache.js"),
      import("../../store/usage-log.js"),
      import("../../store/stored-responses.js"),
    ]);
  const db = openDb(paths.db);
  // With shared.postgres the fleet's stored responses live there, not in this home's SQLite.
  const pg = await cliPgStores(paths);
  try {
    return await run({
      // The byte limit only matters for `put`/`import`; eviction follows the running gateway's config.
      cache: createResponseCache(db, { maxBytes: Number.MAX_SAFE_INTEGER }),
      usage: createUsageLog(db),
      stored: pg?.storedResponses ?? createStoredResponses(db),
    });
  } finally {
    db.close();
    await pg?.close();
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
      ({ cache, usage, stored }) => {
        const stats = cache.stats(0);
        const window = usage.cacheSummary(since);
        return { since: new Date(since).toISOString(), ...stats, stored_responses: stored.count(), window };
      },
      { existing: true },
    );
    const shared = await cliSharedSettings(homeOf(command, { existing: true }));
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
        `${formatCount(report.stored_responses)} stored responses${chalk.dim(" (for previous_response_id)")}`,
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

const plural = (n: number, one: string) => `${formatCount(n)} ${one}${n === 1 ? "" : "s"}`;

const clearCommand = new Command("clear")
  .description("delete cached answers and stored responses (all, or by model and/or age)")
  .option("--model <model>", "only this model: provider/model, a bare name, or a glob like 'openai/*'")
  .option("--older-than <age>", 'only entries older than this: "1d", "12h", "30m"')
  .addOption(
    new Option(
      "--only <what>",
      "only cached answers, or only stored responses (previous_response_id state)",
    ).choices(["answers", "responses"]),
  )
  .option("-y, --yes", "delete everything without asking (needed off a terminal when no filter is given)")
  .addHelpText(
    "after",
    "\nWith no filter, clear asks first on a terminal; elsewhere (scripts, CI) it refuses with exit 2 unless --yes.",
  )
  .action(
    async (
      opts: { model?: string; olderThan?: string; only?: "answers" | "responses"; yes?: boolean },
      command: Command,
    ) => {
      const olderThanMs = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan);
      if (olderThanMs === null)
        throw new CliError(`--older-than: cannot read "${opts.olderThan}"`, 'use "1d", "12h" or "30m"', 2);
      const everything = opts.model === undefined && olderThanMs === undefined;
      const answers = opts.only !== "responses";
      const responses = opts.only !== "answers";
      const before = olderThanMs === undefined ? undefined : Date.now() - olderThanMs;
      const local = (fleetEntries: number) =>
        withCache(command, async ({ cache, stored }) => {
          if (everything && !opts.yes)
            await confirmClearAll(
              answers ? cache.stats(0).entries + fleetEntries : 0,
              responses ? stored.count() : 0,
            );
          return {
            answers: answers ? cache.clear({ model: opts.model, olderThanMs }) : 0,
            responses: responses ? stored.clear(before, opts.model) : 0,
          };
        });
      const shared = answers ? await cliSharedSettings(homeOf(command)) : null;
      let deleted: { answers: number; responses: number };
      let fleet: number | null = null;
      if (!shared?.redis) deleted = await local(0);
      else {
        const { withSharedCache } = await import("./shared-cache.js");
        [deleted, fleet] = await withSharedCache(shared.redis, shared.prefix, async (remote) => [
          await local(everything && !opts.yes ? await remote.count() : 0),
          await remote.clear({ ...(opts.model ? { model: opts.model } : {}), ...(before ? { before } : {}) }),
        ]);
      }
      const said = [
        answers ? plural(deleted.answers, "cached answer") : null,
        fleet !== null ? `${plural(fleet, "cached answer")} in the fleet's shared cache` : null,
        responses ? plural(deleted.responses, "stored response") : null,
      ];
      process.stdout.write(`deleted ${said.filter(Boolean).join(", ")}\n`);
    },
  );

/** Asks y/N on a terminal; off one, refuses: a script must say --yes to empty the whole cache. */
async function confirmClearAll(answers: number, responses: number): Promise<void> {
  if (answers + responses === 0) return;
  const what = [
    answers ? plural(answers, "cached answer") : "",
    responses ? plural(responses, "stored response") : "",
  ]
    .filter(Boolean)
    .join(" and ");
  if (!process.stdin.isTTY || !process.stdout.isTTY)
    throw new CliError(
      `refusing to delete all ${what} without confirmation`,
      "pass --yes, or narrow it with --model / --older-than",
      2,
    );
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  const answer = await new Promise<string>((resolve) => rl.question(`delete all ${what}? [y/N] `, resolve));
  rl.close();
  if (!/^y(es)?$/i.test(answer.trim())) throw new CliError("nothing was deleted");
}

const exportCommand = new Command("export")
  .description("write every cached answer to FILE as NDJSON (for replay on another machine or in CI)")
  .argument("<file>", "where to write ('-' for stdout)")
  .action(async (file: string, _opts: unknown, command: Command) => {
    const out = file === "-" ? process.stdout : createWriteStream(file);
    const count = await withCache(command, ({ cache }) => {
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
    const count = await withCache(command, ({ cache }) => {
      try {
        return cache.import(lines);
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`, "nothing was imported");
      }
    });
    process.stdout.write(`imported ${formatCount(count)} entries\n`);
  });

export const cacheCommand = new Command("cache")
  .description("the response cache and stored responses: stats, clear, export, import")
  .addHelpText(
    "after",
    `
Examples:
  aigw cache stats --since 7d
  aigw cache clear --model 'openai/*' --older-than 1d
  aigw cache export answers.ndjson && aigw --home ci-home cache import answers.ndjson`,
  );
for (const sub of [statsCommand, clearCommand, exportCommand, importCommand]) cacheCommand.addCommand(sub);
