// The entry of `aigw start` (see cli.ts): the same program with only the start command, loaded statically.
import { startCommand } from "./commands/start.js";
import { runCli } from "./program.js";

await runCli({ start: async () => startCommand });
