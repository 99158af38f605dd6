import { ConfigError } from "../config/error.js";
import type { Config, ProviderConfig, ProviderType } from "../config/schema.js";
import { anthropicModelPattern, createAnthropicProvider } from "./anthropic.js";
import { createMockProvider, MOCK_MODELS } from "./mock.js";
import { createOpenAIProvider, openaiModelPattern } from "./openai.js";
import type { Provider } from "./types.js";

/** Providers that exist without any config; a config entry of the same name overrides fields. */
const BUILTIN: Record<string, ProviderConfig & { type: ProviderType }> = {
  openai: { type: "openai", base_url: "https://api.openai.com/v1" },
  anthropic: { type: "anthropic", base_url: "https://api.anthropic.com" },
  // Free is said, never inferred from where a provider points (a loopback proxy may front a paid API).
  ollama: { type: "openai-compatible", base_url: "http://127.0.0.1:11434/v1", free: true },
  mock: { type: "mock", free: true },
};

/** Bare model names (no `provider/`) that a provider type claims. */
const CLAIMS: Partial<Record<ProviderType, RegExp>> = {
  openai: openaiModelPattern,
  anthropic: anthropicModelPattern,
};

/** Models listed for a provider whose own models endpoint cannot be asked (no key, unreachable). */
const DEFAULT_MODELS: Partial<Record<ProviderType, readonly string[]>> = {
  openai: [
    "gpt-5",
    "gpt-5-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4o",
    "gpt-4o-mini",
    "text-embedding-3-small",
  ],
  anthropic: ["claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"],
  mock: MOCK_MODELS,
};

export function wellKnownModels(provider: Provider): readonly string[] {
  return DEFAULT_MODELS[provider.type] ?? [];
}

/** Builds every provider the config names plus the built-in ones. Opens no sockets. */
export function createProviders(config: Config): Map<string, Provider> {
  const providers = new Map<string, Provider>();
  const names = new Set([...Object.keys(BUILTIN), ...Object.keys(config.providers)]);
  for (const name of names) {
    const merged = { ...BUILTIN[name], ...config.providers[name] };
    const type = merged.type ?? (merged.base_url ? "openai-compatible" : undefined);
    if (!type)
      throw new ConfigError(
        `providers.${name}: needs a type (${["openai", "anthropic", "openai-compatible", "mock"].join(", ")}) or a base_url`,
      );
    const timeouts = { ...config.timeouts, ...merged.timeouts };
    if (type === "mock") {
      // The mock's answers are made up: free unless the config says otherwise.
      providers.set(name, { ...createMockProvider(name, merged), free: merged.free ?? true });
      continue;
    }
    const base_url = merged.base_url;
    if (!base_url) throw new ConfigError(`providers.${name}.base_url: required for type ${type}`);
    const provider =
      type === "anthropic"
        ? createAnthropicProvider(name, { ...merged, base_url }, timeouts)
        : createOpenAIProvider(name, type, { ...merged, base_url }, timeouts);
    providers.set(name, provider);
  }
  return providers;
}

/** The provider a bare well-known model name belongs to (`gpt-4o` → openai), or null. */
export function claimBareModel(providers: Map<string, Provider>, model: string): Provider | null {
  for (const [type, pattern] of Object.entries(CLAIMS)) {
    if (!pattern.test(model)) continue;
    const sameName = providers.get(type);
    if (sameName?.type === type) return sameName;
    for (const provider of providers.values()) if (provider.type === type) return provider;
  }
  return null;
}
