import chalk from "chalk";
import { Argument, Command, Option } from "commander";
import type { NewClient } from "../../store/clients.js";
import { CliError } from "../cli-error.js";
import { clientName } from "./add.js";
import { clientsContext, modelList, positiveInt, storeCall, usd } from "./context.js";

/** Marks `none`: commander turns a parser's null into "", so the sentinel becomes null in the action. */
const NONE = Symbol("none");
type OrNone<T> = T | typeof NONE;

/** `none` clears a limit; anything else is parsed as the flag's value. */
const orNone =
  <T>(parse: (value: string) => T) =>
  (value: string): OrNone<T> =>
    value.trim().toLowerCase() === "none" ? NONE : parse(value);

const cleared = <T>(value: OrNone<T>): T | null => (value === NONE ? null : value);

interface SetOptions {
  rpm?: OrNone<number>;
  tpm?: OrNone<number>;
  dailyBudget?: OrNone<number>;
  monthlyBudget?: OrNone<number>;
  models?: OrNone<string[]>;
}

export const setCommand = new Command("set")
  .description("change a client's limits, budgets or model allowlist (its key stays the same)")
  .addArgument(new Argument("<name>", "the client").argParser(clientName))
  .addOption(new Option("--rpm <n|none>", "requests per minute").argParser(orNone(positiveInt("--rpm"))))
  .addOption(new Option("--tpm <n|none>", "tokens per minute").argParser(orNone(positiveInt("--tpm"))))
  .addOption(new Option("--daily-budget <usd|none>", "USD per day").argParser(orNone(usd("--daily-budget"))))
  .addOption(
    new Option("--monthly-budget <usd|none>", "USD per month").argParser(orNone(usd("--monthly-budget"))),
  )
  .addOption(
    new Option("--models <list|none>", "allowed models, comma-separated; none allows all").argParser(
      orNone(modelList),
    ),
  )
  .addHelpText(
    "after",
    `
Only the options given change; 'none' removes a limit. A running gateway applies it within a second.

Examples:
  aigw clients set web --rpm 120 --daily-budget 5
  aigw clients set ci --models none`,
  )
  .action(async (name: string, opts: SetOptions, command: Command) => {
    const changes: Partial<NewClient> = {};
    if (opts.rpm !== undefined) changes.rpm = cleared(opts.rpm);
    if (opts.tpm !== undefined) changes.tpm = cleared(opts.tpm);
    if (opts.dailyBudget !== undefined) changes.daily_budget_usd = cleared(opts.dailyBudget);
    if (opts.monthlyBudget !== undefined) changes.monthly_budget_usd = cleared(opts.monthlyBudget);
    if (opts.models !== undefined) changes.models = cleared(opts.models);
    if (!Object.keys(changes).length) {
      throw new CliError(
        "nothing to change",
        "give at least one of --rpm, --tpm, --daily-budget, --monthly-budget, --models",
        2,
      );
    }
    const ctx = await clientsContext(command);
    try {
      const client = storeCall(() => ctx.store.update(name, changes));
      const show = (v: unknown) =>
        v === null || v === undefined ? "none" : Array.isArray(v) ? v.join(",") : String(v);
      process.stdout.write(
        `updated ${chalk.bold(name)}: rpm ${show(client.rpm)} · tpm ${show(client.tpm)} · daily $${show(client.daily_budget_usd)} · ` +
          `monthly $${show(client.monthly_budget_usd)} · models ${show(client.models)}\n`,
      );
    } finally {
      ctx.close();
    }
  });
