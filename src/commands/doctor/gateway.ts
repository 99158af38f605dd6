import { existsSync } from "node:fs";
import { createServer } from "node:net";
import type { HomePaths } from "../../config/paths.js";
import { readRunFile } from "../../config/run-file.js";
import type { Config } from "../../config/schema.js";
import { formatDuration } from "../../ui/format.js";
import { version } from "../common.js";
import { type Check, fail, ok, warn } from "./check.js";

/** Checks of a running gateway of this home, or of the port a new one would take. */
export async function gatewayChecks(paths: HomePaths, config: Config | null): Promise<Check[]> {
  const info = readRunFile(paths.runFile);
  if (info) {
    const healthy = await answers(`${info.url}/aigw/health`, true);
    if (!healthy)
      return [
        fail(
          "gateway",
          `run.json names pid ${info.pid} (alive) at ${info.url}, but /aigw/health does not answer`,
          `if that process is not aigw, remove ${paths.runFile}`,
        ),
      ];
    const detail = `running at ${info.url}, pid ${info.pid}, up ${formatDuration(Date.now() - info.started_at)}`;
    if (info.version !== version)
      return [
        warn("gateway", `${detail}, version ${info.version}`, `restart it to run this aigw (${version})`),
      ];
    return [ok("gateway", detail)];
  }
  const stale = existsSync(paths.runFile) ? " (a stale run.json is left; aigw start replaces it)" : "";
  const checks = [ok("gateway", `not running${stale}`, "start it with: aigw start")];
  if (config) checks.push(await portCheck(config.host, config.port));
  return checks;
}

export async function portCheck(host: string, port: number): Promise<Check> {
  if (port === 0) return ok("port", "0: the gateway takes any free port");
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const code = await new Promise<string | null>((resolve) => {
    const server = createServer();
    server.once("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
  if (code === null) return ok("port", `${where} is free`);
  const hint = "stop what uses it, or pick another: aigw start --port N, or port: in the config";
  if (code === "EADDRINUSE")
    return warn("port", `${where} is in use by another program: aigw start would fail`, hint);
  return warn("port", `cannot listen on ${where} (${code}): aigw start would fail`, hint);
}

/** Whether an HTTP server answers at `url` within 1 s; any status counts unless `needOk`. */
export async function answers(url: string, needOk = false): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000), redirect: "manual" });
    await res.body?.cancel();
    return !needOk || res.ok;
  } catch {
    return false;
  }
}
