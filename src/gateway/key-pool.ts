import { GatewayError } from "../errors.js";
import type { Provider } from "../providers/types.js";

/** The key one upstream call uses. `id` goes into the usage log; `secret` only upstream. */
export interface KeyLease {
  id: string | null;
  secret: string | null;
}

export interface KeyPool {
  acquire(provider: Provider): KeyLease;
}

/** Keys from the environment (`OPENAI_API_KEY`, ...), read once at start. */
export function createEnvKeyPool(env: NodeJS.ProcessEnv): KeyPool {
  return {
    acquire(provider) {
      const secret = env[provider.keyEnv];
      if (secret) return { id: `env:${provider.keyEnv}`, secret };
      if (!provider.needsKey) return { id: null, secret: null };
      throw new GatewayError(
        502,
        "upstream_error",
        `no API key for provider "${provider.name}": set ${provider.keyEnv} or run \`aigw keys add ${provider.name}\``,
        { code: "no_upstream_key" },
      );
    },
  };
}

/** Where a provider's key comes from, for the start banner and `aigw doctor`. */
export function keySource(provider: Provider, env: NodeJS.ProcessEnv): string {
  if (env[provider.keyEnv]) return `env ${provider.keyEnv}`;
  return provider.needsKey ? "no key" : "no key needed";
}
