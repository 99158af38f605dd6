import { Command } from "commander";
import { addCommand } from "./add.js";
import { listCommand } from "./list.js";
import { disableCommand, enableCommand, rmCommand } from "./manage.js";
import { testCommand } from "./test.js";

export const keysCommand = new Command("keys")
  .description("upstream API keys: stored encrypted, rotated on 429, retired on 401")
  .option("-c, --config <file>", "config file (to know the providers)")
  .addHelpText(
    "after",
    `
Keys are encrypted with AES-256-GCM under the master key ($AIGW_MASTER_KEY, else <home>/master.key,
created 0600 on first use). A running gateway picks up changes within a second.`,
  );

for (const sub of [addCommand, listCommand, rmCommand, disableCommand, enableCommand, testCommand]) {
  keysCommand.addCommand(sub);
}
