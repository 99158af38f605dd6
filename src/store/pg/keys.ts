import { randomBytes } from "node:crypto";
import type { KeyStore, KeyUse, StoredKey } from "../keys.js";
import {
  decryptSecret,
  encryptSecret,
  type MasterKey,
  MasterKeyError,
  maskSecret,
  masterKeyCheck,
} from "../secrets.js";
import type { PgValue, SyncPg } from "./sync-pg.js";

/** Runs a write without waiting for it (errors are the runner's to report). */
export type Background = (sql: string, params: PgValue[]) => void;

/** The upstream keys in PostgreSQL: the SQLite store's twin, encrypted under the same master key. */
export function createPgKeyStore(db: SyncPg, s: string, opts: { background?: Background } = {}): KeyStore {
  // The gateway's own writes (a 429 cools a key) must not block its event loop on the database.
  const write = opts.background ?? ((sql: string, params: PgValue[]) => void db.exec(sql, params));
  const checkMaster = (master: MasterKey) => {
    const actual = masterKeyCheck(master);
    // The first instance to store a key records which master key it used; the others must match.
    db.exec(`INSERT INTO ${s}.meta (name, value) VALUES ('master_key_check', $1) ON CONFLICT DO NOTHING`, [
      actual,
    ]);
    const [row] = db.query<{ value: string }>(`SELECT value FROM ${s}.meta WHERE name = 'master_key_check'`);
    if (row?.value !== actual) {
      throw new MasterKeyError(
        `the master key from ${master.source} is not the one the keys in PostgreSQL were encrypted with: every gateway sharing them needs the same AIGW_MASTER_KEY`,
      );
    }
  };

  return {
    add({ provider, secret, label, rpm, tpm }, master, now) {
      checkMaster(master);
      const key: StoredKey = {
        id: `key_${randomBytes(4).toString("hex")}`,
        provider,
        label: label ?? null,
        masked: maskSecret(secret),
        rpm: rpm ?? null,
        tpm: tpm ?? null,
        disabled: false,
        invalid: false,
        cooldown_until: null,
        last_error: null,
        created_at: now,
      };
      db.exec(
        `INSERT INTO ${s}.upstream_keys (id, provider, label, secret, masked, rpm, tpm, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [key.id, provider, key.label, encryptSecret(master, secret), key.masked, key.rpm, key.tpm, now],
      );
      return key;
    },
    list() {
      return db
        .query(
          `SELECT id, provider, label, masked, rpm, tpm, disabled, invalid, cooldown_until, last_error, created_at
           FROM ${s}.upstream_keys ORDER BY provider, created_at`,
        )
        .map((row) => row as unknown as StoredKey);
    },
    secrets(master) {
      const rows = db.query<{ id: string; secret: Uint8Array }>(`SELECT id, secret FROM ${s}.upstream_keys`);
      if (rows.length) checkMaster(master);
      return new Map(rows.map((r) => [r.id, decryptSecret(master, Buffer.from(r.secret))]));
    },
    count: () => Number(db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${s}.upstream_keys`)[0]!.n),
    remove: (id) => db.exec(`DELETE FROM ${s}.upstream_keys WHERE id = $1`, [id]) > 0,
    setDisabled: (id, disabled) =>
      db.exec(
        // Enabling a key also clears a past `invalid` verdict: the owner says it is good again.
        `UPDATE ${s}.upstream_keys SET disabled = $2, invalid = CASE WHEN $2 THEN invalid ELSE false END WHERE id = $1`,
        [id, disabled],
      ) > 0,
    markInvalid(id, error) {
      write(`UPDATE ${s}.upstream_keys SET invalid = true, last_error = $2 WHERE id = $1`, [id, error]);
    },
    setCooldown(id, until, error) {
      // A cooldown only ever extends: another gateway may have cooled the key for longer.
      write(
        `UPDATE ${s}.upstream_keys SET cooldown_until = GREATEST(COALESCE(cooldown_until, 0), $2), last_error = $3 WHERE id = $1`,
        [id, until, error],
      );
    },
    usageSince(since) {
      const rows = db.query<{ key_id: string } & KeyUse>(
        `SELECT key_id, COUNT(*)::int AS requests,
                (COALESCE(SUM(input_tokens), 0) + COALESCE(SUM(output_tokens), 0))::bigint AS tokens,
                MAX(started_at) AS last_used_at
         FROM ${s}.usage WHERE key_id IS NOT NULL AND started_at >= $1 GROUP BY key_id`,
        [since],
      );
      return new Map(rows.map(({ key_id, ...use }) => [key_id, use]));
    },
  };
}
