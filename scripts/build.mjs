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
      // One line for the units, then two per provider: the provider without its models, and its models.
      // src/gateway/pricing.ts parses the providers and leaves each one's models to be parsed when the
      // package first looks at them (most configs use a few of its 40-odd providers), and hands the
      // result over as globalThis.__aigwGenaiPrices. Read here (another command), both are parsed.
      const line = (value) => JSON.stringify(value, (key, v) => (UNUSED_FIELDS.has(key) ? undefined : v));
      pricesJson = [
        line(data.J),
        ...data.E.flatMap(({ models, ...provider }) => [line(provider), line(models)]),
      ].join("\n");
      return {
        contents:
          `import { readFileSync as __aigwRead } from "node:fs";\n` +
          ancestorsOf(head, source.slice(end)) +
          "const { E, J } = globalThis.__aigwGenaiPrices ?? (() => {\n" +
          `  const [units, ...lines] = __aigwRead(new URL("./${PRICES_JSON}", import.meta.url), "utf8").split("\\n");\n` +
          "  const providers = [];\n" +
          "  for (let i = 0; i + 1 < lines.length; i += 2) providers.push({ ...JSON.parse(lines[i]), models: JSON.parse(lines[i + 1]) });\n" +
          "  return { E: providers, J: JSON.parse(units) };\n" +
          "})();\n" +
          withoutCollation(withAncestors(source.slice(end)), data.J),
        loader: "js",
      };
    });
  },
};

/**
 * The package's unit registry (`new Y(J)` when it loads) relates every unit to every other through
 * `Object.entries` (~15 ms of one turn for 59 units). Which units are each one's ancestors depends on
 * the units alone, so it is worked out here and written into the code as a literal; kept only if the
 * registry built from it answers every question exactly as the package's own does.
 */
const ANCESTORS_LOOP = `    for (const [a, i] of this.#e)
      this.#o.set(
        a,
        new Set(
          [...this.#e.values()].filter((o) => o !== i && $(o, i)).map((o) => o.usageKey)
        )
      ), a !== "requests" && this.#t.add(a);`;
/**
 * The registry keys units by their dimensions, sorted with `localeCompare`: the process's first call
 * sets up ICU's collator (~8 ms, ~3 MiB kept). Any one order serves a key built and looked up the
 * same way, so a plain comparison is used (checked below like the ancestors: every join found alike).
 * A price with several units sorts them with `localeCompare` too: see withoutCollation below.
 */
const DIMENSIONS_SORT =
  "function z(e) {\n  return JSON.stringify(Object.entries(e).sort(([t], [a]) => t.localeCompare(a)));\n}";
const DIMENSIONS_PLAIN =
  "function z(e) {\n  return JSON.stringify(Object.entries(e).sort(([t], [a]) => (t < a ? -1 : t > a ? 1 : 0)));\n}";
const ANCESTORS_KNOWN = `    for (const [a] of this.#e)
      this.#o.set(a, new Set(__aigwAncestors[a])), a !== "requests" && this.#t.add(a);`;
let ancestors = null;
function ancestorsOf(head, tail) {
  ancestors = null;
  const registry = tail.indexOf("const X = new Y(J);");
  if (!tail.includes(ANCESTORS_LOOP) || !tail.includes(DIMENSIONS_SORT) || registry < 0) return "";
  const body = `${head}\n${tail.slice(0, registry)}\n${
    tail
      .slice(registry)
      .match(/\nfunction [z$Q]\([\s\S]*?\n}/g)
      ?.join("\n") ?? ""
  }`;
  try {
    const original = new Function(`${body}\nreturn { J, Y };`)();
    const found = {};
    for (const key of Object.keys(original.J)) found[key] = null;
    const reference = new original.Y(original.J);
    for (const key of Object.keys(found)) found[key] = [...reference.ancestorUsageKeys(key)];
    const patched = new Function("__aigwAncestors", `${patch(body)}\nreturn new Y(J);`)(found);
    const same = (f) =>
      isDeepStrictEqual(
        Object.keys(found).map((k) => f(reference, k)),
        Object.keys(found).map((k) => f(patched, k)),
      );
    const ok =
      same((r, k) => [...r.ancestorUsageKeys(k)]) &&
      same((r, k) => r.isReportedUsageKey(k)) &&
      same((r, k) => r.getUnit(k)) &&
      same((r, k) => r.getUnitForPriceKey(r.getUnit(k).priceKey)) &&
      same((r) => [...r.reportedUsageKeys()]) &&
      same((r) => [...r.getAllPriceKeys()]) &&
      same((r) => [...r.getAllUsageKeys()]) &&
      same((r, k) => Object.keys(found).map((o) => r.findJoin(r.getUnit(k), r.getUnit(o))));
    if (!ok) return "";
    ancestors = found;
    return `const __aigwAncestors = ${JSON.stringify(found)};\n`;
  } catch {
    return "";
  }
}
const patch = (code) =>
  code.replace(ANCESTORS_LOOP, ANCESTORS_KNOWN).replace(DIMENSIONS_SORT, DIMENSIONS_PLAIN);
const withAncestors = (tail) => (ancestors ? patch(tail) : tail);

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
 * A price with several units sorts them with String#localeCompare, and the process's first call sets
 * up ICU's collator (~8 ms in one turn, ~3 MiB kept; the registry's own sort is patched above). Where,
 * for every usage key of the table, code-point order is the collator's, that sort compares plainly:
 * the same order, so the same prices.
 */
function withoutCollation(code, units) {
  const site = "n.usageKey.localeCompare(s.usageKey)";
  const plainSite = "(n.usageKey < s.usageKey ? -1 : n.usageKey > s.usageKey ? 1 : 0)";
  const keys = Object.keys(units);
  const plain = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
  const sameOrder = keys.every((x) => keys.every((y) => Math.sign(x.localeCompare(y)) === plain(x, y)));
  if (!sameOrder || code.split(site).length !== 2) return code;
  return code.replace(site, plainSite);
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
