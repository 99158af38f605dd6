// Bundles src/ into dist/ with esbuild: one file per entry point plus shared chunks, so `aigw start`
// compiles a few files instead of resolving hundreds (start-up time is a product feature).
// Type checking is `npm run typecheck` (tsc); this step only transpiles.

import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { isDeepStrictEqual } from "node:util";
import { build } from "esbuild";

/**
 * @pydantic/genai-prices opens with its price table as a 450 KB JavaScript literal, which V8 compiles
 * and runs as code: ~60 ms in one turn of the event loop right after `aigw start` listens. The table is
 * evaluated here at build time and written beside the bundle as JSON lines (without the descriptions
 * and comments, which no price needs), read back with JSON.parse, a line at a time (see pricing.ts). It is kept
 * only if JSON carries it without loss; otherwise the package is bundled as it is.
 */
const PRICES_JSON = "genai-prices.ndjson";
const UNUSED_FIELDS = new Set(["description", "price_comments", "pricing_urls"]);
let pricesJson = null;
const pricesAsJson = {
  name: "genai-prices-json",
  setup(b) {
    b.onLoad({ filter: /@pydantic[\\/]genai-prices[\\/]dist[\\/]index\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const end = source.indexOf("\nclass ");
      const head = end > 0 ? source.slice(0, end) : "";
      if (!head.startsWith("const E = [")) return { contents: source, loader: "js" };
      let data;
      try {
        data = new Function(`${head}\nreturn { E, J };`)();
      } catch {
        return { contents: source, loader: "js" };
      }
      if (!isDeepStrictEqual(JSON.parse(JSON.stringify(data)), data))
        return { contents: source, loader: "js" };
      // One line for the units, then one per provider: src/gateway/pricing.ts parses a line per turn of
      // the event loop and hands the result over as globalThis.__aigwGenaiPrices.
      const line = (value) => JSON.stringify(value, (key, v) => (UNUSED_FIELDS.has(key) ? undefined : v));
      pricesJson = [line(data.J), ...data.E.map(line)].join("\n");
      return {
        contents:
          `import { readFileSync as __aigwRead } from "node:fs";\n` +
          "const { E, J } = globalThis.__aigwGenaiPrices ?? (() => {\n" +
          `  const [units, ...providers] = __aigwRead(new URL("./${PRICES_JSON}", import.meta.url), "utf8").split("\\n").map((l) => JSON.parse(l));\n` +
          "  return { E: providers, J: units };\n" +
          "})();\n" +
          withoutCollation(source.slice(end), data.J),
        loader: "js",
      };
    });
  },
};

/** cli.ts imports start-cli.js at run time: that entry is the second build below, not part of this one. */
const startCliApart = {
  name: "start-cli-apart",
  setup(b) {
    b.onResolve({ filter: /^\.\/start-cli\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

const options = {
  outdir: "",
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
};

/**
 * The package orders unit keys with String#localeCompare: once to make a canonical key of a unit's
 * dimensions while its registry is built at import, and in every price calculation. The first
 * localeCompare sets up ICU's collator (~10 ms in one turn, right after `aigw start` listens), and each
 * one costs more than `<`. Where, for every key of the table's units, code-point order is the same as
 * the collator's, the comparisons become plain ones: the same orders, so the same prices.
 */
function withoutCollation(code, units) {
  const usageKeys = Object.keys(units);
  const dimensionKeys = [...new Set(Object.values(units).flatMap((u) => Object.keys(u.dimensions ?? {})))];
  const plain = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const sameOrder = (keys) =>
    keys.every((x) => keys.every((y) => Math.sign(x.localeCompare(y)) === plain(x, y)));
  const sites = [
    ["t.localeCompare(a)", "(t < a ? -1 : t > a ? 1 : 0)"],
    [
      "n.usageKey.localeCompare(s.usageKey)",
      "(n.usageKey < s.usageKey ? -1 : n.usageKey > s.usageKey ? 1 : 0)",
    ],
  ];
  if (!sameOrder(usageKeys) || !sameOrder(dimensionKeys)) return code;
  if (sites.some(([from]) => code.split(from).length !== 2) || code.split("localeCompare").length !== 3)
    return code;
  return sites.reduce((c, [from, to]) => c.replace(from, to), code);
}

// Build beside dist/ and swap it in, so a test run using dist/ never sees it half-written.
// Two bundles in one folder: every command but `start` (cli.js, a chunk per command and per set of
// modules they share), and `aigw start` alone (start-cli.js), so the gateway's start loads a handful
// of files, not ~40 chunks. Chunk names are content hashes: a name both builds write has the same
// content.
const staging = `dist.${process.pid}`;
options.outdir = staging;
await build({ ...options, entryPoints: ["src/cli.ts"], plugins: [pricesAsJson, startCliApart] });
await build({ ...options, entryPoints: ["src/start-cli.ts"], plugins: [pricesAsJson] });
if (pricesJson) writeFileSync(`${staging}/${PRICES_JSON}`, pricesJson);
rmSync("dist", { recursive: true, force: true });
renameSync(staging, "dist");
