import type { Db } from "./db.js";

/**
 * Calls `onChange` within `intervalMs` of another connection (a CLI command) committing to the
 * database. SQLite's `data_version` changes only for other connections' commits, so the gateway's
 * own usage inserts never trigger it and the check costs one pragma read.
 */
export function watchDb(db: Db, onChange: () => void, intervalMs = 500): () => void {
  const read = db.prepare("PRAGMA data_version").pluck();
  let version = read.get();
  const timer = setInterval(() => {
    const next = read.get();
    if (next === version) return;
    version = next;
    onChange();
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
