import { execFileSync } from "node:child_process";
import { resolve } from "node:path";

/** Builds dist/ once before the suite: the CLI tests run the real bin/aigw against it. */
export default function setup(): void {
  execFileSync(process.execPath, [resolve(import.meta.dirname, "../scripts/build.mjs")], {
    cwd: resolve(import.meta.dirname, ".."),
    stdio: "inherit",
  });
}
