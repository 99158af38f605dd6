import { existsSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import chalk from "chalk";
import { Command } from "commander";
import { CliError } from "./cli-error.js";

/**
 * The starter config. Prose comments are `# text`; examples are YAML with only a `#` in front
 * (`#cache:`, `#  ttl: 1h`), so deleting that one character switches a line on. As written it changes
 * nothing from the defaults, and with every example switched on it is still a valid config (tested).
 */
export const STARTER_CONFIG = `# aigw config. Every field is optional; what is not set keeps its default.
# Lines like "#cache:" are examples: delete the "#" (keep the indentation) to switch one on.
# Check it with: aigw doctor · list what clients can call with: aigw models

# Where the gateway listens. SDKs point at http://127.0.0.1:4000/v1 (OpenAI) or
# http://127.0.0.1:4000 (Anthropic). A non-loopback host needs client keys first (aigw clients add).
port: 4000
host: 127.0.0.1

# Upstream providers. Built in, no config needed: openai, anthropic, ollama (127.0.0.1:11434), mock.
# Others by type: openai, anthropic, openai-compatible (the default when base_url is set), mock.
# Keys: aigw keys add <provider> (stored encrypted), else the environment: <NAME>_API_KEY.
#providers:
#  openai:
#    limits: { rpm: 500, tpm: 200000, concurrency: 8 }   # your account's tier: aigw queues, not 429s
#  anthropic:
#    limits: { rpm: 50, concurrency: 4 }
#  ollama:
#    base_url: http://127.0.0.1:11434/v1                  # local servers need no key
#    timeouts: { first_byte: 300s }                        # loading a model takes a while
#  groq:
#    type: openai-compatible
#    base_url: https://api.groq.com/openai/v1             # key: aigw keys add groq, or GROQ_API_KEY
#    limits: { rpm: 30 }
#  openrouter:
#    base_url: https://openrouter.ai/api/v1
#    api_key_env: OPENROUTER_KEY                           # instead of OPENROUTER_API_KEY
#    headers: { X-Title: my-app }                          # sent upstream on every request

# Names clients can send as "model", besides provider/model (ollama/llama3.2) and bare well-known
# names (gpt-4o-mini goes to openai, claude-* to anthropic).
#models:
#  cheap: openai/gpt-4o-mini                               # an alias
#  smart:                                                  # a group: the next target when one fails
#    targets: [openai/gpt-4o, anthropic/claude-sonnet-4-5]
#    strategy: fallback                                    # or round-robin, least-busy
#  local-first:
#    targets: [ollama/llama3.2, openai/gpt-4o-mini]

# What clients may send, and how long aigw waits for upstreams (also per provider: providers.<p>.timeouts).
#server:
#  max_body: 20MB                                          # larger requests get a 413
#  request_timeout: 30s                                    # a client stalled mid-request is cut off
#timeouts:
#  connect: 10s
#  first_byte: 120s                                        # until the first token
#  idle: 60s                                               # longest pause inside a stream

# Identical requests answered from the cache in the home folder. Per request: Cache-Control:
# no-cache / no-store, x-aigw-cache-ttl: <seconds>, x-aigw-cache-namespace: <name>.
#cache:
#  enabled: true
#  ttl: 1h
#  max_size: 512MB
#  scope: shared                                           # or client: each client sees only its own
#  exclude: ["ollama/*"]                                   # models or aliases never cached

# Requests over a provider's limits wait their turn instead of getting a 429.
#queue:
#  max_wait: 60s                                           # then 429 queue_timeout
#  max_depth: 1000                                         # waiting requests, not those in flight

# Retries of one target on connection errors, timeouts and 5xx, before the next fallback target.
#retry:
#  max_attempts: 3
#  backoff: 250ms
#  max_backoff: 4s

# A provider failing this many times in a row is skipped for cool_off, then tried once again.
#circuit_breaker:
#  failures: 5
#  cool_off: 30s

# Limits for clients without their own (aigw clients add --rpm/--tpm), and for anonymous use.
#default_client_limits:
#  rpm: 60
#  tpm: 100000

# Spending caps for the whole gateway in USD (per client: aigw clients add --daily-budget).
# Warnings at 50, 80 and 100 % go to the log, and as JSON to budgets.webhook_url when you set one.
#budgets:
#  daily_usd: 10
#  monthly_usd: 100
#  timezone: Europe/Berlin                                 # when a day starts; default: this machine's

# USD per 1M tokens, over the built-in price table. Keys: provider/model, or globs.
#pricing:
#  "groq/*": { input: 0.05, output: 0.08 }
#  "openai/gpt-4o": { input: 2.5, output: 10, cached_input: 1.25 }
`;

export const initCommand = new Command("init")
  .description("write a commented starter config (./aigw.yaml)")
  .option("--path <file>", "where to write it", "aigw.yaml")
  .option("--force", "overwrite an existing file")
  .action((opts: { path: string; force?: boolean }) => {
    const file = resolve(opts.path);
    if (existsSync(file) && statSync(file).isDirectory())
      throw new CliError(
        `${file} is a folder`,
        `name a file: aigw init --path ${join(opts.path, "aigw.yaml")}`,
      );
    try {
      mkdirSync(dirname(file), { recursive: true });
      // "wx" fails if the file exists: no window between checking and writing.
      writeFileSync(file, STARTER_CONFIG, { flag: opts.force ? "w" : "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST")
        throw new CliError(
          `${file} already exists; nothing was written`,
          "overwrite it with: aigw init --force, or write elsewhere with --path FILE",
        );
      throw new CliError(`cannot write ${file}: ${(err as Error).message}`, null, 1);
    }
    const shown = relative(process.cwd(), file) || file;
    // aigw finds ./aigw.yaml by itself; anywhere else it needs --config.
    const config = shown === "aigw.yaml" ? "" : ` --config ${shown}`;
    const steps = [
      ["aigw keys add openai", "store a key, encrypted (read from stdin or a hidden prompt)"],
      [`aigw doctor${config}`, "check the setup"],
      [`aigw start${config}`, "then point your SDK at http://127.0.0.1:4000/v1"],
    ] as const;
    const width = Math.max(...steps.map(([cmd]) => cmd.length)) + 2;
    process.stdout.write(
      [
        `wrote ${chalk.bold(shown)}: a starter config, every section documented with examples to switch on`,
        "",
        "next",
        ...steps.map(([cmd, what]) => `  ${cmd.padEnd(width)}${chalk.dim(what)}`),
        "",
        chalk.dim("no key yet? aigw start --demo answers every model with the built-in mock"),
        "",
      ].join("\n"),
    );
  });
