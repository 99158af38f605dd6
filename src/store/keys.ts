import { randomBytes } from "node:crypto";
import type { Db } from "./db.js";
import {
  decryptSecret,
  encryptSecret,
  type MasterKey,
  MasterKeyError,
  maskSecret,
  masterKeyCheck,
} from "./secrets.js";

/** An upstream key as stored: everything but the secret, which stays encrypted. */
export interface StoredKey {
  id: string;
  provider: string;
  label: string | null;
  masked: string;
  rpm: number | null;
  tpm: number | null;
  disabled: boolean;
  invalid: boolean;
  cooldown_until: number | null;
  last_error: string | null;
  created_at: number;
}

export interface KeyUse {
  requests: number;
  tokens: number;
  last_used_at: number | null;
}

export interface KeyStore {
  add(
    opts: { provider: string; secret: string; label?: string; rpm?: number; tpm?: number },
    master: MasterKey,
    now: number,
  ): StoredKey;
  list(): StoredKey[];
  /** Stored secrets, decrypted; throws MasterKeyError when the master key is not theirs. */
  secrets(master: MasterKey): Map<string, string>;
  count(): number;
  remove(id: string): boolean;
  setDisabled(id: string, disabled: boolean): boolean;
  markInvalid(id: string, error: string): void;
  setCooldown(id: string, until: number, error: string): void;
  /** Requests and tokens per key since `since` (ms), from the usage log. */
  usageSince(since: number): Map<string, KeyUse>;
}

export function createKeyStore(db: Db): KeyStore {
  const insert = db.prepare(
    `INSERT INTO upstream_keys (id, provider, label, secret, masked, rpm, tpm, created_at)
     VALUES (@id, @provider, @label, @secret, @masked, @rpm, @tpm, @created_at)`,
  );
  const all = db.prepare("SELECT * FROM upstream_keys ORDER BY provider, created_at");
  const secrets = db.prepare("SELECT id, secret FROM upstream_keys");
  const count = db.prepare("SELECT COUNT(*) FROM upstream_keys").pluck();
  const remove = db.prepare("DELETE FROM upstream_keys WHERE id = ?");
  // Enabling a key also clears a past `invalid` verdict: the owner says it is good again.
  const setDisabled = db.prepare(
    "UPDATE upstream_keys SET disabled = @disabled, invalid = CASE WHEN @disabled = 0 THEN 0 ELSE invalid END WHERE id = @id",
  );
  const markInvalid = db.prepare("UPDATE upstream_keys SET invalid = 1, last_error = ? WHERE id = ?");
  const setCooldown = db.prepare("UPDATE upstream_keys SET cooldown_until = ?, last_error = ? WHERE id = ?");
  const getMeta = db.prepare("SELECT value FROM meta WHERE name = ?").pluck();
  const setMeta = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)");
  const usage = db.prepare(
    `SELECT key_id, COUNT(*) AS requests, COALESCE(SUM(input_tokens), 0) + COALESCE(SUM(output_tokens), 0) AS tokens,
            MAX(started_at) AS last_used_at
     FROM usage WHERE key_id IS NOT NULL AND started_at >= ? GROUP BY key_id`,
  );

  const checkMaster = (master: MasterKey) => {
    const expected = getMeta.get("master_key_check") as string | undefined;
    const actual = masterKeyCheck(master);
    if (expected === undefined) setMeta.run("master_key_check", actual);
    else if (expected !== actual) {
      throw new MasterKeyError(
        `the master key from ${master.source} is not the one the stored upstream keys were encrypted with`,
      );
    }
  };

  return {
    add({ provider, secret, label, rpm, tpm }, master, now) {
      checkMaster(master);
      const row = {
        id: `key_${randomBytes(4).toString("hex")}`,
        provider,
        label: label ?? null,
        secret: encryptSecret(master, secret),
        masked: maskSecret(secret),
        rpm: rpm ?? null,
        tpm: tpm ?? null,
        created_at: now,
      };
      insert.run(row);
      return { ...row, disabled: false, invalid: false, cooldown_until: null, last_error: null };
    },
    list() {
      return (all.all() as Record<string, unknown>[]).map(toStoredKey);
    },
    secrets(master) {
      const rows = secrets.all() as { id: string; secret: Buffer }[];
      if (rows.length) checkMaster(master);
      return new Map(rows.map((r) => [r.id, decryptSecret(master, r.secret)]));
    },
    count: () => count.get() as number,
    remove: (id) => remove.run(id).changes > 0,
    setDisabled: (id, disabled) => setDisabled.run({ id, disabled: disabled ? 1 : 0 }).changes > 0,
    markInvalid(id, error) {
      markInvalid.run(error, id);
    },
    setCooldown(id, until, error) {
      setCooldown.run(until, error, id);
    },
    usageSince(since) {
      const rows = usage.all(since) as ({ key_id: string } & KeyUse)[];
      return new Map(rows.map(({ key_id, ...use }) => [key_id, use]));
    },
  };
}

function toStoredKey(row: Record<string, unknown>): StoredKey {
  const { secret: _secret, ...rest } = row;
  return { ...(rest as unknown as StoredKey), disabled: row.disabled === 1, invalid: row.invalid === 1 };
}
