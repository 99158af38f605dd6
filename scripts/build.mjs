// Bundles src/ into dist/ with esbuild: one file per entry point plus shared chunks, so `aigw start`
// compiles a few files instead of resolving hundreds (start-up time is a product feature).
// Type checking is `npm run typecheck` (tsc); this step only transpiles.
import { renameSync, rmSync } from "node:fs";
import { build } from "esbuild";

// Build beside dist/ and swap it in, so a test run using dist/ never sees it half-written.
const staging = `dist.${process.pid}`;
await build({
  entryPoints: ["src/cli.ts"],
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // Native addon, and packages that must be resolved at run time from node_modules.
  external: ["better-sqlite3", "react-devtools-core"],
  // Bundled CommonJS dependencies call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __aigwRequire } from 'node:module'; const require = __aigwRequire(import.meta.url);",
  },
  logLevel: "warning",
});
rmSync("dist", { recursive: true, force: true });
renameSync(staging, "dist");
