import { Command, Option } from "commander";
import { readRunFile } from "../config/run-file.js";
import { formatMs } from "../ui/format.js";
import { CliError } from "./cli-error.js";
import { homeOf, positiveInt } from "./common.js";

export const stopCommand = new Command("stop")
  .description("stop the gateway of this home: SIGTERM, then wait while in-flight requests finish")
  .addOption(
    new Option("--timeout <seconds>", "how long to wait for it to exit")
      .argParser(positiveInt("--timeout"))
      .default(15),
  )
  .addHelpText(
    "after",
    "\nExit code: 0 stopped; 1 none was running, or it did not exit within --timeout (it keeps draining).",
  )
  .action(async (opts: { timeout: number }, command: Command) => {
    const paths = homeOf(command, { existing: true });
    const info = readRunFile(paths.runFile);
    if (!info) throw new CliError(`no gateway is running for ${paths.home}`, "nothing to stop");
    const started = Date.now();
    try {
      process.kill(info.pid, "SIGTERM");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH")
        throw new CliError(`could not signal pid ${info.pid}: ${(err as Error).message}`);
    }
    // The gateway drains for up to 10 s; poll its pid, bounded by --timeout.
    const deadline = started + opts.timeout * 1000;
    while (alive(info.pid)) {
      if (Date.now() > deadline)
        throw new CliError(
          `aigw (pid ${info.pid}) did not stop within ${opts.timeout}s`,
          `it may still be finishing requests; force it with: kill -9 ${info.pid}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    process.stdout.write(
      `stopped aigw at ${info.url} (pid ${info.pid}) in ${formatMs(Date.now() - started)}\n`,
    );
  });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
