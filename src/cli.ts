import { commandNamed } from "./argv.js";

// `aigw start` runs from a bundle of its own (dist/start-cli.js, built apart by scripts/build.mjs): the
// gateway in one file instead of the forty small chunks it shares with the other commands in this
// bundle, each a module to resolve, read, compile and link before the gateway listens.
if (commandNamed(process.argv.slice(2), { start: true }) === "start") {
  await import("./start-cli.js");
} else {
  const [{ runCli }, { allCommands }] = await Promise.all([
    import("./program.js"),
    import("./commands/all.js"),
  ]);
  await runCli(allCommands);
}
