import { Command } from "commander";
import { addCommand } from "./add.js";
import { listCommand } from "./list.js";
import { revokeCommand } from "./revoke.js";
import { rotateCommand } from "./rotate.js";
import { setCommand } from "./set.js";

export const clientsCommand = new Command("clients")
  .description("client keys: who may call /v1, with per-client limits, budgets and model allowlists")
  .addHelpText(
    "after",
    `
While no client exists, /v1 is open to callers on loopback. Once one does, every /v1 request needs a
client key in Authorization: Bearer, x-api-key or x-gateway-key; only its SHA-256 hash is stored.
A running gateway picks up changes within a second. A non-loopback --host needs an active client.

Examples:
  aigw clients add web --models 'openai/*'
  aigw clients list
  aigw clients set web --rpm 120 --daily-budget 5
  aigw clients rotate web --grace 10m
  aigw clients revoke web`,
  );

for (const sub of [addCommand, listCommand, setCommand, revokeCommand, rotateCommand]) {
  clientsCommand.addCommand(sub);
}
