import type { Config } from "./schema.js";

/** Where the shared state lives, from `shared:` in the config or $AIGW_REDIS_URL / $AIGW_POSTGRES_URL. */
export interface SharedSettings {
  redis: string | null;
  postgres: string | null;
  prefix: string;
}

/** Null when nothing is shared: the gateway keeps everything in memory and its SQLite file. */
export function sharedSettings(
  config: Pick<Config, "shared">,
  env: NodeJS.ProcessEnv = process.env,
): SharedSettings | null {
  const redis = config.shared?.redis ?? (env.AIGW_REDIS_URL || null);
  const postgres = config.shared?.postgres ?? (env.AIGW_POSTGRES_URL || null);
  if (!redis && !postgres) return null;
  return { redis, postgres, prefix: config.shared?.prefix ?? "aigw" };
}

/** A connection URL safe to print: the password masked. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}
