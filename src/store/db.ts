import { chmodSync, existsSync } from "node:fs";
import Database from "better-sqlite3";
import { migrations } from "./migrations.js";

export type Db = Database.Database;

/**
 * Opens (creating if needed) the aigw database: WAL, synchronous=NORMAL (a committed row survives a
 * killed process), a busy timeout so CLI readers and the gateway share it, file mode 0600.
 */
export function openDb(file: string): Db {
  const fresh = !existsSync(file);
  const db = new Database(file);
  db.pragma("busy_timeout = 5000");
  // A new file's switch to WAL is not fsynced (an empty file has nothing to lose; under load the
  // rollback journal's syncs took 2-27 ms); every commit after it is NORMAL.
  if (fresh) db.pragma("synchronous = OFF");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  if (fresh) chmodSync(file, 0o600);
  migrate(db);
  return db;
}

/** Applies the numbered migrations not yet applied, together in one transaction. */
export function migrate(db: Db, list: readonly string[] = migrations): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  if (current >= list.length) return;
  // Pending migrations apply in one transaction (a new database takes all of them in one commit);
  // a failure leaves the file at the version it had.
  db.transaction(() => {
    for (let version = current + 1; version <= list.length; version++) db.exec(list[version - 1]!);
    db.pragma(`user_version = ${list.length}`);
  })();
}
