import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ClientIndex } from "../gateway/clients.js";
import {
  type ClientStore,
  ClientStoreError,
  clientNameProblem,
  createClientStore,
  hashClientKey,
} from "./clients.js";
import { type Db, openDb } from "./db.js";

let dir: string;
let db: Db;
let store: ClientStore;
const T0 = Date.UTC(2026, 10, 1, 12);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-clients-"));
  db = openDb(join(dir, "aigw.db"));
  store = createClientStore(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof ClientStoreError ? err.code : err;
  }
  return null;
};

describe("client store", () => {
  it("adds a client with a fresh aigw_ key of 256 bits, shown once, and lists it without secrets", () => {
    const { client, key } = store.add(
      { name: "web", rpm: 60, daily_budget_usd: 2.5, models: ["openai/*", "claude-haiku-4-5"] },
      T0,
    );
    expect(key).toMatch(/^aigw_[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(key.slice(5), "base64url")).toHaveLength(32);
    expect(client.key_prefix).toBe(`${key.slice(0, 9)}…`);
    expect(store.add({ name: "other" }, T0 + 1).key).not.toBe(key);

    const [listed] = store.list();
    expect(listed).toEqual({
      name: "web",
      key_prefix: client.key_prefix,
      rpm: 60,
      tpm: null,
      daily_budget_usd: 2.5,
      monthly_budget_usd: null,
      models: ["openai/*", "claude-haiku-4-5"],
      created_at: T0,
      revoked_at: null,
      previous_expires_at: null,
    });
    expect(JSON.stringify(store.list())).not.toContain(key);
    expect(store.get("web")).toEqual(listed);
    expect(store.get("nope")).toBeNull();
    expect(store.activeCount()).toBe(2);
  });

  it("keeps only the SHA-256 of a key: the key's bytes are nowhere in the database files", () => {
    const keys = [store.add({ name: "a" }, T0).key, store.rotate("a", 60_000, T0 + 1).key];
    db.pragma("wal_checkpoint(PASSIVE)");
    const bytes = Buffer.concat(readdirSync(dir).map((f) => readFileSync(join(dir, f))));
    for (const key of keys) {
      expect(bytes.includes(Buffer.from(key))).toBe(false);
      expect(bytes.includes(Buffer.from(key.slice(5)))).toBe(false);
      expect(bytes.includes(hashClientKey(key))).toBe(true);
    }
  });

  it("refuses bad and duplicate names, and unknown clients", () => {
    for (const bad of ["", "has space", "-dash-first", "a/b", "x".repeat(65), "ümlaut"]) {
      expect(clientNameProblem(bad)).toBeTruthy();
      expect(refusal(() => store.add({ name: bad }, T0))).toBe("invalid_name");
    }
    for (const good of ["web", "ci-bot_2", "team.app", "A"]) expect(clientNameProblem(good)).toBeNull();
    store.add({ name: "web" }, T0);
    expect(refusal(() => store.add({ name: "web" }, T0))).toBe("duplicate");
    expect(refusal(() => store.revoke("nope", T0))).toBe("unknown");
    expect(refusal(() => store.rotate("nope", 0, T0))).toBe("unknown");
  });

  it("revokes once; a revoked client cannot be rotated and no longer counts as active", () => {
    store.add({ name: "web" }, T0);
    store.rotate("web", 60_000, T0);
    expect(store.revoke("web", T0 + 5)).toBe(true);
    expect(store.revoke("web", T0 + 6)).toBe(false);
    expect(store.get("web")).toMatchObject({ revoked_at: T0 + 5, previous_expires_at: null });
    expect(store.activeCount()).toBe(0);
    expect(refusal(() => store.rotate("web", 0, T0))).toBe("revoked");
  });

  it("rotates: the new key works, the old one until the grace ends; grace 0 drops it at once", () => {
    const { key: first } = store.add({ name: "web", models: ["openai/*"] }, T0);
    const index = new ClientIndex(store);
    expect(index.lookup(first, T0)).toMatchObject({ name: "web", models: ["openai/*"] });

    const { key: second, client } = store.rotate("web", 60_000, T0 + 1000);
    expect(client.previous_expires_at).toBe(T0 + 61_000);
    expect(client.key_prefix).toBe(`${second.slice(0, 9)}…`);
    expect(index.lookup(second, T0 + 1000)).toBeNull(); // not reloaded yet
    index.reload();
    expect(index.lookup(second, T0 + 1000)?.name).toBe("web");
    expect(index.lookup(first, T0 + 60_999)?.name).toBe("web");
    expect(index.lookup(first, T0 + 61_000)).toBeNull();
    expect(index.authenticate(first, T0 + 61_000)).toEqual({ rejected: "client_key_expired" });

    // A second rotation ends the first key's grace at once: only the key being replaced gets one.
    const { key: third } = store.rotate("web", 0, T0 + 2000);
    index.reload();
    expect(store.get("web")?.previous_expires_at).toBeNull();
    expect(index.lookup(first, T0 + 2000)).toBeNull();
    expect(index.lookup(second, T0 + 2000)).toBeNull();
    expect(index.lookup(third, T0 + 2000)?.name).toBe("web");

    store.revoke("web", T0 + 3000);
    index.reload();
    expect(index.authenticate(third, T0 + 3000)).toEqual({ rejected: "client_key_revoked" });
    expect(index.authenticate("aigw_nothing", T0)).toEqual({ rejected: "client_key_invalid" });
    // Revoking the last client keeps authentication on.
    expect(index.hasClients()).toBe(true);
  });
});
