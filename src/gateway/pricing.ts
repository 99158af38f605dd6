import { readFileSync } from "node:fs";
import type { Config } from "../config/schema.js";
import type { Provider } from "../providers/types.js";
import type { TokenUsage } from "../providers/usage.js";
import { globMatch } from "./glob.js";

type GenaiPrices = typeof import("@pydantic/genai-prices");
type Override = Config["pricing"][string];

/**
 * Prices a request in USD. Config `pricing:` entries (USD per 1M tokens, by `provider/model`, model, or
 * glob) win; then the maintained @pydantic/genai-prices table (cached reads, cache writes and tiered
 * prices included); a provider that says it is free (`free: true`; the built-in ollama and mock) costs
 * 0. Otherwise null: unpriced, never 0 (where a provider points says nothing about what it costs).
 */
export class Pricing {
  private table: GenaiPrices | null = null;
  private loading: Promise<void> | null = null;
  private readonly overrides: [pattern: string, price: Override][];

  constructor(overrides: Config["pricing"]) {
    // Most specific first: exact names before globs, longer globs before shorter.
    this.overrides = Object.entries(overrides).sort(
      ([a], [b]) => Number(a.includes("*")) - Number(b.includes("*")) || b.length - a.length,
    );
  }

  /**
   * Loads the price table off the start-up path (its providers; each one's models when first looked
   * at, see readTable), once `after` has settled (another module's load, so that the two compiles are separate stalls).
   * Requests finishing meanwhile wait for it (`loadingNow`) rather than go unpriced.
   */
  load(after: Promise<unknown> = Promise.resolve()): Promise<void> {
    this.loading ??= after
      .then(() => readTable())
      .then(() => import("@pydantic/genai-prices"))
      .then((mod) => {
        this.table = ((mod as { default?: GenaiPrices }).default ?? mod) as GenaiPrices;
      });
    return this.loading;
  }

  /**
   * Has the table find each of these providers' models now, one per turn of the event loop (the
   * parse of a provider's models list, up to ~5 ms), rather than in the first request priced by it.
   */
  async warm(providerIds: readonly string[]): Promise<void> {
    for (const providerId of providerIds) {
      if (!this.table) return;
      try {
        this.table.calcPrice({ input_tokens: 1, output_tokens: 1 }, "aigw-warm-up", { providerId });
      } catch {
        // a lookup that fails here fails the same way, memoised, at the first request
      }
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** While the table loads: settles when it is in (or failed to load); null before load() and after. */
  loadingNow(): Promise<void> | null {
    if (this.table || !this.loading || this.loadFailed) return null;
    return this.loading.catch(() => {
      this.loadFailed = true;
    });
  }

  private loadFailed = false;

  cost(provider: Provider, model: string, usage: TokenUsage): number | null {
    if (usage.input === null && usage.output === null) return null;
    const override = this.override(`${provider.name}/${model}`, model);
    if (override) return byOverride(override, usage);
    if (provider.free) return 0;
    if (!this.table) return null;
    const providerId = provider.priceCatalogue ?? provider.name;
    const id = `${providerId}\u0000${model}`;
    let known = this.known.get(id);
    if (known === undefined) {
      known = this.lookUp(providerId, model);
      this.known.set(id, known);
    }
    if (known === null) return null;
    if (known === "conditional") return this.calc(providerId, model, usage);
    return byTable(known, usage);
  }

  /** Memo of each model's price (one catalogue search per model: a search costs 10-120 µs). */
  private readonly known = new Map<string, TablePrice | "conditional" | null>();

  private lookUp(providerId: string, model: string): TablePrice | "conditional" | null {
    try {
      const found = this.table!.calcPrice({ input_tokens: 1, output_tokens: 1 }, model, { providerId });
      if (!found) return null;
      const price = found.model_price as Record<string, unknown>;
      const fields = ["input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok"] as const;
      const table: TablePrice = {};
      for (const field of fields) {
        const value = price[field];
        if (value === undefined) continue;
        if (typeof value === "number") table[field] = { base: value, tiers: [] };
        else if (isTiered(value))
          table[field] = { base: value.base, tiers: [...value.tiers].sort((a, b) => a.start - b.start) };
        else return "conditional";
      }
      return table;
    } catch {
      return null;
    }
  }

  private calc(providerId: string, model: string, usage: TokenUsage): number | null {
    try {
      const price = this.table!.calcPrice(
        {
          input_tokens: usage.input ?? 0,
          cache_read_tokens: usage.cachedInput ?? 0,
          cache_write_tokens: usage.cacheWrite ?? 0,
          output_tokens: usage.output ?? 0,
        },
        model,
        { providerId },
      );
      return price ? round(price.total_price) : null;
    } catch {
      return null;
    }
  }

  /** A `pricing:` entry names this model: it wins over any other price, a demo's simulated one too. */
  configured(provider: Provider, model: string): boolean {
    return this.override(`${provider.name}/${model}`, model) !== null;
  }

  private override(qualified: string, model: string): Override | null {
    for (const [pattern, price] of this.overrides) {
      if (globMatch(pattern, qualified) || globMatch(pattern, model)) return price;
    }
    return null;
  }
}

type Tiered = { base: number; tiers: { start: number; price: number }[] };
type TablePrice = Partial<
  Record<"input_mtok" | "output_mtok" | "cache_read_mtok" | "cache_write_mtok", Tiered>
>;

function isTiered(value: unknown): value is Tiered {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Tiered).base === "number" &&
    Array.isArray((value as Tiered).tiers)
  );
}

