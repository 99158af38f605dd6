import { render } from "ink-testing-library";
import { describe, expect, it } from "vitest";
import type { UsageRecord } from "../store/usage-log.js";
import { CostPanel } from "./CostPanel.js";
import { selectCosts } from "./cost-view.js";
import { initialFeedState } from "./feed-state.js";

const now = new Date(2026, 10, 22, 12).getTime(); // local noon: a second earlier is the same day in any zone
const row = (simulated: boolean, started_at = now - 1000) =>
  ({ id: "req_1", started_at, simulated, cost_usd: 0.0002 }) as UsageRecord;

describe("the Costs panel in demo mode", () => {
  it("marks today's costs simulated when a demo row priced them, and only then", () => {
    const state = initialFeedState(now);
    const plain = selectCosts({ ...state, history: [row(false)] }, now);
    const demo = selectCosts({ ...state, history: [row(false), row(true)] }, now);
    const yesterday = selectCosts({ ...state, history: [row(true, now - 86_400_000)] }, now);
    expect([plain.simulated, demo.simulated, yesterday.simulated]).toEqual([false, true, false]);
    const frame = (view: typeof demo) =>
      render(
        <CostPanel view={view} width={60} height={4} focused={false} offset={0} now={now} />,
      ).lastFrame();
    expect(frame(demo)).toContain("Costs today (simulated)");
    expect(frame(plain)).not.toContain("simulated");
  });
});
