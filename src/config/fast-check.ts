/**
 * A hand-written check of the config for the common case, so `aigw start` need not load zod (a 750 KB
 * chunk that cost about a quarter of the work before listening). It is only ever a shortcut: it returns
 * the validated config exactly as `configSchema` would (defaults applied, durations in ms, sizes in
 * bytes), or null at the first thing it is not sure of, and then zod decides, with its error messages.
 * test/config-fast-check.test.ts holds the two to the same answers.
 */
import type { Config } from "./schema.js";
import { parseDuration, parseSize } from "./units.js";

/** Thrown inside the check: "not sure, ask zod". */
const UNSURE = Symbol("unsure");
const unsure = (): never => {
  throw UNSURE;
};

type Obj = Record<string, unknown>;

function obj(v: unknown, keys: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) unsure();
  const o = v as Obj;
  for (const k of Object.keys(o)) if (!keys.includes(k) || o[k] === undefined) unsure();
  return o;
}

function record(v: unknown): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) unsure();
  return v as Obj;
}

const str = (v: unknown, min = 0): string => (typeof v === "string" && v.length >= min ? v : unsure());
const bool = (v: unknown): boolean => (typeof v === "boolean" ? v : unsure());
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : unsure());
const count = (v: unknown): number =>
  Number.isSafeInteger(v) && (v as number) > 0 ? (v as number) : unsure();
const nonneg = (v: unknown): number => (num(v) >= 0 ? (v as number) : unsure());
const positive = (v: unknown): number => (num(v) > 0 ? (v as number) : unsure());
const oneOf = <T extends string>(v: unknown, values: readonly T[]): T =>
  values.includes(v as T) ? (v as T) : unsure();
const duration = (v: unknown): number =>
  typeof v === "string" || typeof v === "number" ? (parseDuration(v) ?? unsure()) : unsure();
const size = (v: unknown): number =>
  typeof v === "string" || typeof v === "number" ? (parseSize(v) ?? unsure()) : unsure();

/** A URL field: only plain, clearly valid ones; anything odd goes to zod. */
function url(v: unknown, protocol: RegExp): string {
  const s = str(v, 1);
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^\s]+$/i.test(s)) unsure();
  let parsed: URL;
  try {
    parsed = new URL(s);
  } catch {
    return unsure();
  }
  if (!protocol.test(parsed.protocol.slice(0, -1)) || !parsed.hostname) unsure();
  return s;
}

/** Copies the fields present in `o` through their checks; absent ones stay absent, as in zod. */
function fields<T extends Obj>(o: Obj, checks: { [K in keyof T]: (v: unknown) => T[K] }): T {
  const out: Obj = {};
  for (const [k, check] of Object.entries(checks)) if (k in o) out[k] = check(o[k]);
  return out as T;
}

function withDefaults<T extends Obj>(
  v: unknown,
  checks: { [K in keyof T]: [(v: unknown) => T[K], T[K]] },
): T {
  const o = obj(v === undefined ? {} : v, Object.keys(checks));
  const out: Obj = {};
  for (const [k, [check, fallback]] of Object.entries(checks)) out[k] = k in o ? check(o[k]) : fallback;
  return out as T;
}

const LIMITS = ["rpm", "tpm", "requests", "per", "concurrency"] as const;
const limits = (v: unknown) =>
  fields(obj(v, LIMITS), { rpm: count, tpm: count, requests: count, per: duration, concurrency: count });

const TIMEOUTS = ["connect", "first_byte", "idle"] as const;
const timeouts = (v: unknown) =>
  fields(obj(v, TIMEOUTS), { connect: duration, first_byte: duration, idle: duration });

const PROVIDER_KEYS = [
  "type",
  "base_url",
  "api_key_env",
  "headers",
  "limits",
  "timeouts",
  "free",
  "responses",
  "chunks",
  "chunk_delay",
  "latency",
] as const;

function provider(v: unknown) {
  return fields(obj(v, PROVIDER_KEYS), {
    type: (t) => oneOf(t, ["openai", "anthropic", "openai-compatible", "mock"] as const),
    base_url: (u) => url(u, /^https?$/),
    api_key_env: (s) => str(s, 1),
    headers: (h) => {
      const r = record(h);
      for (const value of Object.values(r)) str(value);
      return { ...r } as Record<string, string>;
    },
    limits,
    timeouts,
    free: bool,
    responses: (r) => oneOf(r, ["native", "translate"] as const),
    chunks: count,
    chunk_delay: duration,
    latency: duration,
  });
}

function target(v: unknown) {
  if (typeof v === "string") return str(v, 1);
  const o = obj(v, ["model", "weight", "params"]);
  if (!("model" in o)) unsure();
  return fields(o, {
    model: (m) => str(m, 1),
    weight: positive,
    params: (p) => ({ ...record(p) }),
  }) as { model: string; weight?: number; params?: Record<string, unknown> };
}

