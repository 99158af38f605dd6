import { ConfigError } from "../config/error.js";
import type { HomePaths } from "../config/paths.js";
import type { Config } from "../config/schema.js";
import { redactUrl, type SharedSettings, sharedSettings } from "../config/shared.js";
import type { HotState } from "../gateway/hot-state.js";
import type { RedisHotState } from "../gateway/shared/redis-hot-state.js";
import type { Db } from "../store/db.js";
import type { PgStores } from "../store/pg/index.js";
import { CliError } from "./cli-error.js";

/** What `aigw start` gets from `shared:`: nothing at all when it is absent (no redis or pg loaded). */
export interface SharedSetup {
  pg: PgStores | null;
  /** Handed to createGateway. */
  gatewayOptions: { hot?: HotState };
  /** Called once listening: starts shipping usage rows, names this instance. */
  started(opts: { db: Db; instance: string }): void;
  /** Ships what is pending, then disconnects. */
  close(): Promise<void>;
}

export async function openShared(config: Config, onFail: () => void): Promise<SharedSetup> {
  const settings = sharedSettings(config);
  if (!settings) return { pg: null, gatewayOptions: {}, started() {}, async close() {} };
  let pg: PgStores | null = null;
  let shipper: { flush(): Promise<void>; close(): Promise<void> } | null = null;
  const pgModule = settings.postgres ? await import("../store/pg/index.js") : null;
  if (pgModule && settings.postgres) {
    try {
      pg = pgModule.openPgStores(settings.postgres, settings.prefix, { background: true });
    } catch (err) {
      onFail();
      if (err instanceof pgModule.PgError) throw new CliError(err.message, "nothing was started");
      throw err;
    }
  }
  let hot: RedisHotState | null = null;
  if (settings.redis) {
    const { RedisHotState } = await import("../gateway/shared/redis-hot-state.js");
    hot = new RedisHotState(settings.redis, settings.prefix);
    await hot.ready();
  }
  return {
    pg,
    gatewayOptions: hot ? { hot } : {},
    started({ db, instance }) {
      if (pg && pgModule && settings.postgres)
        shipper = pgModule.startUsageShipper({ db, url: settings.postgres, schema: pg.schema, instance });
    },
    async close() {
      await shipper?.flush();
      await shipper?.close();
      await pg?.close();
    },
  };
}

/** The shared settings of the config a CLI command runs with (null: nothing is shared). */
export async function cliSharedSettings(paths: HomePaths, explicit?: string): Promise<SharedSettings | null> {
  try {
    const { loadConfigQuick } = await import("../config/quick.js");
    return sharedSettings((await loadConfigQuick({ explicit, homeConfig: paths.config })).config);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/** For CLI commands: the PostgreSQL stores when the config shares them, else null (use SQLite). */
export async function cliPgStores(paths: HomePaths, explicit?: string): Promise<PgStores | null> {
  const settings = await cliSharedSettings(paths, explicit);
  if (!settings?.postgres) return null;
  const { openPgStores, PgError } = await import("../store/pg/index.js");
  try {
    return openPgStores(settings.postgres, settings.prefix);
  } catch (err) {
    if (err instanceof PgError)
      throw new CliError(err.message, `check shared.postgres (${redactUrl(settings.postgres)})`);
    throw err;
  }
}
