/** From feed state to what each panel shows, at a given instant and filter. Pure. */
import type { CacheStatus } from "../store/usage-log.js";
import { budgetCaps, type CostsView, selectCosts, sum, todaysSeen } from "./cost-view.js";
import {
  type Connection,
  type FeedState,
  isError,
  isUnpriced,
  RATE_WINDOW_MS,
  STATS_WINDOW_MS,
} from "./feed-state.js";
import type { StatusView } from "./wire.js";

export type { BudgetLine, CostLine, CostsView } from "./cost-view.js";

export interface HeaderView {
  url: string | null;
  connection: Connection;
  error: string | null;
  statusError: string | null;
  uptimeMs: number | null;
  rps: number;
  /** Over the last minute; null when nothing finished in it. */
  p50Ms: number | null;
  errorRate: number | null;
  hitRate: number | null;
  /** Today's spend: the gateway's own total (its budgets, or its usage log), else what this view has seen. */
  spend: { usd: number; unpriced: number; source: "gateway" | "seen" };
  dailyBudget: number | null;
}

export interface RequestRow {
  id: string;
  startedAt: number;
  client: string | null;
  /** chat, messages, embeddings. */
  api: string;
  requested: string | null;
  provider: string | null;
  upstream: string | null;
  /** null while in flight. */
  status: number | null;
  error: boolean;
  errorType: string | null;
  cache: CacheStatus | null;
  stream: boolean;
  /** Elapsed so far while in flight. */
  latencyMs: number;
  ttfbMs: number | null;
  queueWaitMs: number | null;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  unpriced: boolean;
}

export type LimitItem =
  | { kind: "circuit"; provider: string; state: string; retryAt: number | null }
  | { kind: "key"; provider: string; label: string; state: string; until: number | null }
  | {
      kind: "limiter";
      name: string;
      window: { used: number; limit: number; perMs: number } | null;
      tokens: { used: number; limit: number } | null;
      inFlight: number;
      concurrency: number | null;
      queueDepth: number;
      oldestWaitMs: number;
      pausedUntil: number | null;
    };

export interface LimitsView {
  items: LimitItem[];
  /** false: the gateway's status has no limiter section. */
  reported: boolean;
  notices: FeedState["notices"];
}

export interface DashboardView {
  header: HeaderView;
  rows: RequestRow[];
  totalRows: number;
  limits: LimitsView;
  costs: CostsView;
}

export function selectView(state: FeedState, opts: { now: number; filter?: string }): DashboardView {
  const { now } = opts;
  const all = requestRows(state, now);
  const filter = opts.filter?.trim().toLowerCase() ?? "";
  const rows = filter ? all.filter((r) => matchesFilter(r, filter)) : all;
  return {
    header: header(state, now),
    rows,
    totalRows: all.length,
    limits: limits(state.status, state.notices),
    costs: selectCosts(state, now),
  };
}

/** A row matches when its client, requested model or answering provider/model contains the text. */
export function matchesFilter(row: RequestRow, filter: string): boolean {
  const needle = filter.toLowerCase();
  const hay = [
    row.client ?? "anonymous",
    row.requested ?? "",
    row.provider ? `${row.provider}/${row.upstream}` : "",
  ];
  return hay.some((h) => h.toLowerCase().includes(needle));
}

function requestRows(state: FeedState, now: number): RequestRow[] {
  const running: RequestRow[] = state.inFlight.map((s) => ({
    id: s.id,
    startedAt: s.started_at,
    client: s.client,
    api: s.route,
    requested: s.model,
    provider: null,
    upstream: null,
    status: null,
    error: false,
    errorType: null,
    cache: null,
    stream: s.stream,
    latencyMs: Math.max(0, now - s.started_at),
    ttfbMs: null,
    queueWaitMs: null,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    unpriced: false,
  }));
  const done: RequestRow[] = state.history.map((r) => ({
    id: r.id,
    startedAt: r.started_at,
    client: r.client,
    api: r.route,
    requested: r.requested_model,
    provider: r.provider,
    upstream: r.upstream_model,
    status: r.status,
    error: isError(r),
    errorType: r.error_type,
    cache: r.cache,
    stream: r.stream,
    latencyMs: r.latency_ms,
    ttfbMs: r.ttfb_ms,
    queueWaitMs: r.queue_wait_ms,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    unpriced: isUnpriced(r),
  }));
  return [...running, ...done].sort((a, b) => b.startedAt - a.startedAt);
}

