import { describe, expect, it } from "vitest";
import {
  fitTo,
  formatBar,
  formatCompact,
  formatDuration,
  formatMs,
  formatRate,
  formatRoute,
  formatTokens,
  formatUsd,
  formatWindow,
  truncate,
} from "./format.js";

describe("formatters", () => {
  it.each([
    [null, "unpriced"],
    [0, "$0.00"],
    [1.234, "$1.23"],
    [0.0014, "$0.0014"],
    [0.00125, "$0.0013"],
    [0.0003, "$0.0003"],
    [0.0000325, "<$0.0001"],
  ])("formatUsd(%s) = %s", (value, text) => {
    expect(formatUsd(value)).toBe(text);
  });

  it.each([
    [null, "-"],
    [950, "950"],
    [1000, "1k"],
    [1234, "1.2k"],
    [12_345, "12k"],
    [2_500_000, "2.5M"],
    [25_000_000, "25M"],
  ])("formatCompact(%s) = %s", (value, text) => {
    expect(formatCompact(value)).toBe(text);
  });

  it("formatTokens shows input → output, and '-' when a request carried none", () => {
    expect(formatTokens(1200, 340)).toBe("1.2k→340");
    expect(formatTokens(50, null)).toBe("50→-");
    expect(formatTokens(null, null)).toBe("-");
  });

  it.each([
    [0, "0s"],
    [45_900, "45s"],
    [723_000, "12m03s"],
    [2 * 3600_000 + 65_000, "2h01m"],
    [3 * 86_400_000 + 4 * 3600_000, "3d04h"],
    [-5, "0s"],
  ])("formatDuration(%s) = %s", (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it("formatMs and formatRate", () => {
    expect([formatMs(0.42), formatMs(820), formatMs(2400), formatMs(185_000)]).toEqual([
      "0.42ms",
      "820ms",
      "2.4s",
      "3m05s",
    ]);
    expect([formatRate(0), formatRate(12.34), formatRate(340.2)]).toEqual(["0.0", "12.3", "340"]);
  });

  it.each([
    [60_000, "rpm"],
    [1000, "rps"],
    [10_000, "/10s"],
    [300_000, "/5m"],
    [3_600_000, "/h"],
  ])("formatWindow(%s) = %s", (perMs, text) => {
    expect(formatWindow(perMs)).toBe(text);
  });

  it.each([
    ["gpt-4o-mini", "openai", "gpt-4o-mini", "gpt-4o-mini → openai"],
    ["mock/error-503", "mock", "error-503", "mock/error-503"],
    ["smart", "anthropic", "claude-haiku-4-5", "smart → anthropic/claude-haiku-4-5"],
    ["openai/gpt-4o", "anthropic", "claude-sonnet-4-5", "openai/gpt-4o → anthropic/claude-sonnet-4-5"],
    ["gpt-4o", null, null, "gpt-4o"],
    [null, null, null, "-"],
  ])("formatRoute(%s, %s, %s) = %s", (requested, provider, upstream, text) => {
    expect(formatRoute(requested, provider, upstream)).toBe(text);
  });

  it("truncate and fitTo keep exact widths", () => {
    expect(truncate("claude-haiku-4-5", 8)).toBe("claude-…");
    expect(truncate("short", 8)).toBe("short");
    expect(truncate("x", 0)).toBe("");
    expect(fitTo("web", 6)).toBe("web   ");
    expect(fitTo("$0.02", 8, "right")).toBe("   $0.02");
    expect(fitTo("anthropic/claude", 6, "right")).toBe("anthr…");
  });

  it("formatBar fills by ratio, shows any use at all, and clamps", () => {
    expect(formatBar(0, 8)).toBe("░░░░░░░░");
    expect(formatBar(0.5, 8)).toBe("████░░░░");
    expect(formatBar(0.001, 8)).toBe("█░░░░░░░");
    expect(formatBar(3, 4)).toBe("████");
    expect(formatBar(Number.NaN, 4)).toBe("░░░░");
  });
});