/**
 * A table price applied to usage, as genai-prices does: every token of a kind at the price of the
 * highest tier whose start the request's total input tokens reach (long-context pricing).
 */
function byTable(t: TablePrice, u: TokenUsage): number {
  const input = u.input ?? 0;
  const at = (p: Tiered | undefined): number => {
    if (!p) return 0;
    let price = p.base;
    for (const tier of p.tiers) if (input >= tier.start) price = tier.price;
    return price;
  };
  const cached = u.cachedInput ?? 0;
  const written = u.cacheWrite ?? 0;
  const fresh = Math.max(0, input - cached - written);
  const inputPrice = at(t.input_mtok);
  const usd =
    fresh * inputPrice +
    cached * (t.cache_read_mtok ? at(t.cache_read_mtok) : inputPrice) +
    written * (t.cache_write_mtok ? at(t.cache_write_mtok) : inputPrice) +
    (u.output ?? 0) * at(t.output_mtok);
  return round(usd / 1e6);
}

function byOverride(p: Override, u: TokenUsage): number {
  const cached = u.cachedInput ?? 0;
  const written = u.cacheWrite ?? 0;
  const fresh = Math.max(0, (u.input ?? 0) - cached - written);
  const usd =
    fresh * p.input +
    cached * (p.cached_input ?? p.input) +
    written * (p.cache_write ?? p.input) +
    (u.output ?? 0) * p.output;
  return round(usd / 1e6);
}

const round = (usd: number) => Math.round(usd * 1e10) / 1e10;

/**
 * Bundled (scripts/build.mjs), the package's price table is a file of JSON lines beside this module
 * instead of a 480 KB literal compiled as code: the units, then per provider a line of the provider and
 * a line of its models. The providers are parsed here (small); each provider's models are parsed when
 * the package first looks at them, so a config using two providers parses two of the 40-odd model
 * lists (the largest ~5 ms), not all of them (~10 ms of parsing and a few MB kept). Unbundled (tests),
 * there is no such file and the package loads as is.
 */
function readTable(): void {
  const g = globalThis as { __aigwGenaiPrices?: unknown };
  if (g.__aigwGenaiPrices) return;
  let text: string;
  try {
    // ~0.3 ms for 400 KB; fs/promises took ~6 ms, starting the thread pool.
    text = readFileSync(new URL("./genai-prices.ndjson", import.meta.url), "utf8");
  } catch {
    return;
  }
  const [units, ...lines] = text.split("\n");
  const E: Record<string, unknown>[] = [];
  for (let i = 0; i + 1 < lines.length; i += 2) {
    const provider = JSON.parse(lines[i]!) as Record<string, unknown>;
    const models = lines[i + 1]!;
    Object.defineProperty(provider, "models", {
      configurable: true,
      enumerable: true,
      get() {
        const value: unknown = JSON.parse(models);
        Object.defineProperty(provider, "models", {
          value,
          writable: true,
          enumerable: true,
          configurable: true,
        });
        return value;
      },
    });
    E.push(provider);
  }
  g.__aigwGenaiPrices = { E, J: JSON.parse(units!) };
}
