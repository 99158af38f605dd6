import { createHash } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { fastCheckConfig } from "./fast-check.js";
import { findConfigFile, parseYaml } from "./find.js";
import type { LoadedConfig } from "./load.js";

/**
 * `loadConfig` for `aigw start`, where start-up time counts: yaml is loaded only when a config file
 * exists and differs from the one parsed last time (`cacheFile`), and zod only when the hand-written
 * check (fast-check.ts) is not sure, so that a bad config still gets zod's messages, word for word the
 * same as `loadConfig`'s.
 */
export async function loadConfigQuick(
  opts: Parameters<typeof findConfigFile>[0] & { cacheFile?: string },
): Promise<LoadedConfig> {
  const file = findConfigFile(opts);
  let raw: unknown = {};
  if (file) {
    const text = readFileSync(file, "utf8");
    const hash = createHash("sha256").update(text).digest("base64url");
    const cached = opts.cacheFile ? readCache(opts.cacheFile, hash) : undefined;
    if (cached !== undefined) raw = cached;
    else {
      // Bundled, a CommonJS package's named exports sit on `default`.
      const yaml = (await import("yaml")) as typeof import("yaml") & { default?: typeof import("yaml") };
      raw = parseYaml(text, file, (yaml.default ?? yaml).parseDocument);
      if (opts.cacheFile) writeCache(opts.cacheFile, hash, raw);
    }
  }
  const config = fastCheckConfig(raw);
  if (config) return { config, file };
  const { parseConfig } = await import("./load.js");
  return { config: parseConfig(raw, file ?? "(defaults)"), file };
}

/**
 * The YAML's data as parsed last time, when the text hashes the same (loading and running the YAML
 * parser is ~15-30 ms of a start). The data is checked and defaulted after this as when parsed.
 */
function readCache(cacheFile: string, hash: string): unknown {
  try {
    const entry = JSON.parse(readFileSync(cacheFile, "utf8")) as {
      v?: unknown;
      hash?: unknown;
      data?: unknown;
    };
    return entry.v === 1 && entry.hash === hash ? entry.data : undefined;
  } catch {
    return undefined; // none yet, or unreadable: parse the YAML
  }
}

/** Kept only when JSON carries the data exactly (YAML can say .inf, which JSON cannot). */
function writeCache(cacheFile: string, hash: string, data: unknown): void {
  try {
    const json = JSON.stringify({ v: 1, hash, data });
    if (!isDeepStrictEqual((JSON.parse(json) as { data: unknown }).data, data)) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    writeFileSync(tmp, json, { mode: 0o600 });
    renameSync(tmp, cacheFile);
  } catch {
    // a home not made yet, or read-only: the next start parses the YAML again
  }
}
