import { randomBytes } from "node:crypto";
import {
  type ClientCredentials,
  type ClientStore,
  ClientStoreError,
  clientNameProblem,
  hashClientKey,
  toStoredClient,
} from "../clients.js";
import { PgError, type SyncPg } from "./sync-pg.js";

function newKey(): { key: string; hash: Buffer; prefix: string } {
  const key = `aigw_${randomBytes(32).toString("base64url")}`;
  return { key, hash: hashClientKey(key), prefix: `${key.slice(0, 9)}…` };
}

/** The client keys in PostgreSQL: the SQLite store's twin (only SHA-256 hashes are stored). */
export function createPgClientStore(db: SyncPg, s: string): ClientStore {
  const row = (name: string) => db.query(`SELECT * FROM ${s}.clients WHERE name = $1`, [name])[0];
  const existing = (name: string) => {
    const found = row(name);
    if (!found) throw new ClientStoreError(`no client named "${name}"`, "unknown");
    return found;
  };
  const all = () => db.query(`SELECT * FROM ${s}.clients ORDER BY created_at, name`);

  return {
    add(client, now) {
      const problem = clientNameProblem(client.name);
      if (problem) throw new ClientStoreError(problem, "invalid_name");
      const { key, hash, prefix } = newKey();
      try {
        db.exec(
          `INSERT INTO ${s}.clients (name, key_hash, key_prefix, rpm, tpm, daily_budget_usd, monthly_budget_usd, models, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
          [
            client.name,
            hash,
            prefix,
            client.rpm ?? null,
            client.tpm ?? null,
            client.daily_budget_usd ?? null,
            client.monthly_budget_usd ?? null,
            client.models ? JSON.stringify(client.models) : null,
            now,
          ],
        );
      } catch (err) {
        if (!(err instanceof PgError) || err.code !== "23505") throw err;
        throw new ClientStoreError(`a client named "${client.name}" already exists`, "duplicate");
      }
      return { client: toStoredClient(existing(client.name)), key };
    },
    list: () => all().map(toStoredClient),
    get(name) {
      const found = row(name);
      return found ? toStoredClient(found) : null;
    },
    update(name, changes) {
      const next = { ...toStoredClient(existing(name)), ...changes };
      db.exec(
        `UPDATE ${s}.clients SET rpm = $2, tpm = $3, daily_budget_usd = $4, monthly_budget_usd = $5, models = $6 WHERE name = $1`,
        [
          name,
          next.rpm ?? null,
          next.tpm ?? null,
          next.daily_budget_usd ?? null,
          next.monthly_budget_usd ?? null,
          next.models ? JSON.stringify(next.models) : null,
        ],
      );
      return toStoredClient(existing(name));
    },
    revoke(name, now) {
      existing(name);
      return (
        db.exec(
          `UPDATE ${s}.clients SET revoked_at = $2, previous_key_hash = NULL, previous_expires_at = NULL
           WHERE name = $1 AND revoked_at IS NULL`,
          [name, now],
        ) > 0
      );
    },
    rotate(name, graceMs, now) {
      const current = existing(name);
      if (current.revoked_at !== null)
        throw new ClientStoreError(`client "${name}" is revoked; add a new client instead`, "revoked");
      const { key, hash, prefix } = newKey();
      const keep = graceMs > 0;
      db.exec(
        `UPDATE ${s}.clients SET previous_key_hash = $2, previous_expires_at = $3, key_hash = $4, key_prefix = $5
         WHERE name = $1 AND revoked_at IS NULL`,
        [
          name,
          keep ? Buffer.from(current.key_hash as Uint8Array) : null,
          keep ? now + graceMs : null,
          hash,
          prefix,
        ],
      );
      return { client: toStoredClient(existing(name)), key };
    },
    activeCount: () =>
      Number(
        db.query<{ n: number }>(`SELECT COUNT(*)::int AS n FROM ${s}.clients WHERE revoked_at IS NULL`)[0]!.n,
      ),
    credentials: (): ClientCredentials[] =>
      all().map((r) => ({
        ...toStoredClient(r),
        key_hash: Buffer.from(r.key_hash as Uint8Array),
        previous_key_hash: r.previous_key_hash ? Buffer.from(r.previous_key_hash as Uint8Array) : null,
      })),
  };
}
