import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "./load.js";
import { loadConfigQuick } from "./quick.js";

let dir: string;
let file: string;
let cacheFile: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-quick-"));
  file = join(dir, "aigw.yaml");
  cacheFile = join(dir, "config-cache.json");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const load = () => loadConfigQuick({ explicit: file, homeConfig: join(dir, "none.yaml"), cacheFile });

describe("loadConfigQuick's parsed-config cache", () => {
  it("reads a file unchanged since the last start from the cache, and anything changed from the YAML", async () => {
    writeFileSync(file, "port: 4100\ncache: { enabled: false }\n");
    const first = await load();
    expect(first.config.port).toBe(4100);
    expect(first.config).toEqual(loadConfig({ explicit: file, homeConfig: join(dir, "none.yaml") }).config);
    const entry = JSON.parse(readFileSync(cacheFile, "utf8"));
    expect(entry.data).toEqual({ port: 4100, cache: { enabled: false } });

    // Same text: the cached data is what counts (so the YAML was not parsed again).
    writeFileSync(cacheFile, JSON.stringify({ ...entry, data: { port: 4200 } }));
    expect((await load()).config.port).toBe(4200);

    // One byte changed: parsed again, and the cache follows.
    writeFileSync(file, "port: 4101\ncache: { enabled: false }\n");
    expect((await load()).config.port).toBe(4101);
    expect(JSON.parse(readFileSync(cacheFile, "utf8")).data.port).toBe(4101);
  });

  it("ignores an unreadable cache, and caches nothing JSON cannot carry exactly", async () => {
    writeFileSync(file, "port: 4100\n");
    writeFileSync(cacheFile, "{not json");
    expect((await load()).config.port).toBe(4100);
    expect(JSON.parse(readFileSync(cacheFile, "utf8")).data).toEqual({ port: 4100 });

    rmSync(cacheFile);
    writeFileSync(file, "port: 4100\ntags: { weight: .inf }\n");
    await expect(load()).rejects.toThrow(); // not a valid config, but parsed: .inf is not JSON
    expect(existsSync(cacheFile)).toBe(false);
  });

  it("still reports a YAML error, and caches nothing for it", async () => {
    writeFileSync(file, "port: [4100\n");
    await expect(load()).rejects.toThrow(/not valid YAML/);
    expect(existsSync(cacheFile)).toBe(false);
  });
});
