import chalk from "chalk";
import { Command, Option } from "commander";
import { CliError } from "../cli-error.js";
import { positiveInt } from "../common.js";
import { keysContext, providerNamed } from "./context.js";
import { readSecret } from "./read-secret.js";

interface AddOptions {
  label?: string;
  rpm?: number;
  tpm?: number;
  key?: string;
  json?: boolean;
}

export const addCommand = new Command("add")
  .description("store an upstream API key, encrypted; read from stdin when piped, else a hidden prompt")
  .argument("<provider>", "provider the key belongs to (openai, anthropic, or one from the config)")
  .option("--label <label>", "a name to tell keys apart")
  .addOption(new Option("--rpm <n>", "requests per minute this key may make").argParser(positiveInt("--rpm")))
  .addOption(new Option("--tpm <n>", "tokens per minute this key may use").argParser(positiveInt("--tpm")))
  .option("--key <secret>", "the key itself (lands in your shell history: prefer stdin)")
  .option("--json", "print the stored key's id and mask as JSON")
  .addHelpText(
    "after",
    `
Examples:
  aigw keys add openai                          # prompts, input hidden
  printf %s "$OPENAI_API_KEY" | aigw keys add openai --label work
  aigw keys add anthropic --rpm 50 < key.txt`,
  )
  .action(async (providerName: string, opts: AddOptions, command: Command) => {
    const ctx = await keysContext(command);
    try {
      providerNamed(ctx, providerName);
      if (opts.key)
        process.stderr.write(
          chalk.yellow("warning: --key puts the key in your shell history; pipe it on stdin instead\n"),
        );
      const secret = (opts.key ?? (await readSecret(`${providerName} API key: `))).trim();
      if (!secret) throw new CliError("no key given", "pipe the key on stdin or type it at the prompt");
      if (/\s/.test(secret)) throw new CliError("the key contains whitespace: paste one key only");
      const { loadMasterKey } = await import("../../store/secrets.js");
      const master = loadMasterKey(ctx.paths.masterKey, { create: true })!;
      const key = ctx.store.add(
        { provider: providerName, secret, label: opts.label, rpm: opts.rpm, tpm: opts.tpm },
        master,
        Date.now(),
      );
      if (opts.json) {
        const { id, provider, label, masked, rpm, tpm } = key;
        process.stdout.write(`${JSON.stringify({ id, provider, label, masked, rpm, tpm })}\n`);
      } else {
        process.stdout.write(
          `stored ${chalk.bold(key.id)} for ${providerName} (${key.masked}), encrypted with ${master.source}\n`,
        );
      }
    } finally {
      await ctx.close();
    }
  });
