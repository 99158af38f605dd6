import chalk from "chalk";

/** The one error a command throws: a message for people, an optional hint, and the exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly hint: string | null = null,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

/** The one place a command failure is printed: one line on stderr, the stack only with AIGW_DEBUG=1. */
export function handleCliError(err: unknown): void {
  const debug = process.env.AIGW_DEBUG === "1";
  if (err instanceof CliError) {
    process.stderr.write(`${chalk.red("aigw:")} ${err.message}\n`);
    if (err.hint) process.stderr.write(`${chalk.dim(err.hint)}\n`);
    if (debug && err.cause) process.stderr.write(`${String((err.cause as Error).stack ?? err.cause)}\n`);
    process.exitCode = err.exitCode;
    return;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${chalk.red("aigw:")} ${message}\n`);
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  else process.stderr.write(chalk.dim("(run with AIGW_DEBUG=1 for the stack trace)\n"));
  process.exitCode = 1;
}
