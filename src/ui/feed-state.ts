/**
 * The dashboard's state as a pure reducer: gateway events, connection changes and status polls in;
 * `selectView` turns it into what the panels show. No Ink, no clock: time comes in as arguments.
 */
import type { GatewayEvent } from "../gateway/events.js";
import type { UsageRecord } from "../store/usage-log.js";
import type { HistoryView, StatusView } from "./wire.js";

export type StartEvent = Extract<GatewayEvent, { type: "start" }>;
export type Connection = "connecting" | "connected" | "reconnecting";

/** What a transport yields: an event, or the event stream's connection changing. */
export type FeedInput =
  | { type: "event"; event: GatewayEvent }
  | { type: "connection"; state: "connected" | "waiting"; url: string | null };

export type FeedAction =
  | { type: "event"; event: GatewayEvent; at: number }
  | Extract<FeedInput, { type: "connection" }>
  | { type: "status"; status: StatusView; at: number }
  /** The gateway's usage log as the view (re)connects: the latest rows and today's spend. */
  | { type: "history"; history: HistoryView; at: number }
  | { type: "status-failed"; message: string; at: number }
  | { type: "failed"; message: string }
  | { type: "batch"; actions: FeedAction[] };

export interface CostAgg {
  requests: number;
  usd: number;
  /** Answered requests with no price known: their cost is unknown, not zero. */
  unpriced: number;
}

export interface Notice {
  at: number;
  text: string;
  role: "warn" | "error" | "ok";
}

interface Sample {
  at: number;
  latency: number;
  error: boolean;
  cache: UsageRecord["cache"];
}

export interface FeedState {
  openedAt: number;
  historyLimit: number;
  connection: Connection;
  url: string | null;
  /** A failure the feed cannot recover from (e.g. the admin token was refused). */
  error: string | null;
  /** Finished requests seen so far: "n new" while the view is paused. */
  finished: number;
  /** Finished requests, newest start first, at most `historyLimit`. */
  history: UsageRecord[];
  /** Requests started and not yet finished, newest first. */
  inFlight: StartEvent[];
  /** Finished requests of the last minute, for the rolling numbers. */
  samples: Sample[];
  /** Cost of the requests on `day` (local date), by the model that answered and by client. */
  costs: { day: string; byModel: Record<string, CostAgg>; byClient: Record<string, CostAgg> };
  /** Where `costs` start: when this view opened, or the day's start once the usage log seeded them. */
  costsFrom: number;
  /** From when `samples` are complete: when this view opened, or earlier once the usage log seeded them. */
  samplesFrom: number;
  /** Finished requests applied since the event stream last connected, for merging a history seed. */
  sinceConnect: UsageRecord[];
  status: StatusView | null;
  statusError: string | null;
  /** Budget caps learned from budget warnings, by "<span>:<scope>", for gateways whose status lacks them. */
  budgetCaps: Record<string, number>;
  notices: Notice[];
}

export const STATS_WINDOW_MS = 60_000;
export const RATE_WINDOW_MS = 10_000;
const MAX_SAMPLES = 50_000;
const MAX_IN_FLIGHT = 500;
const MAX_NOTICES = 20;

