import pg from "pg";
import type { ClientStore } from "../clients.js";
import type { KeyStore } from "../keys.js";
import type { StoredResponses } from "../stored-responses.js";
import { createPgClientStore } from "./clients.js";
import { type Background, createPgKeyStore } from "./keys.js";
import { openPg } from "./schema.js";
import { createPgStoredResponses } from "./stored-responses.js";
import type { SyncPg } from "./sync-pg.js";

export { summarizePg } from "./stats.js";
export { PgError } from "./sync-pg.js";
export { startUsageShipper } from "./usage-shipper.js";

/** The kept state in PostgreSQL: keys, clients, stored responses (usage rows are shipped by `startUsageShipper`). */
export interface PgStores {
  url: string;
  db: SyncPg;
  schema: string;
  keys: KeyStore;
  clients: ClientStore;
  /** Responses kept for `previous_response_id`, whichever gateway made them. */
  storedResponses: StoredResponses;
  /** Spend per client since a time, over every gateway's shipped rows (budgets start from it). */
  spendSince(since: number): { client: string | null; cost: number }[];
  /** Calls `onChange` within `intervalMs` of anyone changing keys or clients; returns a stop. */
  watch(onChange: () => void, intervalMs?: number): () => void;
  close(): Promise<void>;
}

/** Opens the stores; throws a PgError naming the (redacted) URL when PostgreSQL cannot be used. */
export function openPgStores(url: string, prefix: string, opts: { background?: boolean } = {}): PgStores {
  const { db, schema } = openPg(url, prefix);
  // The gateway's writes (cooldowns, invalid marks) go through a pool, not the blocking connection.
  const pool = opts.background
    ? new pg.Pool({ connectionString: url, max: 2, connectionTimeoutMillis: 2000 })
    : null;
  pool?.on("error", () => {});
  const background: Background | undefined = pool
    ? (sql, params) => void pool.query(sql, params).catch(() => {})
    : undefined;
  const timers = new Set<NodeJS.Timeout>();
  return {
    url,
    db,
    schema,
    keys: createPgKeyStore(db, schema, { background }),
    clients: createPgClientStore(db, schema),
    storedResponses: createPgStoredResponses(db, schema),
    spendSince: (since) =>
      db.query<{ client: string | null; cost: number }>(
        `SELECT client, SUM(cost_usd)::float8 AS cost FROM ${schema}.usage
         WHERE started_at >= $1 AND cost_usd > 0 GROUP BY client`,
        [since],
      ),
    watch(onChange, intervalMs = 500) {
      const poller = pool ?? new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 2000 });
      const read = () =>
        db.query<{ v: string }>(`SELECT version::text AS v FROM ${schema}.changes WHERE id = 1`);
      let version = Number(read()[0]?.v ?? 0);
      let busy = false;
      const timer = setInterval(async () => {
        if (busy) return;
        busy = true;
        try {
          const { rows } = await poller.query(
            `SELECT version::text AS v FROM ${schema}.changes WHERE id = 1`,
          );
          const next = Number(rows[0]?.v ?? 0);
          if (next !== version) onChange();
          version = next;
        } catch {
          // PostgreSQL away: the shipper says so once; changes are picked up when it is back.
        } finally {
          busy = false;
        }
      }, intervalMs);
      timer.unref();
      timers.add(timer);
      return () => {
        clearInterval(timer);
        timers.delete(timer);
        if (poller !== pool) void poller.end();
      };
    },
    async close() {
      for (const timer of timers) clearInterval(timer);
      db.close();
      await pool?.end();
    },
  };
}
