import pg from "pg";
import { redactUrl } from "../../config/shared.js";
import type { Db } from "../db.js";
import { USAGE_COLUMNS } from "../usage-log.js";
import { rollupSql } from "./rollup.js";

const BATCH = 500;
const BOOLEANS = new Set(["stream", "aborted", "coalesced", "simulated"]);

export interface UsageShipper {
  /** Ships what is pending now (stop calls it before closing); resolves when done or PostgreSQL fails. */
  flush(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Copies the local usage log to PostgreSQL in batched INSERTs, off the request path. The local SQLite
 * file is the buffer: a row is written there when its request ends (so a killed process loses nothing
 * already answered), and stays until PostgreSQL has it, however long PostgreSQL is away. A watermark
 * (the last shipped rowid) moves only after a commit; a batch sent twice is absorbed by the primary key.
 * The same statement adds the new rows to the hourly rollups (rollup.ts) that `aigw stats` reads.
 */
export function startUsageShipper(opts: {
  db: Db;
  url: string;
  schema: string;
  instance: string;
  intervalMs?: number;
  log?: (line: string) => void;
}): UsageShipper {
  const { db, schema } = opts;
  const log = opts.log ?? ((line) => process.stderr.write(`aigw: ${line}\n`));
  const pool = new pg.Pool({ connectionString: opts.url, max: 1, connectionTimeoutMillis: 2000 });
  pool.on("error", () => {}); // a dropped idle connection is retried on the next tick
  const getMark = db.prepare("SELECT value FROM meta WHERE name = 'pg_shipped_rowid'").pluck();
  const setMark = db.prepare("INSERT OR REPLACE INTO meta (name, value) VALUES ('pg_shipped_rowid', ?)");
  const shipped = [...USAGE_COLUMNS, "response_id"];
  const pending = db.prepare(
    `SELECT rowid AS _rowid, ${shipped.join(", ")} FROM usage WHERE rowid > ? ORDER BY rowid LIMIT ?`,
  );
  const columns = ["instance", ...shipped];
  let failing = false;
  let running: Promise<number> | null = null;

  const shipOnce = async (): Promise<number> => {
    const rows = pending.all(Number(getMark.get() ?? 0), BATCH) as Record<string, unknown>[];
    if (!rows.length) return 0;
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const start = values.length;
      values.push(opts.instance, ...shipped.map((c) => (BOOLEANS.has(c) ? row[c] === 1 : row[c])));
      return `(${columns.map((_, i) => `$${start + i + 1}`).join(", ")})`;
    });
    // One statement, so one transaction: the rows and their rollups land together, and only rows
    // PostgreSQL did not have yet (a batch sent again after a lost reply) are added to the rollups.
    await pool.query(
      `WITH ins AS (INSERT INTO ${schema}.usage (${columns.join(", ")}) VALUES ${tuples.join(", ")}
        ON CONFLICT (id) DO NOTHING RETURNING *) ${rollupSql(schema, "ins")}`,
      values,
    );
    setMark.run(String(rows.at(-1)!._rowid));
    return rows.length;
  };

  const tick = async (): Promise<number> => {
    if (running) return running;
    running = (async () => {
      let shipped = 0;
      try {
        // Bounded: a backlog drains a few batches per tick, the rest on the next ones.
        for (let i = 0; i < 20; i++) {
          const n = await shipOnce();
          shipped += n;
          if (n < BATCH) break;
        }
        if (failing) log(`PostgreSQL is back: usage rows are shipped to ${redactUrl(opts.url)} again`);
        failing = false;
      } catch (err) {
        if (!failing) {
          log(
            `cannot write usage rows to PostgreSQL (${(err as Error).message}); they wait in the local log until it is back`,
          );
        }
        failing = true;
      }
      return shipped;
    })().finally(() => {
      running = null;
    });
    return running;
  };

  const timer = setInterval(() => void tick(), opts.intervalMs ?? 200);
  timer.unref();
  return {
    async flush() {
      await running;
      await tick();
    },
    async close() {
      clearInterval(timer);
      await running;
      await pool.end();
    },
  };
}
