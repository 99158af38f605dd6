import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openDb } from "./db.js";
import { createStoredResponses, type StoredResponse, type StoredResponses } from "./stored-responses.js";

let dir: string;
let db: Db;
let store: StoredResponses;
const T0 = Date.UTC(2026, 11, 1, 12);
const DAY = 86_400_000;

const entry = (id: string, client: string | null, created: number): StoredResponse => ({
  id,
  client,
  model: "anthropic/claude-haiku-4-5",
  created_at: created,
  expires_at: created + 3 * DAY,
  input: [{ role: "user", content: "hi" }],
  response: { id, object: "response", output: [] },
});

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-responses-"));
  db = openDb(join(dir, "aigw.db"));
  store = createStoredResponses(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("stored responses", () => {
  it("gives an entry back to its own client only, until it expires", () => {
    store.put(entry("resp_a", "alice", T0));
    expect(store.get("resp_a", "alice", T0 + DAY)?.input).toEqual([{ role: "user", content: "hi" }]);
    expect(store.get("resp_a", "bob", T0 + DAY)).toBeNull();
    expect(store.get("resp_a", null, T0 + DAY)).toBeNull();
    expect(store.get("resp_a", "alice", T0 + 3 * DAY)).toBeNull();
  });

  it("deletes for the owner only", () => {
    store.put(entry("resp_a", "alice", T0));
    expect(store.delete("resp_a", "bob")).toBe(false);
    expect(store.delete("resp_a", "alice")).toBe(true);
    expect(store.count()).toBe(0);
  });

  it("sweeps expired entries in bounded bites, and clears by age", () => {
    for (let i = 0; i < 5; i++) store.put(entry(`resp_old${i}`, null, T0));
    store.put(entry("resp_new", null, T0 + 2 * DAY));
    expect(store.sweep(T0 + 3 * DAY, 3)).toBe(3);
    expect(store.sweep(T0 + 3 * DAY, 3)).toBe(2);
    expect(store.count()).toBe(1);
    expect(store.clear(T0 + DAY)).toBe(0);
    expect(store.clear()).toBe(1);
  });

  it("clears by model as `aigw cache clear --model` names it: exact, bare name or glob", () => {
    store.put(entry("resp_a", null, T0));
    store.put({ ...entry("resp_b", null, T0), model: "local/llama3.2" });
    store.put({ ...entry("resp_c", null, T0), model: "local/qwen3" });
    expect(store.clear(undefined, "claude-haiku-4-5")).toBe(1);
    expect(store.clear(undefined, "local/llama3.2")).toBe(1);
    expect(store.clear(T0, "local/*")).toBe(0); // created at T0, not before it
    expect(store.clear(undefined, "local/*")).toBe(1);
    expect(store.count()).toBe(0);
  });

  it("is migration 5 of the schema", () => {
    expect(db.pragma("user_version", { simple: true })).toBeGreaterThanOrEqual(5);
  });
});
