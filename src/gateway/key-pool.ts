import { GatewayError } from "../errors.js";
import { isLoopbackUrl } from "../providers/http.js";
import type { Provider } from "../providers/types.js";
import type { KeyStore } from "../store/keys.js";
import { type MasterKey, MasterKeyError, maskSecret } from "../store/secrets.js";
import type { EventBus } from "./events.js";
import type { Clock } from "./pipeline.js";

/** The key one upstream call uses. `id` goes into the usage log; `secret` only upstream. */
export interface KeyLease {
  id: string | null;
  secret: string | null;
}

/** Either a key to use now, or the moment the first cooling key comes back. */
export type Acquired = { lease: KeyLease } | { waitUntil: number };

interface PoolKey {
  id: string;
  provider: string;
  secret: string;
  masked: string;
  /** Persisted keys keep their state in SQLite; environment keys only in memory. */
  stored: boolean;
  invalid: boolean;
  cooldownUntil: number;
  /** Consecutive 429s without a retry hint: the backoff grows with them. */
  strikes: number;
  lastError: string | null;
}

export interface KeyPoolOptions {
  providers: Map<string, Provider>;
  store: KeyStore | null;
  loadMaster: () => MasterKey | null;
  env: NodeJS.ProcessEnv;
  clock: Clock;
  events: EventBus;
  /** Told each stored key's own rpm/tpm on every (re)load, so its limiter matches. */
  onKeyLimits?: (provider: string, keyId: string, limits: { rpm?: number; tpm?: number }) => void;
}

/**
 * Upstream keys per provider: stored keys (decrypted once, reloaded when the CLI changes them) or,
 * when a provider has none stored, `<PROVIDER>_API_KEY`. Round-robin over healthy keys; a 429 cools a
 * key, a 401/403 retires it.
 */
export class KeyPool {
  private byProvider = new Map<string, PoolKey[]>();
  private readonly cursor = new Map<string, number>();

  constructor(private readonly opts: KeyPoolOptions) {
    this.reload();
  }

  /** Rebuilds the key list from the store and the environment. Throws MasterKeyError when undecryptable. */
  reload(): void {
    const { store, env, providers } = this.opts;
    const previous = new Map([...this.byProvider.values()].flat().map((k) => [k.id, k]));
    const next = new Map<string, PoolKey[]>();
    const stored = store?.list().filter((k) => !k.disabled && providers.has(k.provider)) ?? [];
    if (stored.length) {
      const master = this.opts.loadMaster();
      if (!master) {
        throw new MasterKeyError(
          `${stored.length} upstream key(s) are stored but no master key was found: set AIGW_MASTER_KEY or restore master.key in the aigw home folder`,
        );
      }
      const secrets = store!.secrets(master);
      for (const key of stored) {
        this.opts.onKeyLimits?.(key.provider, key.id, {
          rpm: key.rpm ?? undefined,
          tpm: key.tpm ?? undefined,
        });
        const list = next.get(key.provider) ?? [];
        list.push({
          id: key.id,
          provider: key.provider,
          secret: secrets.get(key.id)!,
          masked: key.masked,
          stored: true,
          invalid: key.invalid,
          cooldownUntil: key.cooldown_until ?? 0,
          strikes: previous.get(key.id)?.strikes ?? 0,
          lastError: key.last_error,
        });
        next.set(key.provider, list);
      }
    }
    for (const provider of providers.values()) {
      const secret = env[provider.keyEnv];
      if (next.has(provider.name) || !secret) continue;
      const id = `env:${provider.keyEnv}`;
      const old = previous.get(id);
      next.set(provider.name, [
        old ?? {
          id,
          provider: provider.name,
          secret,
          masked: maskSecret(secret),
          stored: false,
          invalid: false,
          cooldownUntil: 0,
          strikes: 0,
          lastError: null,
        },
      ]);
    }
    this.byProvider = next;
  }

  acquire(provider: Provider): Acquired {
    const keys = this.byProvider.get(provider.name);
    if (!keys?.length) {
      if (!provider.needsKey) return { lease: { id: null, secret: null } };
      throw new GatewayError(
        502,
        "upstream_error",
        `no API key for provider "${provider.name}": set ${provider.keyEnv} or run \`aigw keys add ${provider.name}\``,
        { code: "no_upstream_key" },
      );
    }
    const now = this.opts.clock.now();
    const usable = keys.filter((k) => !k.invalid);
    if (!usable.length) {
      throw new GatewayError(
        502,
        "upstream_error",
        `every key of provider "${provider.name}" was rejected by the upstream (${keys.map((k) => k.id).join(", ")}); check them with \`aigw keys test ${provider.name}\``,
        { code: "all_keys_invalid" },
      );
    }
    const start = this.cursor.get(provider.name) ?? 0;
    for (let i = 0; i < usable.length; i++) {
      const key = usable[(start + i) % usable.length]!;
      if (key.cooldownUntil > now) continue;
      this.cursor.set(provider.name, (start + i + 1) % usable.length);
      return { lease: { id: key.id, secret: key.secret } };
    }
    return { waitUntil: Math.min(...usable.map((k) => k.cooldownUntil)) };
  }

