import type { Config } from "../config/schema.js";
import type { Provider } from "../providers/types.js";
import type { TokenUsage } from "../providers/usage.js";
import { globMatch } from "./glob.js";

type GenaiPrices = typeof import("@pydantic/genai-prices");
type Override = Config["pricing"][string];

/** Which genai-prices catalogue a provider type prices from; others by their own name if it knows them. */
const CATALOGUE: Partial<Record<Provider["type"], string>> = { openai: "openai", anthropic: "anthropic" };

/**
 * Prices a request in USD. Config `pricing:` entries (USD per 1M tokens, by `provider/model`, model, or
 * glob) win; then the maintained @pydantic/genai-prices table (cached reads, cache writes and tiered
 * prices included); local providers (mock, anything on loopback) are free. Otherwise null: unpriced.
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

  /** Loads the price table (about 80 ms of parsing), off the start-up path. */
  load(): Promise<void> {
    this.loading ??= import("@pydantic/genai-prices").then((mod) => {
      this.table = ((mod as { default?: GenaiPrices }).default ?? mod) as GenaiPrices;
    });
    return this.loading;
  }

  cost(provider: Provider, model: string, usage: TokenUsage): number | null {
    if (usage.input === null && usage.output === null) return null;
    const override = this.override(`${provider.name}/${model}`, model);
    if (override) return byOverride(override, usage);
    if (provider.type === "mock" || isLocal(provider.baseUrl)) return 0;
    if (!this.table) return null;
    const providerId = CATALOGUE[provider.type] ?? provider.name;
    try {
      const price = this.table.calcPrice(
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

  private override(qualified: string, model: string): Override | null {
    for (const [pattern, price] of this.overrides) {
      if (globMatch(pattern, qualified) || globMatch(pattern, model)) return price;
    }
    return null;
  }
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

function isLocal(baseUrl: string | null): boolean {
  if (!baseUrl) return false;
  const host = new URL(baseUrl).hostname;
  return host === "localhost" || host === "::1" || host === "[::1]" || host.startsWith("127.");
}
