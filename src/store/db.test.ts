import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { migrate, openDb } from "./db.js";
import { migrations } from "./migrations.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-db-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const tables = (db: Database.Database) =>
  (
    db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[]
  )
    .map((r) => r.name)
    .filter((n) => !n.startsWith("sqlite_"));

describe("openDb migrations", () => {
  it("brings a file written by an older aigw to the latest schema and keeps its rows", () => {
    const file = join(dir, "aigw.db");
    const old = new Database(file);
    migrate(old, migrations.slice(0, 3));
    expect(old.pragma("user_version", { simple: true })).toBe(3);
    old
      .prepare(
        "INSERT INTO usage (id, started_at, client, route, provider, status, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run("req-old", 1_700_000_000_000, "cli", "chat", "openai", 200, 12);
    old.close();

    const db = openDb(file);
    expect(db.pragma("user_version", { simple: true })).toBe(migrations.length);
    expect(db.prepare("SELECT id, simulated FROM usage").all()).toEqual([{ id: "req-old", simulated: 0 }]);
    const fresh = openDb(join(dir, "fresh.db"));
    expect(tables(db)).toEqual(tables(fresh));
    db.close();
    fresh.close();
  });

  it("applies nothing when one pending migration fails: the file stays at its version", () => {
    const db = new Database(join(dir, "aigw.db"));
    migrate(db, migrations.slice(0, 2));
    expect(() => migrate(db, [...migrations.slice(0, 4), "CREATE TABLE broken (;"])).toThrow();
    expect(db.pragma("user_version", { simple: true })).toBe(2);
    expect(tables(db)).not.toContain("cache_entries");
    db.close();
  });
});
