import { describe, expect, it } from "vitest";
import { recordedEvents, recordedStatus, SESSION_T0 } from "../../test/dashboard-fixtures.js";
import { feedReducer, initialFeedState } from "./feed-state.js";
import { selectView } from "./feed-view.js";
import { dashboardLayout, headerSegments, rowSegments, segmentsText, tableColumns } from "./layout.js";
import { costLines, footerLine, formatSpend, headerLines, limitLines } from "./panel-lines.js";
import { parseStatus } from "./wire.js";

const now = SESSION_T0 + 8000;
const state = feedReducer(
  feedReducer(initialFeedState(SESSION_T0), {
    type: "batch",
    actions: [
      { type: "connection", state: "connected", url: "http://127.0.0.1:4000" },
      ...recordedEvents("session.ndjson").map((event) => ({ type: "event" as const, event, at: now })),
    ],
  }),
  { type: "status", status: parseStatus(recordedStatus()), at: now },
);
const view = selectView(state, { now });
const text = (lines: { text: string }[][]) => lines.map(segmentsText);

describe("dashboardLayout", () => {
  it("fills 80×24 with one line to spare, and gives a larger terminal to the table and panels", () => {
    const small = dashboardLayout(80, 24);
    expect(small).toMatchObject({
      width: 80,
      height: 23,
      tableRows: 11,
      bottomRows: 6,
      leftWidth: 39,
      rightWidth: 40,
    });
    expect(small.tableRows + small.bottomRows + 6).toBe(small.height);
    const large = dashboardLayout(160, 48);
    expect(large.tableRows).toBeGreaterThan(small.tableRows * 2);
    expect(large.bottomRows).toBe(14);
  });
});

describe("request table", () => {
  it.each([60, 80, 100, 160, 220])("columns fit a %i-column terminal exactly or less", (width) => {
    const columns = tableColumns(width);
    const used = columns.reduce((n, c) => n + c.pad + c.width, 0);
    expect(used).toBeLessThanOrEqual(width);
    expect(columns.map((c) => c.key)).toEqual(expect.arrayContaining(["route", "status"]));
    for (const row of view.rows) expect(segmentsText(rowSegments(row, columns)).length).toBe(used);
  });

  it("keeps the brief's columns at 80 and adds api, queue and ttfb when wide", () => {
    expect(tableColumns(80).map((c) => c.key)).toEqual([
      "time",
      "client",
      "route",
      "status",
      "cache",
      "latency",
      "tokens",
      "cost",
    ]);
    expect(tableColumns(160).map((c) => c.key)).toEqual(expect.arrayContaining(["api", "queue", "ttfb"]));
    expect(segmentsText(headerSegments(tableColumns(80)))).toMatch(
      /^time +client +model → provider +st cache latency/,
    );
  });

  it("renders each kind of row", () => {
    const columns = tableColumns(80);
    const line = (id: string) => segmentsText(rowSegments(view.rows.find((r) => r.id === id)!, columns));
    expect(line("req_1")).toMatch(/web +gpt-4o-mini → openai +200 miss +820ms +1.2k→300 +\$0.0004$/);
    expect(line("req_3")).toMatch(/200 hit .* \$0.00$/);
    expect(line("req_4")).toMatch(/anonymous +groq\/llama-3.3-70b +200 .* unpriced$/);
    expect(line("req_5")).toMatch(/mock\/error-503 +502 .* upstream_error$/);
    expect(line("req_7")).toMatch(/claude-haiku-4-5 …? *429 .* rate_limit_exceeded$/);
    // In flight: "…" for status, the time so far, no tokens or cost yet.
    expect(line("req_6")).toMatch(/ci +gpt-4o \(stream\) +… +3.0s +$/);
  });

  it("colours errors red and the in-flight marker as accent", () => {
    const columns = tableColumns(80);
    const failed = rowSegments(view.rows.find((r) => r.id === "req_5")!, columns);
    expect(failed.find((s) => s.text.trim() === "502")?.role).toBe("error");
    const running = rowSegments(view.rows.find((r) => r.id === "req_6")!, columns);
    expect(running.find((s) => s.text.trim() === "…")?.role).toBe("accent");
  });
});

