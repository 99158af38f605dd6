import type { Command } from "commander";
import type { HomePaths } from "../../config/paths.js";
import { readRunFile } from "../../config/run-file.js";
import { parseDuration } from "../../config/units.js";
import { type ClientStore, ClientStoreError, type StoredClient } from "../../store/clients.js";
import { CliError } from "../cli-error.js";
import { homeOf } from "../common.js";
import { cliPgStores } from "../shared.js";

export interface ClientsContext {
  paths: HomePaths;
  store: ClientStore;
  close(): void;
}

/** Opens the client store of the command's home (read-write: an older database gets migrated). */
export async function clientsContext(
  command: Command,
  opts: { existing?: boolean } = {},
): Promise<ClientsContext> {
  const paths = homeOf(command, opts);
  const shared = await cliPgStores(paths);
  if (shared) return { paths, store: shared.clients, close: () => void shared.close() };
  const [{ openDb }, { createClientStore }] = await Promise.all([
    import("../../store/db.js"),
    import("../../store/clients.js"),
  ]);
  const db = openDb(paths.db);
  return { paths, store: createClientStore(db), close: () => db.close() };
}

/** Runs a store call, turning its refusals (unknown, duplicate, revoked) into one-line CLI errors. */
export function storeCall<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (!(err instanceof ClientStoreError)) throw err;
    const hint = {
      invalid_name: null,
      duplicate:
        "pick another name (names stay taken after a revoke), or give it a new key: aigw clients rotate",
      unknown: "see the names with: aigw clients list",
      revoked: null,
    }[err.code];
    throw new CliError(err.message, hint, err.code === "invalid_name" ? 2 : 1);
  }
}

export { positiveInt } from "../common.js";

export const usd = (flag: string) => (value: string) => {
  const text = value.trim().replace(/^\$/, "");
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n) || n <= 0)
    throw new CliError(`${flag}: expected an amount in USD like 5 or 12.50, got "${value}"`, null, 2);
  return n;
};

export function modelList(value: string): string[] {
  const models = value
    .split(",")
    .map((m) => m.trim())
    .filter(Boolean);
  if (!models.length || models.some((m) => /\s/.test(m)))
    throw new CliError(
      `--models: expected a comma-separated list like "openai/*,claude-haiku-4-5", got "${value}"`,
      null,
      2,
    );
  return [...new Set(models)];
}

export function grace(value: string): number {
  const ms = parseDuration(value);
  if (ms === null)
    throw new CliError(`--grace: expected a duration like 30s, 10m, 1h or 0, got "${value}"`, null, 2);
  return ms;
}

export type ClientState = "active" | "rotating" | "revoked";

export function clientState(client: StoredClient, now: number): ClientState {
  if (client.revoked_at !== null) return "revoked";
  return (client.previous_expires_at ?? 0) > now ? "rotating" : "active";
}

/** Local date and time as people read it: 2026-11-01 14:03, with `:27` seconds when they matter. */
export function formatWhen(ms: number, seconds = false): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ""}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

/** How to use a key, shown after it is printed: against the running gateway if there is one. */
export function usageHint(paths: HomePaths): string {
  const running = readRunFile(paths.runFile);
  const url = running?.url ?? "http://127.0.0.1:4000";
  return [
    `Use it as your SDK's apiKey (OpenAI SDK baseURL "${url}/v1", Anthropic SDK baseURL "${url}"),`,
    "or send it in Authorization: Bearer <key>, x-api-key or x-gateway-key.",
    running ? `The gateway running at ${url} accepts it within a second.` : null,
  ]
    .filter(Boolean)
    .join("\n");
}
