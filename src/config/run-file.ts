import { chmodSync, readFileSync, rmSync, writeFileSync } from "node:fs";

/** `<home>/run.json`: how CLI commands find the running gateway. Holds the admin token: 0600. */
export interface RunInfo {
  pid: number;
  url: string;
  admin_token: string;
  started_at: number;
  version: string;
}

export function writeRunFile(file: string, info: RunInfo): void {
  writeFileSync(file, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/** The running gateway's info, or null when none runs (no file, or a stale one whose pid is gone). */
export function readRunFile(file: string): RunInfo | null {
  let info: RunInfo;
  try {
    info = JSON.parse(readFileSync(file, "utf8")) as RunInfo;
  } catch {
    return null;
  }
  return typeof info.pid === "number" && isAlive(info.pid) ? info : null;
}

/** Removes the file if it still describes this process (a newer gateway may have replaced it). */
export function removeRunFile(file: string, pid: number): void {
  try {
    const info = JSON.parse(readFileSync(file, "utf8")) as Partial<RunInfo>;
    if (info.pid === pid) rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
