import { z } from "zod";
import { parseDuration, parseSize } from "./units.js";

/** A duration field: "30s", "10m", "1h" or milliseconds; parsed to milliseconds. */
const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDuration(value);
  if (ms === null) {
    ctx.addIssue({
      code: "custom",
      message: `expected a duration like "30s", "10m" or "1h", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

/** A size field: "20MB", "512MB" or bytes; parsed to bytes. */
const size = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const bytes = parseSize(value);
  if (bytes === null) {
    ctx.addIssue({
      code: "custom",
      message: `expected a size like "20MB" or "1GB", got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return bytes;
});

const count = z.number().int().positive();

export const limitsSchema = z.strictObject({
  rpm: count.optional(),
  tpm: count.optional(),
  /** A request window other than a minute: `requests: 5, per: 2s`. */
  requests: count.optional(),
  per: duration.optional(),
  concurrency: count.optional(),
});

export const timeoutsSchema = z.strictObject({
  connect: duration.optional(),
  first_byte: duration.optional(),
  idle: duration.optional(),
});

export const providerTypes = ["openai", "anthropic", "openai-compatible", "mock"] as const;
export type ProviderType = (typeof providerTypes)[number];

export const providerSchema = z.strictObject({
  type: z.enum(providerTypes).optional(),
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  /** Environment variable holding the key; default `<NAME>_API_KEY`. */
  api_key_env: z.string().min(1).optional(),
  /** Extra headers sent upstream on every request (e.g. OpenRouter's `HTTP-Referer`). */
  headers: z.record(z.string(), z.string()).optional(),
  limits: limitsSchema.optional(),
  timeouts: timeoutsSchema.optional(),
  /** Its requests cost nothing (a local server); `pricing:` entries still set a price. Default false. */
  free: z.boolean().optional(),
  /** openai-compatible only: the server implements `/v1/responses` itself (recent Ollama, vLLM). */
  responses: z.enum(["native", "translate"]).optional(),
  /** mock only: content chunks per streamed answer, pause between chunks, pause before answering. */
  chunks: count.optional(),
  chunk_delay: duration.optional(),
  latency: duration.optional(),
});

const targetSchema = z.union([
  z.string().min(1),
  z.strictObject({
    model: z.string().min(1),
    weight: z.number().positive().optional(),
    /** Body fields forced on this target, e.g. `{ max_tokens: 1024 }`. */
    params: z.record(z.string(), z.unknown()).optional(),
  }),
]);

export const strategies = ["fallback", "round-robin", "least-busy"] as const;

const modelSchema = z.union([
  z.string().min(1),
  z.strictObject({
    targets: z.array(targetSchema).min(1),
    strategy: z.enum(strategies).default("fallback"),
  }),
]);

const priceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cached_input: z.number().nonnegative().optional(),
  cache_write: z.number().nonnegative().optional(),
});

export const configSchema = z.strictObject({
  port: z.number().int().min(0).max(65535).default(4000),
  host: z.string().min(1).default("127.0.0.1"),
  providers: z
    .record(
      z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, "provider names are letters, digits, - and _"),
      providerSchema,
    )
    .default({}),
  models: z.record(z.string().min(1), modelSchema).default({}),
  server: z
    .strictObject({ max_body: size.default(20 * 1024 * 1024), request_timeout: duration.default(30_000) })
    .prefault({}),
  timeouts: z
    .strictObject({
      connect: duration.default(10_000),
      first_byte: duration.default(120_000),
      idle: duration.default(60_000),
    })
    .prefault({}),
  cache: z
    .strictObject({
      enabled: z.boolean().default(true),
      ttl: duration.default(3_600_000),
      max_size: size.default(512 * 1024 * 1024),
      /** `replay`: answer only from the cache (a miss is an error); `record`: always call upstream and store. */
      mode: z.enum(["normal", "replay", "record"]).default("normal"),
      /** `client`: each client sees only its own entries. */
      scope: z.enum(["shared", "client"]).default("shared"),
      /** Models or aliases never cached (names or globs: `openai/*`). */
      exclude: z.array(z.string().min(1)).default([]),
    })
    .prefault({}),
  /** Per provider: skip it after this many consecutive failures, for `cool_off`, then probe once. */
  circuit_breaker: z
    .strictObject({ failures: count.default(5), cool_off: duration.default(30_000) })
    .prefault({}),
  /** Responses aigw keeps for `previous_response_id` and GET /v1/responses/{id} (translated ones only). */
  responses: z.strictObject({ retention: duration.default(3 * 86_400_000) }).prefault({}),
  /** Retries of one target on connection errors, timeouts and 500/502/503/504/529, before falling back. */
  retry: z
    .strictObject({
      max_attempts: count.default(3),
      backoff: duration.default(250),
      max_backoff: duration.default(4000),
    })
    .prefault({}),
  /** Limits for clients without their own (and for anonymous use): an immediate 429 past them. */
  default_client_limits: z.strictObject({ rpm: count.optional(), tpm: count.optional() }).prefault({}),
  queue: z.strictObject({ max_wait: duration.default(60_000), max_depth: count.default(1000) }).prefault({}),
  budgets: z
    .strictObject({
      daily_usd: z.number().positive().optional(),
      monthly_usd: z.number().positive().optional(),
      webhook_url: z.url().optional(),
      timezone: z.string().optional(),
    })
    .prefault({}),
  pricing: z.record(z.string(), priceSchema).default({}),
  /** Several gateways, one state: hot state in Redis, kept state in PostgreSQL (each optional). */
  shared: z
    .strictObject({
      redis: z.url({ protocol: /^rediss?$/ }).optional(),
      postgres: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
      /** Redis key prefix and PostgreSQL schema, so several setups can share one server. */
      prefix: z
        .string()
        .regex(
          /^[a-z][a-z0-9_]{0,39}$/,
          "a prefix is lowercase letters, digits and _, starting with a letter",
        )
        .default("aigw"),
    })
    .optional(),
});

/** The config file as written (before defaults). */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated config with defaults applied; durations in ms, sizes in bytes. */
export type Config = z.output<typeof configSchema>;
export type ProviderConfig = z.output<typeof providerSchema>;
export type LimitsConfig = z.output<typeof limitsSchema>;
export type TimeoutsConfig = Config["timeouts"];
