import chalk from "chalk";
import { Argument, Command, Option } from "commander";
import { clientName } from "./add.js";
import { clientsContext, formatWhen, grace, storeCall, usageHint } from "./context.js";

export const rotateCommand = new Command("rotate")
  .description("give a client a new key, printed once; the old one keeps working for the grace period")
  .addArgument(new Argument("<name>", "the client").argParser(clientName))
  .addOption(
    new Option("--grace <duration>", "how long the old key keeps working: 30s, 10m, 1h, 0 for not at all")
      .default(3_600_000, "1h")
      .argParser(grace),
  )
  .option("--json", 'print {"name","key","previous_expires_at",...} as JSON')
  .addHelpText(
    "after",
    `
The new key is printed on stdout once, alone on its line. Rotating again during a grace period ends the
older key's grace at once: only the key being replaced gets one.

Examples:
  aigw clients rotate web               # old key works for another hour
  aigw clients rotate ci --grace 0      # old key stops now`,
  )
  .action(async (name: string, opts: { grace: number; json?: boolean }, command: Command) => {
    const ctx = await clientsContext(command);
    try {
      const { client, key } = storeCall(() => ctx.store.rotate(name, opts.grace, Date.now()));
      const until = client.previous_expires_at;
      if (opts.json) {
        const doc = {
          name,
          key,
          key_prefix: client.key_prefix,
          previous_expires_at: until === null ? null : new Date(until).toISOString(),
        };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      process.stderr.write(
        `rotated the key of client ${chalk.bold(name)}. The new key, shown only this once:\n\n`,
      );
      process.stdout.write(`${key}\n`);
      const old =
        until === null
          ? "The old key stopped working now."
          : `The old key keeps working until ${formatWhen(until, true)}.`;
      process.stderr.write(`\n${old}\n${usageHint(ctx.paths)}\n`);
    } finally {
      ctx.close();
    }
  });
