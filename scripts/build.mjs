// Bundles src/ into dist/ with esbuild: one file per entry point plus shared chunks, so `aigw start`
// compiles a few files instead of resolving hundreds (start-up time is a product feature).
// Type checking is `npm run typecheck` (tsc); this step only transpiles.
import { rmSync } from "node:fs";
import { build } from "esbuild";

rmSync("dist", { recursive: true, force: true });
await build({
  entryPoints: ["src/cli.ts"],
  outdir: "dist",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  sourcemap: true,
  minifyWhitespace: true,
  minifySyntax: true,
  // Native addon, and packages that must be resolved at run time from node_modules.
  external: ["better-sqlite3"],
  // Bundled CommonJS dependencies call require(); give ESM output one.
  banner: {
    js: "import { createRequire as __aigwRequire } from 'node:module'; const require = __aigwRequire(import.meta.url);",
  },
  logLevel: "warning",
});
