/**
 * The edge between the gateway's JSON and the dashboard: `/aigw/status` and `/aigw/history` bodies
 * and `/aigw/events` frames are narrowed by hand here, so a field the gateway does not send (yet) is a gap, not a crash.
 */
import type { GatewayEvent } from "../gateway/events.js";
import type { CacheStatus, UsageRecord } from "../store/usage-log.js";

export interface LimiterView {
  provider: string;
  keyId: string | null;
  limits: Record<string, number>;
  inFlight: number;
  queueDepth: number;
  oldestWaitMs: number;
  windows: { limit: number; perMs: number; used: number }[];
  tokensLevel: number | null;
  tokensUsed: number | null;
  pausedUntil: number | null;
}

export interface KeyView {
  id: string;
  provider: string;
  masked: string | null;
  state: string;
  cooldownUntil: number | null;
}

export interface CircuitView {
  provider: string;
  state: string;
  failures: number;
  retryAt: number | null;
}

export interface BudgetsView {
  timezone: string | null;
  day: string | null;
  /** USD by "<span>:<scope>", e.g. "daily:gateway", "monthly:client:web". */
  spent: Record<string, number>;
  /** Caps by the same keys, when the gateway reports them. */
  limits: Record<string, number>;
}

export interface StatusView {
  startedAt: number | null;
  /** null: this gateway does not report limiters. */
  limiters: LimiterView[] | null;
  keys: KeyView[];
  circuits: CircuitView[];
  budgets: BudgetsView | null;
}

/** `GET /aigw/history`: the latest finished requests and today's spend, from the usage log. */
export interface HistoryView {
  /** Most recently finished first. */
  rows: UsageRecord[];
  /** null: the gateway sent no spend (the rows still seed the table). */
  today: { day: string; since: number; spend: SpendView[] } | null;
}

