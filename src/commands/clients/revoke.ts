import chalk from "chalk";
import { Argument, Command } from "commander";
import { clientName } from "./add.js";
import { clientsContext, formatWhen, storeCall } from "./context.js";

export const revokeCommand = new Command("revoke")
  .description("revoke a client's key (and a rotated-out one still in its grace period)")
  .addArgument(new Argument("<name>", "the client").argParser(clientName))
  .addHelpText(
    "after",
    `
A running gateway refuses the key within a second (401). The name stays in the usage log and cannot be
reused. Revoking every client does not switch authentication off: /v1 then refuses everyone until a new
client is added.

Example:
  aigw clients revoke web`,
  )
  .action(async (name: string, _opts: object, command: Command) => {
    const ctx = await clientsContext(command);
    try {
      const now = Date.now();
      const changed = storeCall(() => ctx.store.revoke(name, now));
      if (!changed) {
        const revokedAt = ctx.store.get(name)?.revoked_at ?? now;
        process.stdout.write(`client ${chalk.bold(name)} was already revoked (${formatWhen(revokedAt)})\n`);
        return;
      }
      process.stdout.write(`revoked client ${chalk.bold(name)}: its key no longer works\n`);
      if (ctx.store.activeCount() === 0)
        process.stdout.write(
          chalk.yellow(
            "no active client remains: every /v1 request is refused until you run aigw clients add <name>\n",
          ),
        );
    } finally {
      ctx.close();
    }
  });
