import { createHash, randomBytes } from "node:crypto";
import type { Db } from "./db.js";

/** A client as stored, without its key hashes: safe to show and to print as JSON. */
export interface StoredClient {
  name: string;
  /** `aigw_AbCd…`: enough to tell keys apart, far too little to guess one. */
  key_prefix: string;
  rpm: number | null;
  tpm: number | null;
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  /** Allowed model names or globs (`openai/*`); null allows every model. */
  models: string[] | null;
  created_at: number;
  revoked_at: number | null;
  /** Until when the key replaced by the last rotation still works (ms), or null. */
  previous_expires_at: number | null;
}

/** A client with the hashes the gateway authenticates against. Never leaves the process. */
export interface ClientCredentials extends StoredClient {
  key_hash: Buffer;
  previous_key_hash: Buffer | null;
}

export interface NewClient {
  name: string;
  rpm?: number | null;
  tpm?: number | null;
  daily_budget_usd?: number | null;
  monthly_budget_usd?: number | null;
  models?: string[] | null;
}

/** A request the store cannot carry out (bad or duplicate name, unknown or revoked client). */
export class ClientStoreError extends Error {
  constructor(
    message: string,
    readonly code: "invalid_name" | "duplicate" | "unknown" | "revoked",
  ) {
    super(message);
    this.name = "ClientStoreError";
  }
}

export interface ClientStore {
  /** Creates a client and its key. The key is returned this once; only its SHA-256 is stored. */
  add(client: NewClient, now: number): { client: StoredClient; key: string };
  list(): StoredClient[];
  get(name: string): StoredClient | null;
  /** Revokes the client's key (and a rotated-out one still in grace). False when already revoked. */
  revoke(name: string, now: number): boolean;
  /** Changes limits, budgets or the allowlist; a field given as null clears it, one left out stays. */
  update(
    name: string,
    changes: Partial<Pick<NewClient, "rpm" | "tpm" | "daily_budget_usd" | "monthly_budget_usd" | "models">>,
  ): StoredClient;
  /** A new key; the current one keeps working until `now + graceMs` (0: stops at once). */
  rotate(name: string, graceMs: number, now: number): { client: StoredClient; key: string };
  /** Clients that are not revoked. */
  activeCount(): number;
  /** Every client, revoked ones included, with key hashes: what the gateway's auth index is built from. */
  credentials(): ClientCredentials[];
}

const KEY_PREFIX = "aigw_";
/** 32 random bytes: 256 bits of entropy, 43 base64url characters. */
const KEY_BYTES = 32;
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Null when `name` is a valid client name, else what is wrong with it. */
export function clientNameProblem(name: string): string | null {
  if (NAME.test(name)) return null;
  return `client name "${name}": use 1-64 letters, digits, "-", "_" or ".", starting with a letter or digit`;
}

export function hashClientKey(key: string): Buffer {
  return createHash("sha256").update(key, "utf8").digest();
}

function newKey(): { key: string; hash: Buffer; prefix: string } {
  const key = KEY_PREFIX + randomBytes(KEY_BYTES).toString("base64url");
  return { key, hash: hashClientKey(key), prefix: `${key.slice(0, KEY_PREFIX.length + 4)}…` };
}

