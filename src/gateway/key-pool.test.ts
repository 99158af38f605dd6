import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import { anthropicDialect } from "../providers/anthropic.js";
import { openaiDialect, parseGoDuration } from "../providers/openai.js";
import { createProviders } from "../providers/registry.js";
import { type Db, openDb } from "../store/db.js";
import { createKeyStore, type KeyStore } from "../store/keys.js";
import { loadMasterKey, type MasterKey } from "../store/secrets.js";
import { EventBus } from "./events.js";
import { KeyPool, retryAfterMs } from "./key-pool.js";

let dir: string;
let db: Db;
let store: KeyStore;
let master: MasterKey;
let now: number;
const clock = { now: () => now };
const providers = createProviders(parseConfig({}, "test"));
const openai = providers.get("openai")!;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-pool-"));
  db = openDb(join(dir, "aigw.db"));
  store = createKeyStore(db);
  master = loadMasterKey(join(dir, "master.key"), { create: true })!;
  now = 1_000_000;
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

const pool = (env: NodeJS.ProcessEnv = {}, events = new EventBus()) =>
  new KeyPool({ providers, store, loadMaster: () => master, env, clock, events });

const leaseOf = (p: KeyPool) => {
  const got = p.acquire(openai);
  if (!("lease" in got)) throw new Error(`expected a lease, got a wait until ${got.waitUntil}`);
  return got.lease;
};

describe("KeyPool", () => {
  it("rotates round-robin over healthy stored keys and ignores the environment then", () => {
    const a = store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    const b = store.add({ provider: "openai", secret: "sk-b" }, master, 2);
    const p = pool({ OPENAI_API_KEY: "sk-env" });
    expect([1, 2, 3, 4].map(() => leaseOf(p).id)).toEqual([a.id, b.id, a.id, b.id]);
    expect(leaseOf(p).secret).toBe("sk-a");
  });

  it("uses the environment key when none is stored, and none for keyless providers", () => {
    const p = pool({ OPENAI_API_KEY: "sk-env" });
    expect(leaseOf(p)).toEqual({ id: "env:OPENAI_API_KEY", secret: "sk-env" });
    expect(p.acquire(providers.get("ollama")!)).toEqual({ lease: { id: null, secret: null } });
    expect(() => pool().acquire(openai)).toThrow(/OPENAI_API_KEY.*aigw keys add openai/);
  });

  it("cools a key on 429 for the upstream's hint, persists it, and brings it back on time", () => {
    const a = store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    const b = store.add({ provider: "openai", secret: "sk-b" }, master, 2);
    const events = new EventBus();
    const seen: string[] = [];
    events.subscribe((e) => seen.push(e.type === "limiter" ? `${e.key_id}:${e.state}` : e.type));
    const p = pool({}, events);
    const first = leaseOf(p);
    expect(p.rateLimited(first, 5000)).toBe(now + 5000);
    expect(seen).toEqual([`${a.id}:cooling`]);
    expect(store.list().find((k) => k.id === a.id)?.cooldown_until).toBe(now + 5000);
    expect([1, 2].map(() => leaseOf(p).id)).toEqual([b.id, b.id]);
    p.rateLimited({ id: b.id, secret: "sk-b" }, 2000);
    expect(p.acquire(openai)).toEqual({ waitUntil: now + 2000 });
    now += 2000;
    expect(leaseOf(p).id).toBe(b.id);
    // A fresh pool (a restarted gateway) still sees a's cooldown.
    expect(
      pool()
        .status()
        .find((k) => k.id === a.id),
    ).toMatchObject({ state: "cooling", cooldown_until: 1_005_000 });
  });

  it("backs off 1 s, 2 s, 4 s on 429s without a hint, and resets after a success", () => {
    store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    const p = pool();
    const lease = leaseOf(p);
    const waits = [1, 2, 3].map(() => p.rateLimited(lease, null)! - now);
    expect(waits).toEqual([1000, 2000, 4000]);
    p.succeeded(lease);
    expect(p.rateLimited(lease, null)! - now).toBe(1000);
  });

  it("retires a key on 401 and says so when every key is retired", () => {
    const a = store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    const p = pool();
    p.rejected(leaseOf(p), 401, "Incorrect API key provided");
    expect(store.list()[0]).toMatchObject({ invalid: true, last_error: "401: Incorrect API key provided" });
    expect(() => p.acquire(openai)).toThrow(new RegExp(`rejected by the upstream \\(${a.id}\\)`));
    store.setDisabled(a.id, false); // `aigw keys enable` clears the verdict
    p.reload();
    expect(leaseOf(p).id).toBe(a.id);
  });

  it("picks up keys added, disabled and removed by reload", () => {
    const p = pool({ OPENAI_API_KEY: "sk-env" });
    expect(leaseOf(p).id).toBe("env:OPENAI_API_KEY");
    const a = store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    p.reload();
    expect(leaseOf(p).id).toBe(a.id);
    store.setDisabled(a.id, true);
    p.reload();
    expect(leaseOf(p).id).toBe("env:OPENAI_API_KEY");
  });

  it("refuses to run with stored keys and no master key, or the wrong one", () => {
    store.add({ provider: "openai", secret: "sk-a" }, master, 1);
    expect(
      () => new KeyPool({ providers, store, loadMaster: () => null, env: {}, clock, events: new EventBus() }),
    ).toThrow(/no master key was found: set AIGW_MASTER_KEY/);
    const other = loadMasterKey(join(dir, "other.key"), { create: true })!;
    expect(
      () =>
        new KeyPool({ providers, store, loadMaster: () => other, env: {}, clock, events: new EventBus() }),
    ).toThrow(/not the one the stored upstream keys were encrypted with/);
  });
});

describe("retryAfterMs and the providers' reset headers", () => {
  it.each([
    [{ "retry-after-ms": "250" }, 250],
    [{ "retry-after": "3" }, 3000],
    [{ "retry-after": new Date(1_000_000 + 7000).toUTCString() }, 7000],
    [{ "x-ratelimit-reset-requests": "6m0s" }, 360_000],
    [{ "x-ratelimit-reset-tokens": "120ms" }, 120],
    [{ "anthropic-ratelimit-requests-reset": new Date(1_000_000 + 9000).toISOString() }, 9000],
    [{}, null],
    [{ "retry-after": "soon" }, null],
  ])("%j → %s", (headers, expected) => {
    const now = 1_000_000;
    const ms =
      retryAfterMs(headers, now) ??
      openaiDialect.resetMs(headers, now) ??
      anthropicDialect.resetMs(headers, now);
    expect(ms).toBe(expected);
  });

  it("reads Go-style durations", () => {
    expect(parseGoDuration("1h2m3.5s")).toBe(3_723_500);
    expect(parseGoDuration("soon")).toBeNull();
  });
});
