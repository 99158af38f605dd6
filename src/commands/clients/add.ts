import chalk from "chalk";
import { Argument, Command, Option } from "commander";
import { clientNameProblem } from "../../store/clients.js";
import { CliError } from "../cli-error.js";
import { clientsContext, modelList, positiveInt, storeCall, usageHint, usd } from "./context.js";

interface AddOptions {
  rpm?: number;
  tpm?: number;
  dailyBudget?: number;
  monthlyBudget?: number;
  models?: string[];
  json?: boolean;
}

export function clientName(value: string): string {
  const problem = clientNameProblem(value);
  if (problem) throw new CliError(problem, null, 2);
  return value;
}

export const addCommand = new Command("add")
  .description("add a client and print its new key, once (only its SHA-256 hash is kept)")
  .addArgument(new Argument("<name>", "the client's name, as the usage log shows it").argParser(clientName))
  .addOption(
    new Option("--rpm <n>", "requests per minute this client may make").argParser(positiveInt("--rpm")),
  )
  .addOption(new Option("--tpm <n>", "tokens per minute this client may use").argParser(positiveInt("--tpm")))
  .addOption(
    new Option("--daily-budget <usd>", "USD this client may spend per day").argParser(usd("--daily-budget")),
  )
  .addOption(
    new Option("--monthly-budget <usd>", "USD this client may spend per month").argParser(
      usd("--monthly-budget"),
    ),
  )
  .addOption(
    new Option(
      "--models <list>",
      "models it may use, comma-separated; globs like openai/* (default: all)",
    ).argParser(modelList),
  )
  .option("--json", 'print {"name","key",...} as JSON')
  .addHelpText(
    "after",
    `
The key (aigw_ and 43 random characters) is printed on stdout once, alone on its line; the rest goes
to stderr, so KEY=$(aigw clients add web) captures just the key. Once any client exists, every /v1
request needs a client key (Authorization: Bearer, x-api-key or x-gateway-key).

Examples:
  aigw clients add web
  aigw clients add ci --rpm 60 --daily-budget 2 --models 'openai/*,claude-haiku-4-5'
  aigw clients add notebook --monthly-budget 20 --json`,
  )
  .action(async (name: string, opts: AddOptions, command: Command) => {
    const ctx = await clientsContext(command);
    try {
      const first = ctx.store.list().length === 0;
      const { client, key } = storeCall(() =>
        ctx.store.add(
          {
            name,
            rpm: opts.rpm,
            tpm: opts.tpm,
            daily_budget_usd: opts.dailyBudget,
            monthly_budget_usd: opts.monthlyBudget,
            models: opts.models,
          },
          Date.now(),
        ),
      );
      if (opts.json) {
        const doc = {
          name,
          key,
          key_prefix: client.key_prefix,
          rpm: client.rpm,
          tpm: client.tpm,
          daily_budget_usd: client.daily_budget_usd,
          monthly_budget_usd: client.monthly_budget_usd,
          models: client.models,
          created_at: new Date(client.created_at).toISOString(),
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      process.stderr.write(`added client ${chalk.bold(name)}. Its key, shown only this once:\n\n`);
      process.stdout.write(`${key}\n`);
      const notes = [
        "",
        usageHint(ctx.paths),
        first
          ? chalk.yellow("This is the first client: from now on every /v1 request needs a client key.")
          : null,
      ];
      process.stderr.write(`${notes.filter((n) => n !== null).join("\n")}\n`);
    } finally {
      ctx.close();
    }
  });