function model(v: unknown) {
  if (typeof v === "string") return str(v, 1);
  const o = obj(v, ["targets", "strategy"]);
  if (!Array.isArray(o.targets) || o.targets.length === 0) unsure();
  return {
    targets: (o.targets as unknown[]).map(target),
    strategy:
      "strategy" in o ? oneOf(o.strategy, ["fallback", "round-robin", "least-busy"] as const) : "fallback",
  };
}

function price(v: unknown) {
  const o = obj(v, ["input", "output", "cached_input", "cache_write"]);
  if (!("input" in o) || !("output" in o)) unsure();
  return fields(o, { input: nonneg, output: nonneg, cached_input: nonneg, cache_write: nonneg }) as {
    input: number;
    output: number;
    cached_input?: number;
    cache_write?: number;
  };
}

function mapRecord<T>(v: unknown, key: (k: string) => boolean, value: (v: unknown) => T): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, item] of Object.entries(record(v))) {
    if (!key(k)) unsure();
    out[k] = value(item);
  }
  return out;
}

const TOP = [
  "port",
  "host",
  "providers",
  "models",
  "server",
  "timeouts",
  "cache",
  "circuit_breaker",
  "responses",
  "retry",
  "default_client_limits",
  "queue",
  "budgets",
  "pricing",
  "shared",
] as const;

function check(raw: unknown): Config {
  const o = obj(raw, TOP);
  const port = "port" in o ? (Number.isInteger(o.port) ? (o.port as number) : unsure()) : 4000;
  if (port < 0 || port > 65535) unsure();
  const config: Obj = {
    port,
    host: "host" in o ? str(o.host, 1) : "127.0.0.1",
    providers:
      "providers" in o ? mapRecord(o.providers, (k) => /^[a-z0-9][a-z0-9_-]*$/i.test(k), provider) : {},
    models: "models" in o ? mapRecord(o.models, (k) => k.length > 0, model) : {},
    server: withDefaults(o.server, {
      max_body: [size, 20 * 1024 * 1024],
      request_timeout: [duration, 30_000],
    }),
    timeouts: withDefaults(o.timeouts, {
      connect: [duration, 10_000],
      first_byte: [duration, 120_000],
      idle: [duration, 60_000],
    }),
    cache: withDefaults(o.cache, {
      enabled: [bool, true],
      ttl: [duration, 3_600_000],
      max_size: [size, 512 * 1024 * 1024],
      mode: [(m) => oneOf(m, ["normal", "replay", "record"] as const), "normal"],
      scope: [(s) => oneOf(s, ["shared", "client"] as const), "shared"],
      exclude: [
        (e) => {
          if (!Array.isArray(e)) unsure();
          return (e as unknown[]).map((x) => str(x, 1));
        },
        [] as string[],
      ],
    }),
    circuit_breaker: withDefaults(o.circuit_breaker, { failures: [count, 5], cool_off: [duration, 30_000] }),
    responses: withDefaults(o.responses, { retention: [duration, 3 * 86_400_000] }),
    retry: withDefaults(o.retry, {
      max_attempts: [count, 3],
      backoff: [duration, 250],
      max_backoff: [duration, 4000],
    }),
    default_client_limits: fields(
      obj(o.default_client_limits === undefined ? {} : o.default_client_limits, ["rpm", "tpm"]),
      {
        rpm: count,
        tpm: count,
      },
    ),
    queue: withDefaults(o.queue, { max_wait: [duration, 60_000], max_depth: [count, 1000] }),
    budgets: fields(
      obj(o.budgets === undefined ? {} : o.budgets, ["daily_usd", "monthly_usd", "webhook_url", "timezone"]),
      {
        daily_usd: positive,
        monthly_usd: positive,
        webhook_url: (u) => url(u, /^https?$/),
        timezone: (z) => str(z),
      },
    ),
    pricing: "pricing" in o ? mapRecord(o.pricing, () => true, price) : {},
  };
  if ("shared" in o) {
    const s = obj(o.shared, ["redis", "postgres", "prefix"]);
    config.shared = {
      ...fields(s, {
        redis: (u) => url(u, /^rediss?$/),
        postgres: (u) => url(u, /^postgres(ql)?$/),
      }),
      prefix: "prefix" in s ? (/^[a-z][a-z0-9_]{0,39}$/.test(str(s.prefix)) ? s.prefix : unsure()) : "aigw",
    };
  }
  return config as unknown as Config;
}

/** The validated config, or null when zod must decide (an error, or a case this check leaves to it). */
export function fastCheckConfig(raw: unknown): Config | null {
  try {
    return check(raw);
  } catch (err) {
    if (err === UNSURE) return null;
    throw err;
  }
}
