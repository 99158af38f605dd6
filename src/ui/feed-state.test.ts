import { describe, expect, it } from "vitest";
import { recordedEvents, recordedStatus, SESSION_T0 } from "../../test/dashboard-fixtures.js";
import type { GatewayEvent } from "../gateway/events.js";
import { type FeedAction, type FeedState, feedReducer, initialFeedState } from "./feed-state.js";
import { selectView } from "./feed-view.js";
import { parseStatus } from "./wire.js";

const T0 = SESSION_T0;

function replay(events: GatewayEvent[], state = initialFeedState(T0)): FeedState {
  const actions: FeedAction[] = events.map((event) => ({ type: "event", event, at: T0 + 6000 }));
  return feedReducer(state, { type: "batch", actions });
}

const session = () => replay(recordedEvents("session.ndjson"));
const withStatus = (state: FeedState) =>
  feedReducer(state, { type: "status", status: parseStatus(recordedStatus()), at: T0 + 8000 });

describe("feedReducer on a recorded session", () => {
  it("keeps finished requests newest-start first and the unfinished one in flight", () => {
    const state = session();
    expect(state.history.map((r) => r.id)).toEqual([
      "req_8",
      "req_7",
      "req_5",
      "req_4",
      "req_3",
      "req_2",
      "req_1",
    ]);
    expect(state.inFlight.map((s) => s.id)).toEqual(["req_6"]);
    expect(state.finished).toBe(7);
  });

  it("shows a request in flight from its start event until its record replaces it in place", () => {
    const events = recordedEvents("session.ndjson");
    const upToStart2 = events.slice(0, events.findIndex((e) => e.type === "start" && e.id === "req_3") + 1);
    const mid = replay(upToStart2);
    expect(mid.inFlight.map((s) => s.id)).toEqual(["req_3", "req_2"]);
    const rows = selectView(mid, { now: T0 + 1000 }).rows;
    expect(rows.map((r) => [r.id, r.status])).toEqual([
      ["req_3", null],
      ["req_2", null],
      ["req_1", 200],
    ]);
    const done = session();
    const row2 = selectView(done, { now: T0 + 8000 }).rows.find((r) => r.id === "req_2")!;
    expect(row2).toMatchObject({ status: 200, latencyMs: 2400, provider: "anthropic" });
  });

  it("computes the rolling numbers over what finished in the window", () => {
    const { header } = selectView(session(), { now: T0 + 8000 });
    // 7 finished in the 8 s this view has been open.
    expect(header.rps).toBeCloseTo(7 / 8);
    expect(header.p50Ms).toBe(820);
    expect(header.errorRate).toBeCloseTo(2 / 7);
    // Hit rate counts cache lookups only (HIT or MISS), not bypasses.
    expect(header.hitRate).toBeCloseTo(1 / 4);
    const later = selectView(session(), { now: T0 + 120_000 }).header;
    expect([later.rps, later.p50Ms, later.errorRate, later.hitRate]).toEqual([0, null, null, null]);
  });

  it("adds up cost by the model that answered and by client, keeping unpriced apart from $0", () => {
    const { costs } = session();
    expect(costs.byModel["openai/gpt-4o-mini"]).toEqual({ requests: 2, usd: 0.00036, unpriced: 0 });
    expect(costs.byModel["anthropic/claude-sonnet-4-5"]).toEqual({ requests: 1, usd: 0.0207, unpriced: 0 });
    expect(costs.byModel["groq/llama-3.3-70b"]).toEqual({ requests: 1, usd: 0, unpriced: 1 });
    // Failed requests (502, 429) spent nothing and are not counted as spending.
    expect(Object.keys(costs.byModel)).not.toContain("mock/error-503");
    expect(costs.byClient.web?.usd).toBeCloseTo(0.00036 + 0.0207);
    expect(costs.byClient.ci).toEqual({ requests: 1, usd: 0.0033, unpriced: 0 });
    expect(costs.byClient.anonymous).toEqual({ requests: 1, usd: 0, unpriced: 1 });
  });

  it("without a status, spend is what this view has seen, with the unpriced count beside it", () => {
    const { header, costs } = selectView(session(), { now: T0 + 8000 });
    expect(header.spend).toEqual({ usd: expect.closeTo(0.02436, 8), unpriced: 1, source: "seen" });
    expect(header.dailyBudget).toBeNull();
    expect(costs.byClient.map((c) => c.name)).toEqual(["web", "ci", "anonymous"]);
    // A budget warning teaches the cap even when the status does not carry it.
    expect(costs.budgets).toEqual([{ label: "daily ci", spent: 0, cap: 2 }]);
  });

  it("with a status, spend and per-client totals are the gateway's own for today", () => {
    const view = selectView(withStatus(session()), { now: T0 + 8000 });
    expect(view.header.spend).toEqual({ usd: 5.1, unpriced: 1, source: "gateway" });
    expect(view.header.dailyBudget).toBe(10);
    expect(view.header.uptimeMs).toBe(2 * 3600_000 + 65_000 + 8000);
    const clients = Object.fromEntries(view.costs.byClient.map((c) => [c.name, c.usd]));
    expect(clients).toEqual({ web: 3.2, ci: 1.62, anonymous: expect.closeTo(0.28, 6) });
    expect(view.costs.budgets.map((b) => `${b.label} ${b.spent}/${b.cap}`)).toEqual([
      "daily ci 1.62/2",
      "daily 5.1/10",
      "monthly 42.5/100",
    ]);
  });

  it("lists open circuits and cooling keys before limiters, busiest limiter first", () => {
    const { limits } = selectView(withStatus(session()), { now: T0 + 8000 });
    expect(limits.reported).toBe(true);
    expect(limits.items.map((i) => (i.kind === "limiter" ? i.name : `${i.kind} ${i.provider}`))).toEqual([
      "circuit ollama",
      "key openai",
      "openai",
      "openai sk-…a1b2",
      "anthropic",
    ]);
    expect(limits.items[2]).toMatchObject({
      window: { used: 312, limit: 500, perMs: 60_000 },
      tokens: { used: 50_000, limit: 200_000 },
      inFlight: 3,
      concurrency: 8,
      queueDepth: 2,
    });
    expect(limits.notices.map((n) => n.text)).toEqual(["openai key_oa1 cooling"]);
  });

  it("filters rows by client or model, case-insensitively, including the answering provider/model", () => {
    const state = session();
    const ids = (filter: string) => selectView(state, { now: T0 + 8000, filter }).rows.map((r) => r.id);
    expect(ids("web")).toEqual(["req_8", "req_7", "req_5", "req_3", "req_1"]);
    expect(ids("claude")).toEqual(["req_8", "req_7", "req_2"]);
    expect(ids("GROQ")).toEqual(["req_4"]);
    expect(ids("gpt-4o")).toEqual(["req_6", "req_3", "req_1"]);
    expect(selectView(state, { now: T0 + 8000, filter: "nothing-like-this" }).totalRows).toBe(8);
  });

  it("drops rows in flight when the stream is lost: their finish events will never come", () => {
    const lost = feedReducer(session(), { type: "connection", state: "waiting", url: null });
    expect(lost.connection).toBe("reconnecting");
    expect(lost.inFlight).toEqual([]);
    const back = feedReducer(lost, { type: "connection", state: "connected", url: "http://127.0.0.1:4001" });
    expect([back.connection, back.url]).toEqual(["connected", "http://127.0.0.1:4001"]);
  });

  it("keeps a bounded history", () => {
    const state = replay(recordedEvents("session.ndjson"), initialFeedState(T0, 3));
    expect(state.history.map((r) => r.id)).toEqual(["req_8", "req_7", "req_5"]);
  });

  it("starts the day's totals again when a request of a new day arrives", () => {
    const tomorrow = T0 + 86_400_000;
    const next = replay(
      [
        {
          type: "request",
          record: { ...session().history[0]!, id: "req_next", started_at: tomorrow, cost_usd: 0.5 },
        },
      ],
      session(),
    );
    expect(Object.keys(next.costs.byModel)).toEqual(["anthropic/claude-sonnet-4-5"]);
    expect(next.costs.byModel["anthropic/claude-sonnet-4-5"]?.usd).toBe(0.5);
    // Yesterday's totals are not shown as today's.
    expect(selectView(session(), { now: tomorrow }).costs.byModel).toEqual([]);
  });
});

