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
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  if (fresh) chmodSync(file, 0o600);
  migrate(db);
  return db;
}

/** Applies the numbered migrations not yet applied, each in its own transaction. */
export function migrate(db: Db): void {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (const [index, sql] of migrations.entries()) {
    const version = index + 1;
    if (version <= current) continue;
    db.transaction(() => {
      db.exec(sql);
      db.pragma(`user_version = ${version}`);
    })();
  }
}
