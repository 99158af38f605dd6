import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { homePaths } from "./paths.js";

describe("homePaths", () => {
  it("takes --home, else $AIGW_HOME, else ~/.aigw", () => {
    expect(homePaths("/tmp/a", { AIGW_HOME: "/tmp/b" }).home).toBe(resolve("/tmp/a"));
    expect(homePaths(undefined, { AIGW_HOME: "/tmp/b" }).home).toBe(resolve("/tmp/b"));
    expect(homePaths(undefined, {}).home).toBe(join(homedir(), ".aigw"));
  });

  it("treats an empty AIGW_HOME or --home as unset, not as the current directory", () => {
    expect(homePaths(undefined, { AIGW_HOME: "" }).home).toBe(join(homedir(), ".aigw"));
    expect(homePaths("", { AIGW_HOME: "/tmp/b" }).home).toBe(resolve("/tmp/b"));
    expect(homePaths(undefined, { AIGW_HOME: "" }).db).toBe(join(homedir(), ".aigw", "aigw.db"));
  });
});