function header(state: FeedState, now: number): HeaderView {
  const inWindow = state.samples.filter((s) => s.at > now - STATS_WINDOW_MS && s.at <= now + 1000);
  const recent = inWindow.filter((s) => s.at > now - RATE_WINDOW_MS).length;
  // A view open for 3 s (and not seeded from the log) has seen 3 s of traffic, not 10.
  const span = Math.max(1000, Math.min(RATE_WINDOW_MS, now - state.samplesFrom));
  const latencies = inWindow.map((s) => s.latency).sort((a, b) => a - b);
  const lookups = inWindow.filter((s) => s.cache === "HIT" || s.cache === "MISS");
  const seen = todaysSeen(state, now);
  const budgets = state.status?.budgets ?? null;
  const gatewaySpent = budgets ? (budgets.spent["daily:gateway"] ?? 0) : null;
  return {
    url: state.url,
    connection: state.connection,
    error: state.error,
    statusError: state.statusError,
    uptimeMs: state.status?.startedAt ? Math.max(0, now - state.status.startedAt) : null,
    rps: (recent * 1000) / span,
    p50Ms: latencies.length ? latencies[Math.floor((latencies.length - 1) / 2)]! : null,
    errorRate: inWindow.length ? inWindow.filter((s) => s.error).length / inWindow.length : null,
    hitRate: lookups.length ? lookups.filter((s) => s.cache === "HIT").length / lookups.length : null,
    spend: {
      usd: gatewaySpent ?? sum(Object.values(seen.byModel), "usd"),
      unpriced: sum(Object.values(seen.byModel), "unpriced"),
      // Seeded from the usage log, the day's total is the gateway's too, not only what this view saw.
      source: gatewaySpent === null && state.costsFrom >= state.openedAt ? "seen" : "gateway",
    },
    dailyBudget: budgetCaps(state)["daily:gateway"] ?? null,
  };
}

function limits(status: StatusView | null, notices: FeedState["notices"]): LimitsView {
  if (!status) return { items: [], reported: false, notices };
  const items: LimitItem[] = [];
  for (const c of status.circuits) {
    if (c.state !== "closed")
      items.push({ kind: "circuit", provider: c.provider, state: c.state, retryAt: c.retryAt });
  }
  for (const k of status.keys) {
    if (k.state !== "ok") {
      items.push({
        kind: "key",
        provider: k.provider,
        label: k.masked ?? k.id,
        state: k.state,
        until: k.cooldownUntil,
      });
    }
  }
  const limiters = (status.limiters ?? []).map((l): LimitItem & { kind: "limiter" } => {
    const key = l.keyId ? status.keys.find((k) => k.id === l.keyId) : undefined;
    const window = l.windows.reduce<(typeof l.windows)[number] | null>(
      (worst, w) => (!worst || w.used / w.limit > worst.used / worst.limit ? w : worst),
      null,
    );
    const tpm = l.limits.tpm;
    return {
      kind: "limiter",
      name: l.keyId ? `${l.provider} ${key?.masked ?? l.keyId}` : l.provider,
      window,
      tokens: tpm && l.tokensUsed !== null ? { used: l.tokensUsed, limit: tpm } : null,
      inFlight: l.inFlight,
      concurrency: l.limits.concurrency ?? null,
      queueDepth: l.queueDepth,
      oldestWaitMs: l.oldestWaitMs,
      pausedUntil: l.pausedUntil,
    };
  });
  const load = (l: LimitItem & { kind: "limiter" }) =>
    Math.max(
      l.window ? l.window.used / l.window.limit : 0,
      l.tokens ? l.tokens.used / l.tokens.limit : 0,
      l.concurrency ? l.inFlight / l.concurrency : 0,
      l.queueDepth > 0 || l.pausedUntil ? 2 : 0,
    );
  items.push(...limiters.sort((a, b) => load(b) - load(a) || a.name.localeCompare(b.name)));
  return { items, reported: status.limiters !== null, notices };
}
