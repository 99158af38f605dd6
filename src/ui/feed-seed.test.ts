/** The dashboard opening with the usage log's history: seeded rows, today's spend, no double counts. */
import { describe, expect, it } from "vitest";
import { recordedEvents, SESSION_T0 } from "../../test/dashboard-fixtures.js";
import type { UsageRecord } from "../store/usage-log.js";
import { type FeedAction, type FeedState, feedReducer, initialFeedState } from "./feed-state.js";
import { selectView } from "./feed-view.js";
import { parseHistory } from "./wire.js";

const T0 = SESSION_T0;
const records = () =>
  recordedEvents("session.ndjson").flatMap((e) => (e.type === "request" ? [e.record] : []));
const byId = (id: string) => records().find((r) => r.id === id)!;

const connected: FeedAction = { type: "connection", state: "connected", url: "http://127.0.0.1:4000" };
const finished = (record: UsageRecord): FeedAction => ({
  type: "event",
  event: { type: "request", record },
  at: T0 + 6000,
});
/** A history body as the gateway sends it: rows most recently finished first, spend rows from SQL. */
const historyOf = (rows: UsageRecord[], spend: unknown[]): FeedAction => ({
  type: "history",
  history: parseHistory({
    rows: [...rows].reverse(),
    today: { day: "2026-11-22", timezone: "UTC", since: T0 - 12 * 3_600_000, spend },
  }),
  at: T0 + 6000,
});
const run = (actions: FeedAction[], state: FeedState = initialFeedState(T0 + 5000)) =>
  actions.reduce(feedReducer, state);

// What the log held for today before the dashboard opened: more than the rows it sends.
const SPEND = [
  { model: "openai/gpt-4o-mini", client: "web", requests: 40, cost_usd: 1.5, unpriced: 0 },
  { model: "anthropic/claude-sonnet-4-5", client: "ci", requests: 3, cost_usd: 0.75, unpriced: 0 },
  { model: "groq/llama-3.3-70b", client: null, requests: 2, cost_usd: 0, unpriced: 2 },
];

describe("feedReducer seeded from the usage log", () => {
  it("fills the table with the latest rows and the costs with today's spend, without counting them as new", () => {
    const rows = ["req_1", "req_2", "req_3"].map(byId);
    const state = run([connected, historyOf(rows, SPEND)]);
    expect(state.history.map((r) => r.id)).toEqual(["req_3", "req_2", "req_1"]);
    expect(state.finished).toBe(0);
    expect(state.costs.byModel["openai/gpt-4o-mini"]).toEqual({ requests: 40, usd: 1.5, unpriced: 0 });
    expect(state.costs.byClient).toEqual({
      web: { requests: 40, usd: 1.5, unpriced: 0 },
      ci: { requests: 3, usd: 0.75, unpriced: 0 },
      anonymous: { requests: 2, usd: 0, unpriced: 2 },
    });
    const view = selectView(state, { now: T0 + 6000 });
    expect(view.rows.map((r) => r.id)).toEqual(["req_3", "req_2", "req_1"]);
    // The per-model totals now cover the whole day, not just since the view opened.
    expect(view.costs.modelsSince).toBe(T0 - 12 * 3_600_000);
    expect(view.header.spend).toEqual({ usd: 2.25, unpriced: 2, source: "gateway" });
    // The seeded rows count in the rolling numbers; fewer rows than a page is all the traffic there was.
    expect(view.header.p50Ms).toBe(820);
    expect(view.header.rps).toBeCloseTo(3 / 10);
  });

  it("counts a request that finished while the log was read once, whichever arrived first", () => {
    const early = byId("req_1");
    const racing = byId("req_3");
    const after = byId("req_8");
    // req_3 arrived on the stream and is in the log's answer; req_8 finished after the log answered.
    const spend = [
      { model: "openai/gpt-4o-mini", client: "web", requests: 2, cost_usd: 0.00072, unpriced: 0 },
    ];
    const state = run([connected, finished(racing), historyOf([early, racing], spend), finished(after)]);
    expect(state.history.map((r) => r.id)).toEqual(["req_8", "req_3", "req_1"]);
    const web = state.costs.byClient.web!;
    expect(web.requests).toBe(2 + 1);
    expect(web.usd).toBeCloseTo(0.00072 + (after.cost_usd ?? 0), 10);
    // The stream sending a seeded row again changes nothing.
    expect(run([finished(early), finished(racing)], state)).toBe(state);
  });

  it("adds what arrived since connecting and is newer than the log's answer", () => {
    // The stream delivered req_8 before the history was read, but the log answered without it.
    const after = byId("req_8");
    const state = run([connected, finished(after), historyOf([byId("req_1")], SPEND)]);
    expect(state.costs.byClient.web).toEqual({
      requests: 41,
      usd: expect.closeTo(1.5 + (after.cost_usd ?? 0), 10),
      unpriced: 0,
    });
    expect(state.history.map((r) => r.id)).toEqual(["req_8", "req_1"]);
  });

  it("re-seeds on reconnect: what finished while away comes from the log, nothing twice", () => {
    const first = run([connected, historyOf([byId("req_1")], SPEND.slice(0, 1)), finished(byId("req_3"))]);
    expect(first.costs.byClient.web?.requests).toBe(41);
    const lost = feedReducer(first, { type: "connection", state: "waiting", url: null });
    const spendNow = [{ ...SPEND[0]!, requests: 43, cost_usd: 1.6 }];
    const back = run([connected, historyOf(["req_1", "req_3", "req_5", "req_7"].map(byId), spendNow)], lost);
    expect(back.history.map((r) => r.id)).toEqual(["req_7", "req_5", "req_3", "req_1"]);
    expect(back.costs.byClient.web).toEqual({ requests: 43, usd: 1.6, unpriced: 0 });
  });

  it("keeps at most the history limit, and a full page does not claim a whole rate window", () => {
    const rows = records();
    const state = run([connected, historyOf(rows, [])], initialFeedState(T0 + 5000, 3));
    expect(state.history).toHaveLength(3);
    const { header } = selectView(state, { now: T0 + 6000 });
    // The page reaches back to its oldest finish only, so the rate is over that span, not 10 s.
    expect(header.rps).toBeGreaterThan(3 / 10);
  });

  it("narrows a history body by hand: junk rows are dropped, a missing spend leaves costs alone", () => {
    const parsed = parseHistory({ rows: [{ id: 3 }, "x", { ...byId("req_1") }], today: { day: 5 } });
    expect(parsed.rows.map((r) => r.id)).toEqual(["req_1"]);
    expect(parsed.today).toBeNull();
    const state = run([connected, { type: "history", history: parsed, at: T0 + 6000 }]);
    expect(state.history.map((r) => r.id)).toEqual(["req_1"]);
    expect(state.costsFrom).toBe(T0 + 5000);
    expect(parseHistory("nonsense")).toEqual({ rows: [], today: null });
  });
});