  /**
   * Key `id` for a call that must use the key an earlier one did (a response lives in its key's
   * project), else another usable key of the provider. A side call: cooldowns and rotation untouched.
   */
  leaseFor(provider: Provider, id: string | null): KeyLease {
    const keys = this.byProvider.get(provider.name) ?? [];
    const key = keys.find((k) => k.id === id && !k.invalid) ?? keys.find((k) => !k.invalid);
    if (key) return { id: key.id, secret: key.secret };
    const got = this.acquire(provider); // throws: no key, or every key rejected
    return "lease" in got ? got.lease : { id: null, secret: null };
  }

  /** A usable key for a side call (listing models) that leaves the rotation as it is; undefined: none. */
  peek(provider: Provider): string | null | undefined {
    const keys = this.byProvider.get(provider.name);
    if (!keys?.length) return provider.needsKey ? undefined : null;
    const now = this.opts.clock.now();
    return keys.find((k) => !k.invalid && k.cooldownUntil <= now)?.secret;
  }

  /** The upstream said 429: cool the key for its hint, or a growing backoff. Returns the cooldown end. */
  rateLimited(lease: KeyLease, retryAfterMs: number | null): number | null {
    const key = this.find(lease);
    if (!key) return null;
    key.strikes++;
    const wait = retryAfterMs ?? Math.min(60_000, 1000 * 2 ** (key.strikes - 1));
    key.cooldownUntil = this.opts.clock.now() + wait;
    key.lastError = "429 rate limited by the upstream";
    if (key.stored) this.opts.store?.setCooldown(key.id, key.cooldownUntil, key.lastError);
    this.opts.events.emit({
      type: "limiter",
      provider: key.provider,
      key_id: key.id,
      state: "cooling",
      detail: { until: key.cooldownUntil },
    });
    return key.cooldownUntil;
  }

  /** The upstream said 401/403: this key is retired until the owner enables it again. */
  rejected(lease: KeyLease, status: number, message: string): void {
    const key = this.find(lease);
    if (!key) return;
    key.invalid = true;
    key.lastError = `${status}: ${message}`.slice(0, 300);
    if (key.stored) this.opts.store?.markInvalid(key.id, key.lastError);
    this.opts.events.emit({
      type: "limiter",
      provider: key.provider,
      key_id: key.id,
      state: "invalid",
      detail: { status },
    });
  }

  /** Another gateway of the fleet cooled this key: a cooldown only ever extends. */
  coolRemote(keyId: string, until: number): void {
    const key = this.find({ id: keyId, secret: null });
    if (key && until > key.cooldownUntil) key.cooldownUntil = until;
  }

  /** Another gateway of the fleet was told this key is invalid. */
  invalidRemote(keyId: string): void {
    const key = this.find({ id: keyId, secret: null });
    if (key) key.invalid = true;
  }

  succeeded(lease: KeyLease): void {
    const key = this.find(lease);
    if (key) key.strikes = 0;
  }

  /** Keys as `/aigw/status` shows them: masked, with state. */
  status(): {
    id: string;
    provider: string;
    state: string;
    cooldown_until: number | null;
    last_error: string | null;
  }[] {
    const now = this.opts.clock.now();
    return [...this.byProvider.values()].flat().map((k) => ({
      id: k.id,
      provider: k.provider,
      masked: k.masked,
      state: k.invalid ? "invalid" : k.cooldownUntil > now ? "cooling" : "ok",
      cooldown_until: k.cooldownUntil > now ? k.cooldownUntil : null,
      last_error: k.lastError,
    }));
  }

  private find(lease: KeyLease): PoolKey | undefined {
    if (!lease.id) return undefined;
    for (const keys of this.byProvider.values()) for (const k of keys) if (k.id === lease.id) return k;
    return undefined;
  }
}

/** Where a provider's key comes from, for the start banner and `aigw doctor`. */
export function keySource(provider: Provider, env: NodeJS.ProcessEnv, storedCount = 0): string {
  if (storedCount) return `${storedCount} stored key${storedCount > 1 ? "s" : ""}`;
  if (env[provider.keyEnv]) return `env ${provider.keyEnv}`;
  if (provider.needsKey) return "no key";
  // A remote OpenAI-compatible service almost always wants one; a local server usually does not.
  return isLoopbackUrl(provider.baseUrl)
    ? "no key needed"
    : `no key (set ${provider.keyEnv} if it needs one)`;
}

/**
 * How long an upstream asked us to wait, from the standard headers: `retry-after-ms`, `retry-after`
 * (seconds or an HTTP date). A provider's own reset headers are its dialect's (`resetMs`).
 */
export function retryAfterMs(
  headers: Record<string, string | string[] | undefined>,
  now: number,
): number | null {
  const one = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const ms = Number(one("retry-after-ms"));
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const after = one("retry-after");
  if (after !== undefined) {
    const seconds = Number(after);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(after);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  return null;
}
