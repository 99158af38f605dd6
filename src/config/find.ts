import { existsSync } from "node:fs";
import { resolve } from "node:path";
import type { parseDocument } from "yaml";
import { ConfigError } from "./error.js";

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

/** The config file's YAML as plain data (`{}` when empty). */
export function parseYaml(text: string, file: string, parse: typeof parseDocument): unknown {
  const doc = parse(text, { prettyErrors: true });
  const yamlError = doc.errors[0];
  if (yamlError) throw new ConfigError(`${file}: not valid YAML: ${yamlError.message.split("\n")[0]}`);
  return doc.toJS() ?? {};
}
