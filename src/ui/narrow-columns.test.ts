/** What survives a narrow terminal: a masked key's last characters, and a failed row's error type. */
import { describe, expect, it } from "vitest";
import type { LimitItem, RequestRow } from "./feed-view.js";
import { fitTo, truncate } from "./format.js";
import { rowSegments, segmentsText, tableColumns } from "./layout.js";
import { limitLine } from "./panel-lines.js";

const failed = (errorType: string, requested = "gpt-4o-mini"): RequestRow => ({
  id: "r1",
  startedAt: Date.UTC(2026, 10, 20, 9, 30),
  client: "web",
  api: "chat",
  requested,
  provider: "openai",
  upstream: "gpt-4o-mini",
  status: 429,
  error: true,
  errorType,
  cache: null,
  stream: false,
  latencyMs: 12,
  ttfbMs: null,
  queueWaitMs: null,
  inputTokens: null,
  outputTokens: null,
  costUsd: null,
  unpriced: false,
});

const limiter = (name: string): LimitItem => ({
  kind: "limiter",
  name,
  window: { used: 3, limit: 60, perMs: 60_000 },
  tokens: null,
  inFlight: 0,
  concurrency: null,
  queueDepth: 0,
  oldestWaitMs: 0,
  pausedUntil: null,
});

describe("masked keys in a narrow cell", () => {
  it.each([
    ["sk-…a1b2", 20, "sk-…a1b2"],
    ["openai sk-…a1b2", 12, "ope… sk-…a1b2"],
    ["anthropic sk-ant-…9xYz", 16, "an… sk-ant-…9xYz"],
    ["openai sk-…a1b2", 8, "sk-…a1b2"],
    ["openai sk-…a1b2", 6, "…a1b2"],
  ])("truncate(%j, %i) keeps the key's tail", (text, width, expected) => {
    const cut = truncate(text, width);
    expect(cut.length).toBeLessThanOrEqual(width);
    expect(cut).not.toContain("……");
    if (width >= 8) expect(cut).toMatch(/…(a1b2|9xYz)$/);
    if (expected.length <= width) expect(cut).toBe(expected);
  });

  it("cuts other text as before", () => {
    expect(truncate("claude-haiku-4-5", 8)).toBe("claude-…");
    expect(fitTo("sk-…a1b2", 10)).toBe("sk-…a1b2  ");
  });

  it.each([80, 120])("a limiter line at %i columns shows sk-…a1b2, never sk-……", (columns) => {
    const panel = Math.floor((columns - 1) / 2);
    for (const nameWidth of [12, Math.floor(panel * 0.4)]) {
      const [line] = limitLine(limiter("openai sk-…a1b2"), panel, 0, nameWidth);
      const text = segmentsText(line!);
      expect(text).toContain("sk-…a1b2");
      expect(text).not.toContain("……");
    }
  });
});

describe("error types in the request table", () => {
  it.each([80, 120])("at %i columns a failed row shows its whole error type", (width) => {
    const columns = tableColumns(width);
    for (const type of ["rate_limit_exceeded", "authentication_error", "budget_exceeded"]) {
      const text = segmentsText(rowSegments(failed(type), columns));
      expect(text).toContain(type);
      expect(text.length).toBe(segmentsText(rowSegments({ ...failed(type), error: false }, columns)).length);
    }
  });

  it("takes the room from the route column, which keeps at least 8 columns", () => {
    const columns = tableColumns(80);
    const text = segmentsText(rowSegments(failed("upstream_unreachable", "smart-and-long-alias"), columns));
    expect(text).toContain("upstream_unreachable");
    expect(text).toMatch(/smart-/);
  });
});
