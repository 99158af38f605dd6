import { readFileSync } from "node:fs";
import { fastCheckConfig } from "./fast-check.js";
import { findConfigFile, parseYaml } from "./find.js";
import type { LoadedConfig } from "./load.js";

/**
 * `loadConfig` for `aigw start`, where start-up time counts: yaml is loaded only when a config file
 * exists, and zod only when the hand-written check (fast-check.ts) is not sure, so that a bad config
 * still gets zod's messages, word for word the same as `loadConfig`'s.
 */
export async function loadConfigQuick(opts: Parameters<typeof findConfigFile>[0]): Promise<LoadedConfig> {
  const file = findConfigFile(opts);
  let raw: unknown = {};
  if (file) {
    const text = readFileSync(file, "utf8");
    // Bundled, a CommonJS package's named exports sit on `default`.
    const yaml = (await import("yaml")) as typeof import("yaml") & { default?: typeof import("yaml") };
    raw = parseYaml(text, file, (yaml.default ?? yaml).parseDocument);
  }
  const config = fastCheckConfig(raw);
  if (config) return { config, file };
  const { parseConfig } = await import("./load.js");
  return { config: parseConfig(raw, file ?? "(defaults)"), file };
}
