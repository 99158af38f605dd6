import { render } from "ink";
import { Dashboard } from "./Dashboard.js";
import type { FeedTransport } from "./use-gateway-feed.js";

/** Renders the dashboard on this terminal; resolves when the user quits. */
export async function mountDashboard(transport: FeedTransport): Promise<void> {
  const app = render(<Dashboard transport={transport} />, { exitOnCtrlC: true, patchConsole: true });
  await app.waitUntilExit();
}
