import { chmodSync, mkdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

/** Where aigw keeps its state: `--home`, else `$AIGW_HOME`, else `~/.aigw`. */
export interface HomePaths {
  home: string;
  db: string;
  masterKey: string;
  runFile: string;
  config: string;
  /** The last config file `aigw start` parsed, as JSON keyed by its text's hash (config/quick.ts). */
  configCache: string;
}

export function homePaths(homeOption?: string, env: NodeJS.ProcessEnv = process.env): HomePaths {
  // An empty AIGW_HOME (`AIGW_HOME= aigw …`) or --home is unset, not the current directory.
  const home = resolve(homeOption || env.AIGW_HOME || join(homedir(), ".aigw"));
  return {
    home,
    db: join(home, "aigw.db"),
    masterKey: join(home, "master.key"),
    runFile: join(home, "run.json"),
    config: join(home, "config.yaml"),
    configCache: join(home, "config-cache.json"),
  };
}

/** Creates the home folder (0700) if needed; tightens its mode if it exists. */
export function ensureHome(paths: HomePaths): void {
  mkdirSync(paths.home, { recursive: true, mode: 0o700 });
  chmodSync(paths.home, 0o700);
}