export interface SpendView {
  model: string;
  client: string | null;
  requests: number;
  usd: number;
  unpriced: number;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const num = (v: unknown): number | null => (typeof v === "number" && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === "string" ? v : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function numbers(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  if (isObj(v)) for (const [k, n] of Object.entries(v)) if (num(n) !== null) out[k] = n as number;
  return out;
}

export function parseStatus(body: unknown): StatusView {
  const b = isObj(body) ? body : {};
  return {
    startedAt: num(b.started_at),
    limiters: Array.isArray(b.limiters) ? b.limiters.filter(isObj).map(limiter) : null,
    keys: list(b.keys)
      .filter(isObj)
      .map((k) => ({
        id: str(k.id) ?? "?",
        provider: str(k.provider) ?? "?",
        masked: str(k.masked),
        state: str(k.state) ?? "ok",
        cooldownUntil: num(k.cooldown_until),
      })),
    circuits: isObj(b.circuits)
      ? Object.entries(b.circuits)
          .filter((e): e is [string, Obj] => isObj(e[1]))
          .map(([provider, c]) => ({
            provider,
            state: str(c.state) ?? "closed",
            failures: num(c.failures) ?? 0,
            retryAt: num(c.retry_at),
          }))
      : [],
    budgets: isObj(b.budgets) ? budgets(b.budgets) : null,
  };
}

function limiter(l: Obj): LimiterView {
  return {
    provider: str(l.provider) ?? "?",
    keyId: str(l.key_id),
    limits: numbers(l.limits),
    inFlight: num(l.inFlight) ?? 0,
    queueDepth: num(l.queueDepth) ?? 0,
    oldestWaitMs: num(l.oldestWaitMs) ?? 0,
    windows: list(l.windows)
      .filter(isObj)
      .flatMap((w) => {
        const limit = num(w.limit);
        const perMs = num(w.perMs);
        return limit !== null && perMs !== null ? [{ limit, perMs, used: num(w.used) ?? 0 }] : [];
      }),
    tokensLevel: num(l.tokensLevel),
    tokensUsed: num(l.tokensUsed),
    pausedUntil: num(l.pausedUntil),
  };
}

/** `limits` may come keyed like `spent`, or as `{ daily_usd, monthly_usd }` (gateway-wide). */
function budgets(b: Obj): BudgetsView {
  const limits = numbers(b.limits);
  const raw = isObj(b.limits) ? b.limits : {};
  const gateway = isObj(raw.gateway) ? raw.gateway : raw;
  const daily = num(gateway.daily_usd);
  const monthly = num(gateway.monthly_usd);
  if (daily !== null) limits["daily:gateway"] = daily;
  if (monthly !== null) limits["monthly:gateway"] = monthly;
  delete limits.daily_usd;
  delete limits.monthly_usd;
  return { timezone: str(b.timezone), day: str(b.day), spent: numbers(b.spent), limits };
}

/** A parsed SSE frame as a gateway event; null for types this dashboard does not know. */
export function parseEvent(type: string, data: unknown): GatewayEvent | null {
  if (!isObj(data)) return null;
  switch (type) {
    case "start": {
      const id = str(data.id);
      const startedAt = num(data.started_at);
      if (id === null || startedAt === null) return null;
      return {
        type: "start",
        id,
        started_at: startedAt,
        client: str(data.client),
        route: str(data.route) ?? "",
        model: str(data.model),
        stream: data.stream === true,
      };
    }
    case "request": {
      const record = isObj(data.record) ? usageRecord(data.record) : null;
      return record ? { type: "request", record } : null;
    }
    case "limiter":
      return {
        type: "limiter",
        provider: str(data.provider) ?? "?",
        key_id: str(data.key_id),
        state: str(data.state) ?? "?",
        detail: isObj(data.detail) ? data.detail : {},
      };
    case "budget": {
      const spent = num(data.spent_usd);
      const budget = num(data.budget_usd);
      const span = data.span === "monthly" ? "monthly" : "daily";
      if (spent === null || budget === null) return null;
      return {
        type: "budget",
        scope: str(data.scope) ?? "gateway",
        span,
        threshold: num(data.threshold) ?? 0,
        spent_usd: spent,
        budget_usd: budget,
        period: str(data.period) ?? "",
        resets_at: str(data.resets_at) ?? "",
      };
    }
    default:
      return null;
  }
}

export function parseHistory(body: unknown): HistoryView {
  const b = isObj(body) ? body : {};
  const rows = list(b.rows)
    .filter(isObj)
    .flatMap((r) => usageRecord(r) ?? []);
  const t = isObj(b.today) ? b.today : null;
  const day = str(t?.day);
  const since = num(t?.since);
  const today =
    t && day !== null && since !== null
      ? {
          day,
          since,
          spend: list(t.spend)
            .filter(isObj)
            .map((s) => ({
              model: str(s.model) ?? "(none)",
              client: str(s.client),
              requests: num(s.requests) ?? 0,
              usd: num(s.cost_usd) ?? 0,
              unpriced: num(s.unpriced) ?? 0,
            })),
        }
      : null;
  return { rows, today };
}

function usageRecord(r: Obj): UsageRecord | null {
  const id = str(r.id);
  const startedAt = num(r.started_at);
  const status = num(r.status);
  if (id === null || startedAt === null || status === null) return null;
  const cache: CacheStatus = r.cache === "HIT" || r.cache === "MISS" ? r.cache : "BYPASS";
  return {
    id,
    started_at: startedAt,
    client: str(r.client),
    route: str(r.route) ?? "",
    requested_model: str(r.requested_model),
    provider: str(r.provider),
    upstream_model: str(r.upstream_model),
    key_id: str(r.key_id),
    status,
    error_type: str(r.error_type),
    stream: r.stream === true,
    cache,
    attempts: num(r.attempts) ?? 1,
    fallback_from: str(r.fallback_from),
    queue_wait_ms: num(r.queue_wait_ms),
    ttfb_ms: num(r.ttfb_ms),
    latency_ms: num(r.latency_ms) ?? 0,
    input_tokens: num(r.input_tokens),
    cached_input_tokens: num(r.cached_input_tokens),
    cache_write_tokens: num(r.cache_write_tokens),
    output_tokens: num(r.output_tokens),
    cost_usd: num(r.cost_usd),
    saved_usd: num(r.saved_usd),
    tags: str(r.tags),
    aborted: r.aborted === true,
    coalesced: r.coalesced === true,
    simulated: r.simulated === true,
  };
}