export function createClientStore(db: Db): ClientStore {
  const insert = db.prepare(
    `INSERT INTO clients (name, key_hash, key_prefix, rpm, tpm, daily_budget_usd, monthly_budget_usd, models, created_at)
     VALUES (@name, @key_hash, @key_prefix, @rpm, @tpm, @daily_budget_usd, @monthly_budget_usd, @models, @created_at)`,
  );
  const all = db.prepare("SELECT * FROM clients ORDER BY created_at, name");
  const one = db.prepare("SELECT * FROM clients WHERE name = ?");
  const active = db.prepare("SELECT COUNT(*) FROM clients WHERE revoked_at IS NULL").pluck();
  const update = db.prepare(
    `UPDATE clients SET rpm = @rpm, tpm = @tpm, daily_budget_usd = @daily_budget_usd,
       monthly_budget_usd = @monthly_budget_usd, models = @models WHERE name = @name`,
  );
  const revoke = db.prepare(
    `UPDATE clients SET revoked_at = ?, previous_key_hash = NULL, previous_expires_at = NULL
     WHERE name = ? AND revoked_at IS NULL`,
  );
  const rotate = db.prepare(
    `UPDATE clients SET previous_key_hash = @previous, previous_expires_at = @expires,
       key_hash = @key_hash, key_prefix = @key_prefix
     WHERE name = @name AND revoked_at IS NULL`,
  );

  const row = (name: string) => one.get(name) as Record<string, unknown> | undefined;
  const existing = (name: string) => {
    const found = row(name);
    if (!found) throw new ClientStoreError(`no client named "${name}"`, "unknown");
    return found;
  };

  return {
    add(client, now) {
      const problem = clientNameProblem(client.name);
      if (problem) throw new ClientStoreError(problem, "invalid_name");
      const { key, hash, prefix } = newKey();
      try {
        insert.run({
          name: client.name,
          key_hash: hash,
          key_prefix: prefix,
          rpm: client.rpm ?? null,
          tpm: client.tpm ?? null,
          daily_budget_usd: client.daily_budget_usd ?? null,
          monthly_budget_usd: client.monthly_budget_usd ?? null,
          models: client.models ? JSON.stringify(client.models) : null,
          created_at: now,
        });
      } catch (err) {
        if ((err as { code?: string }).code !== "SQLITE_CONSTRAINT_PRIMARYKEY") throw err;
        throw new ClientStoreError(`a client named "${client.name}" already exists`, "duplicate");
      }
      return { client: toStoredClient(existing(client.name)), key };
    },
    list: () => (all.all() as Record<string, unknown>[]).map(toStoredClient),
    get(name) {
      const found = row(name);
      return found ? toStoredClient(found) : null;
    },
    update(name, changes) {
      const current = toStoredClient(existing(name));
      const next = { ...current, ...changes };
      update.run({
        name,
        rpm: next.rpm ?? null,
        tpm: next.tpm ?? null,
        daily_budget_usd: next.daily_budget_usd ?? null,
        monthly_budget_usd: next.monthly_budget_usd ?? null,
        models: next.models ? JSON.stringify(next.models) : null,
      });
      return toStoredClient(existing(name));
    },
    revoke(name, now) {
      existing(name);
      return revoke.run(now, name).changes > 0;
    },
    rotate(name, graceMs, now) {
      const current = existing(name);
      if (current.revoked_at !== null)
        throw new ClientStoreError(`client "${name}" is revoked; add a new client instead`, "revoked");
      const { key, hash, prefix } = newKey();
      const keep = graceMs > 0;
      rotate.run({
        name,
        previous: keep ? current.key_hash : null,
        expires: keep ? now + graceMs : null,
        key_hash: hash,
        key_prefix: prefix,
      });
      return { client: toStoredClient(existing(name)), key };
    },
    activeCount: () => active.get() as number,
    credentials: () =>
      (all.all() as Record<string, unknown>[]).map((r) => ({
        ...toStoredClient(r),
        key_hash: r.key_hash as Buffer,
        previous_key_hash: (r.previous_key_hash as Buffer | null) ?? null,
      })),
  };
}

/** A clients row (SQLite or PostgreSQL) as the stores hand it out. */
export function toStoredClient(row: Record<string, unknown>): StoredClient {
  return {
    name: row.name as string,
    key_prefix: row.key_prefix as string,
    rpm: row.rpm as number | null,
    tpm: row.tpm as number | null,
    daily_budget_usd: row.daily_budget_usd as number | null,
    monthly_budget_usd: row.monthly_budget_usd as number | null,
    models: typeof row.models === "string" ? (JSON.parse(row.models) as string[]) : null,
    created_at: row.created_at as number,
    revoked_at: row.revoked_at as number | null,
    previous_expires_at: row.previous_expires_at as number | null,
  };
}