/** Local calendar day of an instant: "2026-11-22". */
export function dayKey(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

export function initialFeedState(now: number, historyLimit = 500): FeedState {
  return {
    openedAt: now,
    historyLimit,
    connection: "connecting",
    url: null,
    error: null,
    finished: 0,
    history: [],
    inFlight: [],
    samples: [],
    costs: { day: dayKey(now), byModel: {}, byClient: {} },
    costsFrom: now,
    samplesFrom: now,
    sinceConnect: [],
    status: null,
    statusError: null,
    budgetCaps: {},
    notices: [],
  };
}

export function feedReducer(state: FeedState, action: FeedAction): FeedState {
  switch (action.type) {
    case "batch":
      return action.actions.reduce(feedReducer, state);
    case "connection":
      if (action.state === "connected")
        return { ...state, connection: "connected", url: action.url, error: null, sinceConnect: [] };
      // Finish events lost while away would leave rows "in flight" forever.
      return state.connection === "reconnecting"
        ? state
        : { ...state, connection: "reconnecting", inFlight: [] };
    case "status":
      return { ...state, status: action.status, statusError: null };
    case "history":
      return seed(state, action.history, action.at);
    case "status-failed":
      return { ...state, statusError: action.message };
    case "failed":
      return { ...state, error: action.message };
    case "event":
      return applyEvent(state, action.event, action.at);
  }
}

function applyEvent(state: FeedState, event: GatewayEvent, at: number): FeedState {
  switch (event.type) {
    case "start":
      if (state.inFlight.some((s) => s.id === event.id)) return state;
      return { ...state, inFlight: [event, ...state.inFlight].slice(0, MAX_IN_FLIGHT) };
    case "request":
      return finish(state, event.record);
    case "limiter":
      return notice(state, { ...limiterNotice(event), at });
    case "budget": {
      // Warnings themselves show as the budget bars filling; the cap is what a status may lack.
      const key = `${event.span}:${event.scope}`;
      return { ...state, budgetCaps: { ...state.budgetCaps, [key]: event.budget_usd } };
    }
  }
}

function finish(state: FeedState, r: UsageRecord): FeedState {
  // Already shown (from a history seed, or sent twice): counting it again would double its cost.
  if (state.history.some((h) => h.id === r.id)) return state;
  const end = r.started_at + r.latency_ms;
  const cutoff = end - STATS_WINDOW_MS;
  const samples = [...state.samples.filter((s) => s.at >= cutoff), sampleOf(r)].slice(-MAX_SAMPLES);
  return {
    ...state,
    finished: state.finished + 1,
    history: insertByStart(state.history, r, state.historyLimit),
    inFlight: state.inFlight.filter((s) => s.id !== r.id),
    samples,
    costs: addCost(state.costs, r),
    sinceConnect: [...state.sinceConnect, r].slice(-state.historyLimit),
  };
}

const sampleOf = (r: UsageRecord): Sample => ({
  at: r.started_at + r.latency_ms,
  latency: r.latency_ms,
  error: isError(r),
  cache: r.cache,
});

/**
 * Merges the usage log's view. The history is read after the event stream connected, so a record
 * that arrived since then is in the log's spend exactly when it is among the history's rows.
 */
function seed(state: FeedState, h: HistoryView, at: number): FeedState {
  let history = state.history;
  const added: Sample[] = [];
  for (const r of h.rows) {
    if (history.some((x) => x.id === r.id)) continue;
    history = insertByStart(history, r, state.historyLimit);
    added.push(sampleOf(r));
  }
  const cutoff = at - STATS_WINDOW_MS;
  const samples = [...state.samples, ...added.filter((s) => s.at >= cutoff)]
    .sort((a, b) => a.at - b.at)
    .slice(-MAX_SAMPLES);
  // A full page of rows may not reach back a whole window; fewer than a page is everything there was.
  const oldestEnd = Math.min(...h.rows.map((r) => r.started_at + r.latency_ms));
  const samplesFrom = Math.min(state.samplesFrom, h.rows.length < state.historyLimit ? 0 : oldestEnd);
  if (!h.today) return { ...state, history, samples, samplesFrom };
  const inLog = new Set(h.rows.map((r) => r.id));
  const fromLog = spendCosts(dayKey(at), h.today.spend);
  const costs = state.sinceConnect.filter((r) => !inLog.has(r.id)).reduce(addCost, fromLog);
  return { ...state, history, samples, samplesFrom, costs, costsFrom: h.today.since, sinceConnect: [] };
}

function spendCosts(day: string, spend: NonNullable<HistoryView["today"]>["spend"]): FeedState["costs"] {
  const byModel: Record<string, CostAgg> = {};
  const byClient: Record<string, CostAgg> = {};
  const add = (into: Record<string, CostAgg>, key: string, s: (typeof spend)[number]) => {
    const prev = into[key] ?? { requests: 0, usd: 0, unpriced: 0 };
    into[key] = {
      requests: prev.requests + s.requests,
      usd: prev.usd + s.usd,
      unpriced: prev.unpriced + s.unpriced,
    };
  };
  for (const s of spend) {
    add(byModel, s.model, s);
    add(byClient, s.client ?? "anonymous", s);
  }
  return { day, byModel, byClient };
}

/** Keeps history ordered by start, newest first, so a finished row takes its in-flight row's place. */
function insertByStart(history: UsageRecord[], r: UsageRecord, limit: number): UsageRecord[] {
  if (history.some((h) => h.id === r.id)) return history;
  let i = 0;
  while (i < history.length && history[i]!.started_at > r.started_at) i++;
  const next = [...history.slice(0, i), r, ...history.slice(i)];
  return next.length > limit ? next.slice(0, limit) : next;
}

export function isError(r: UsageRecord): boolean {
  return r.status >= 400 || r.error_type !== null;
}

/** Same rule as `aigw stats`: answered, not from cache, and no price known. */
export function isUnpriced(r: UsageRecord): boolean {
  return r.cost_usd === null && r.status < 400 && r.cache !== "HIT";
}

export function modelKey(r: UsageRecord): string {
  if (r.provider && r.upstream_model) return `${r.provider}/${r.upstream_model}`;
  return r.requested_model ?? "(none)";
}

function addCost(costs: FeedState["costs"], r: UsageRecord): FeedState["costs"] {
  const day = dayKey(r.started_at);
  if (day < costs.day) return costs;
  const base = day > costs.day ? { day, byModel: {}, byClient: {} } : costs;
  // Requests that cost nothing because they failed before an upstream answered are not spending.
  if (r.cost_usd === null && !isUnpriced(r)) return base;
  const add = (into: Record<string, CostAgg>, key: string) => {
    const prev = into[key] ?? { requests: 0, usd: 0, unpriced: 0 };
    return {
      ...into,
      [key]: {
        requests: prev.requests + 1,
        usd: prev.usd + (r.cost_usd ?? 0),
        unpriced: prev.unpriced + (isUnpriced(r) ? 1 : 0),
      },
    };
  };
  return {
    day,
    byModel: add(base.byModel, modelKey(r)),
    byClient: add(base.byClient, r.client ?? "anonymous"),
  };
}

function limiterNotice(e: Extract<GatewayEvent, { type: "limiter" }>): Omit<Notice, "at"> {
  const who = e.key_id ? `${e.provider} ${e.key_id}` : e.provider;
  const bad = e.state === "invalid" || e.state === "circuit-open";
  const good = e.state === "drained" || e.state === "circuit-closed";
  return { text: `${who} ${e.state}`, role: bad ? "error" : good ? "ok" : "warn" };
}

function notice(state: FeedState, n: Notice): FeedState {
  return { ...state, notices: [n, ...state.notices].slice(0, MAX_NOTICES) };
}
