import { readFileSync } from "node:fs";
import { parseDocument } from "yaml";
import type { z } from "zod";
import { ConfigError } from "./error.js";
import { findConfigFile, parseYaml } from "./find.js";
import { type Config, configSchema } from "./schema.js";

export { ConfigError } from "./error.js";
export { findConfigFile } from "./find.js";

export interface LoadedConfig {
  config: Config;
  /** The file it came from, or null when none was found (all defaults). */
  file: string | null;
}

export function loadConfig(opts: Parameters<typeof findConfigFile>[0]): LoadedConfig {
  const file = findConfigFile(opts);
  if (!file) return { config: parseConfig({}, "(defaults)"), file: null };
  return { config: parseConfig(parseYaml(readFileSync(file, "utf8"), file, parseDocument), file), file };
}

/** Validates a parsed config object; `source` names it in error messages. */
export function parseConfig(raw: unknown, source: string): Config {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const lines = result.error.issues
    .slice(0, 5)
    .flatMap((issue) =>
      issue.code === "unrecognized_keys"
        ? issue.keys.map((key) => `  ${[...issue.path.map(String), key].join(".")}: unknown field`)
        : [`  ${fieldOf(issue)}: ${issue.message.replace(/^Invalid input: /, "")}`],
    );
  throw new ConfigError(`${source}: invalid config\n${lines.join("\n")}`);
}

function fieldOf(issue: z.core.$ZodIssue): string {
  return issue.path.length ? issue.path.map(String).join(".") : "(top level)";
}