describe("feedReducer on a stream recorded from `aigw start --demo`", () => {
  it("reads every frame, and the mock's $0 stays $0 (not unpriced)", () => {
    const state = replay(recordedEvents("demo.ndjson"));
    expect(state.history).toHaveLength(8);
    expect(state.inFlight).toEqual([]);
    const view = selectView(state, { now: state.history[0]!.started_at + 1000 });
    expect(view.rows.filter((r) => r.error).map((r) => r.requested)).toEqual([
      "ollama/llama3.2",
      "mock/error-503",
    ]);
    expect(view.header.spend).toEqual({ usd: 0, unpriced: 0, source: "seen" });
    expect(view.costs.byModel.map((c) => c.name)).toEqual([
      "mock/gpt-4o-mini",
      "mock/claude-haiku-4-5",
      "mock/claude-sonnet-4-5",
    ]);
  });
});

describe("parseStatus", () => {
  it("tolerates a status without limiters or budgets (older gateways)", () => {
    const status = parseStatus({ started_at: 5, keys: [{ id: "k", provider: "openai" }], circuits: {} });
    expect(status).toEqual({
      startedAt: 5,
      limiters: null,
      keys: [{ id: "k", provider: "openai", masked: null, state: "ok", cooldownUntil: null }],
      circuits: [],
      budgets: null,
    });
    expect(parseStatus("nonsense").limiters).toBeNull();
  });

  it("reads budget caps given as daily_usd/monthly_usd or keyed like spent; nulls are no cap", () => {
    const caps = (limits: unknown) => parseStatus({ budgets: { spent: {}, limits } }).budgets?.limits;
    expect(caps({ daily_usd: 10, monthly_usd: null })).toEqual({ "daily:gateway": 10 });
    expect(caps({ "daily:gateway": 3, "daily:client:web": 1 })).toEqual({
      "daily:gateway": 3,
      "daily:client:web": 1,
    });
  });
});
