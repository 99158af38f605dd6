import { Command } from "commander";
import type { HomePaths } from "../config/paths.js";
import type { FeedTransport } from "../ui/use-gateway-feed.js";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";
import { findGateway } from "./gateway-client.js";

export const dashboardCommand = new Command("dashboard")
  .description("live view of the running gateway: requests, rate limits, costs")
  .addHelpText("after", "\nKeys: q quit · p pause · / filter by model or client · tab next panel · ↑↓ scroll")
  .action(async (_opts: unknown, command: Command) => {
    await runDashboard(homeOf(command));
  });

/**
 * Shows the dashboard of the gateway running for `paths` until the user quits. Ink and React load
 * here, not at start-up, so other commands never pay for them. `aigw start --dashboard` calls this
 * after its gateway has written run.json.
 */
export async function runDashboard(
  paths: HomePaths,
  opts: { transport?: FeedTransport } = {},
): Promise<void> {
  if (!process.stdout.isTTY || !process.stdin.isTTY) {
    throw new CliError(
      "the dashboard needs an interactive terminal (stdin and stdout must be a TTY)",
      "for a line per request use: aigw tail (or aigw tail --json for NDJSON)",
    );
  }
  findGateway(paths);
  const [{ mountDashboard }, { gatewayTransport }] = await Promise.all([
    import("../ui/mount.js"),
    import("../ui/gateway-transport.js"),
  ]);
  const transport = opts.transport ?? gatewayTransport(paths);
  // The alternate screen, as full-screen tools use: quitting gives the terminal back as it was.
  process.stdout.write("\x1b[?1049h\x1b[H");
  try {
    await mountDashboard(transport);
  } finally {
    process.stdout.write("\x1b[?1049l");
  }
}
