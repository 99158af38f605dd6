import { existsSync } from "node:fs";
import { resolve } from "node:path";

/** A config problem, already phrased for people: file, field and what was expected. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * `--config FILE`, else `$AIGW_CONFIG`, else `./aigw.yaml`, else `<home>/config.yaml`; none needed.
 * Apart from load.ts so a command can learn there is no config without loading YAML and zod.
 */
export function findConfigFile(opts: {
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  homeConfig: string;
}): string | null {
  const env = opts.env ?? process.env;
  const named = opts.explicit ?? env.AIGW_CONFIG;
  if (named) {
    const file = resolve(opts.cwd ?? process.cwd(), named);
    if (!existsSync(file)) throw new ConfigError(`config file not found: ${file}`);
    return file;
  }
  for (const file of [resolve(opts.cwd ?? process.cwd(), "aigw.yaml"), opts.homeConfig]) {
    if (existsSync(file)) return file;
  }
  return null;
}