describe("panel lines", () => {
  it("header: connection, uptime, rolling numbers and spend against the daily budget, within width", () => {
    const [first, second] = text(headerLines(view.header, 80, { pausedNew: null }));
    expect(first).toBe("aigw  127.0.0.1:4000  up 2h01m  ● live");
    // No room for the percentage or the "+1 unpriced" note at 80 columns: the bar stays.
    expect(second).toBe("0.9 req/s  1m: p50 820ms  err 28.6%  hit 25.0% │ today $5.10/$10.00 ████░░░░");
    expect(text(headerLines(view.header, 120, { pausedNew: null }))[1]).toMatch(/████░░░░ 51% \+1 unpriced$/);
    expect(second!.length).toBeLessThanOrEqual(80);
    const paused = text(headerLines(view.header, 80, { pausedNew: 12 }))[0];
    expect(paused).toContain("⏸ PAUSED · 12 new");
    const narrow = text(headerLines(view.header, 60, { pausedNew: null }));
    for (const line of narrow) expect(line.length).toBeLessThanOrEqual(60);
  });

  it("header: says so when the gateway is gone, and hides the stale uptime", () => {
    const gone = { ...view.header, connection: "reconnecting" as const };
    expect(text(headerLines(gone, 80, { pausedNew: null }))[0]).toBe(
      "aigw  127.0.0.1:4000  ◌ gateway stopped, reconnecting…",
    );
  });

  it("limits: circuits, cooling keys, then bars with their window, wrapping details when narrow", () => {
    expect(text(limitLines(view.limits, 60, now))).toEqual([
      "ollama circuit open · retry in 12s",
      "openai sk-…a1b2 cooling 22s",
      "openai          █████░░░ 312/500 rpm",
      "    queue 2 (oldest 1.2s) · in 3/8 · tpm 25.0%",
      "openai sk-…a1b2 ████████ 60/60 rpm  paused 22s",
      "anthropic       █░░░░░░░ 7/50 rpm  in 1/4",
      expect.stringMatching(/^\d\d:\d\d:\d\d openai key_oa1 cooling$/),
    ]);
    // Wide enough, details stay on the gauge's line.
    expect(text(limitLines(view.limits, 100, now))[2]).toBe(
      "openai          █████░░░ 312/500 rpm  queue 2 (oldest 1.2s)  in 3/8  tpm 25.0%",
    );
  });

  it("costs: the closest budget first, then by model and by client with unpriced marked", () => {
    const lines = text(costLines(view.costs, 40, 6));
    expect(lines).toEqual([
      "daily ci ███████████░░░ $1.62/$2.00 81%",
      "model  anthropic/claude-sonnet-…   $0.02",
      "       anthropic/claude-haiku-4… $0.0033",
      "       openai/gpt-4o-mini        $0.0004",
      "client web                         $3.20",
      "       ci                          $1.62",
    ]);
    // More room: all three budgets, and the unpriced model is named as such.
    const tall = text(costLines(view.costs, 60, 12));
    expect(tall.slice(0, 3).map((l) => l.split(" ")[0] + (l.includes("monthly") ? " monthly" : ""))).toEqual([
      "daily",
      "daily",
      "monthly monthly",
    ]);
    expect(tall.find((l) => l.includes("groq"))).toMatch(/^ +groq\/llama-3.3-70b +unpriced$/);
  });

  it("formatSpend never shows an unpriced total as $0", () => {
    expect(formatSpend({ usd: 0, unpriced: 3, requests: 3 })).toBe("unpriced");
    expect(formatSpend({ usd: 0.12, unpriced: 2, requests: 5 })).toBe("$0.12 +2 unpriced");
    expect(formatSpend({ usd: 0.12, unpriced: 2, requests: 5 }, 8)).toBe("$0.12+?");
    expect(formatSpend({ usd: 0, unpriced: 0, requests: 4 })).toBe("$0.00");
  });

  it("footer: keys, the filter being typed, or the filter in force", () => {
    const base = { editing: false, draft: "", filter: "", paused: false };
    expect(text([footerLine(base, 80)])[0]).toBe("q quit · p pause · / filter · tab panel · ↑↓ scroll");
    expect(text([footerLine({ ...base, editing: true, draft: "gpt" }, 80)])[0]).toBe(
      "/gpt▌   Enter apply · Esc clear",
    );
    expect(text([footerLine({ ...base, filter: "web", paused: true }, 80)])[0]).toMatch(
      /^filter web · Esc clears .*p resume/,
    );
  });
});
