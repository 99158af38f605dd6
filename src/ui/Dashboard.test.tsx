import { render } from "ink-testing-library";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  controlledTransport,
  recordedEvents,
  replayTransport,
  SESSION_T0,
} from "../../test/dashboard-fixtures.js";
import type { GatewayEvent } from "../gateway/events.js";
import { Dashboard } from "./Dashboard.js";

const clock = () => SESSION_T0 + 8000;
const fast = { clock, pollMs: 20, flushMs: 1 };
let unmount: (() => void) | undefined;

afterEach(() => {
  unmount?.();
  unmount = undefined;
});

function mount(element: React.ReactElement) {
  const app = render(element);
  unmount = app.unmount;
  return app;
}

async function waitFor(frame: () => string | undefined, test: (text: string) => boolean, what: string) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const text = frame() ?? "";
    if (test(text)) return text;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last frame:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const contains = (needle: string) => (text: string) => text.includes(needle);
const tableOf = (frame: string) => frame.split("── Limits")[0]!;
const keyPress = async (stdin: { write(data: string): void }, data: string) => {
  stdin.write(data);
  await new Promise((resolve) => setTimeout(resolve, 30));
};

describe("Dashboard", () => {
  it("renders a recorded session: rows, in-flight request, limits, costs", async () => {
    const { lastFrame } = mount(
      <Dashboard transport={replayTransport(recordedEvents("session.ndjson"))} {...fast} />,
    );
    const frame = await waitFor(
      lastFrame,
      (t) => t.includes("today $5.10") && t.includes("8 seen"),
      "the session",
    );
    expect(frame).toContain("aigw  127.0.0.1:4000  up 2h01m  ● live");
    expect(frame).toContain("── Requests · 1 in flight · 8 seen");
    expect(frame).toMatch(/ci +gpt-4o \(stream\) +… +3.0s/);
    expect(frame).toMatch(/web +gpt-4o-mini → openai +200 miss +820ms +1.2k→300 +\$0.0004/);
    expect(frame).toMatch(/groq\/llama-3.3-70b +200 .* unpriced/);
    expect(frame).toMatch(/mock\/error-503 +502 .* upstream_error/);
    expect(frame).toContain("ollama circuit open");
    expect(frame).toContain("openai sk-…a1b2 cooling");
    expect(frame).toMatch(/daily ci +█+░* \$1.62\/\$2.00/);
    expect(frame).toContain("q quit · p pause · / filter · tab panel · ↑↓ scroll");
    // 24 rows: one spare so Ink never clears the whole screen between frames.
    expect(frame.split("\n")).toHaveLength(23);
  });

  it("opens with the gateway's history: the log's rows fill the table and today's spend the costs", async () => {
    const events = recordedEvents("session.ndjson");
    const rows = events.flatMap((e) => (e.type === "request" ? [e.record] : [])).slice(0, 3);
    const asked: number[] = [];
    const transport = {
      ...replayTransport([], { started_at: SESSION_T0 - 60_000 }),
      async history(_signal: AbortSignal, limit: number) {
        asked.push(limit);
        const spend = [
          { model: "openai/gpt-4o-mini", client: "web", requests: 9, cost_usd: 4.25, unpriced: 0 },
        ];
        return {
          rows: [...rows].reverse(),
          today: { day: "2026-11-22", since: new Date(SESSION_T0).setHours(0, 0, 0, 0), spend },
        };
      },
    };
    const { lastFrame } = mount(<Dashboard transport={transport} {...fast} />);
    const frame = await waitFor(lastFrame, contains("3 seen"), "the seeded rows");
    expect(asked).toEqual([500]);
    expect(frame).toMatch(/web +gpt-4o-mini → openai +200 miss +820ms/);
    expect(frame).toContain("── Costs today ──");
    expect(frame).toContain("│ today $4.25");
    expect(frame).toMatch(/model +openai\/gpt-4o-mini +\$4\.25/);
    expect(frame).toMatch(/client +web +\$4\.25/);
  });

  it("p freezes the view while events keep arriving, and counts them; p again catches up", async () => {
    const { transport, push } = controlledTransport();
    const { lastFrame, stdin } = mount(<Dashboard transport={transport} {...fast} />);
    const events = recordedEvents("session.ndjson");
    const late = events.filter(
      (e) => "id" in e && (e.id === "req_8" || (e.type === "start" && e.id === "req_8")),
    );
    const lateRecord = events.find(
      (e): e is Extract<GatewayEvent, { type: "request" }> => e.type === "request" && e.record.id === "req_8",
    )!;
    push(
      { type: "connection", state: "connected", url: "http://127.0.0.1:4000" },
      ...events.filter((e) => !late.includes(e) && e !== lateRecord),
    );
    await waitFor(lastFrame, contains("7 seen"), "the first events");

    await keyPress(stdin, "p");
    push(...late, lateRecord);
    const paused = await waitFor(lastFrame, contains("PAUSED · 1 new"), "the pause badge");
    expect(tableOf(paused)).not.toContain("smart → anthropic");
    expect(paused).toContain("p resume");

    await keyPress(stdin, "p");
    const live = await waitFor(lastFrame, contains("smart → anthropic"), "the buffered row");
    expect(live).not.toContain("PAUSED");
  });

  it("/ filters by model or client: typed, applied with Enter, cleared with Esc", async () => {
    const { lastFrame, stdin } = mount(
      <Dashboard transport={replayTransport(recordedEvents("session.ndjson"))} {...fast} />,
    );
    await waitFor(lastFrame, contains("8 seen"), "the session");
    await keyPress(stdin, "/");
    for (const ch of "groqx") await keyPress(stdin, ch);
    await keyPress(stdin, "\x7f");
    expect(lastFrame()).toContain("/groq▌   Enter apply · Esc clear");
    // Typing does not act on keys: "q" and "p" were text, not quit and pause.
    await keyPress(stdin, "\r");
    const filtered = await waitFor(lastFrame, contains('1 of 8 match "groq"'), "the filter");
    expect(tableOf(filtered)).toContain("groq/llama-3.3-70b");
    expect(tableOf(filtered)).not.toContain("gpt-4o-mini → openai");
    expect(filtered).toContain("filter groq · Esc clears");

    await keyPress(stdin, "\x1b");
    const cleared = await waitFor(lastFrame, contains("8 seen"), "the filter to clear");
    expect(tableOf(cleared)).toContain("gpt-4o-mini → openai");
  });

  it("/ works when the keys arrive at once, as typing fast or pasting delivers them", async () => {
    const { lastFrame, stdin } = mount(
      <Dashboard transport={replayTransport(recordedEvents("session.ndjson"))} {...fast} />,
    );
    await waitFor(lastFrame, contains("8 seen"), "the session");
    await keyPress(stdin, "/cla");
    expect(lastFrame()).toContain("/cla▌");
    await keyPress(stdin, "ude\r");
    await waitFor(lastFrame, contains('3 of 8 match "claude"'), "the filter");
    await keyPress(stdin, "/web\r");
    await waitFor(lastFrame, contains('5 of 8 match "web"'), "the second filter");
  });

  it("tab moves focus between panels, and arrows scroll the focused one", async () => {
    const { lastFrame, stdin } = mount(
      <Dashboard transport={replayTransport(recordedEvents("session.ndjson"))} {...fast} />,
    );
    await waitFor(lastFrame, contains("── Limits · ↓ 1 more"), "the limits panel to overflow");
    await keyPress(stdin, "\t");
    await keyPress(stdin, "\x1b[B");
    await waitFor(lastFrame, contains("── Limits · ↑ 1 "), "the limits panel to scroll");
  });

  it("a scrolled table stays on its row while new requests arrive on top", async () => {
    const { transport, push } = controlledTransport();
    const { lastFrame, stdin } = mount(<Dashboard transport={transport} {...fast} />);
    const template = recordedEvents("session.ndjson").find((e) => e.type === "request")!;
    const request = (n: number): GatewayEvent => ({
      type: "request",
      record: { ...template.record, id: `req_n${n}`, started_at: SESSION_T0 + n * 1000, client: `app${n}` },
    });
    push(
      { type: "connection", state: "connected", url: null },
      ...Array.from({ length: 20 }, (_, n) => request(n)),
    );
    await waitFor(lastFrame, contains("20 seen"), "20 rows");
    await keyPress(stdin, "j");
    await keyPress(stdin, "j");
    const scrolled = await waitFor(lastFrame, contains("↑ 2 newer"), "the table to scroll");
    expect(tableOf(scrolled).split("\n")[4]).toMatch(/^\S+ +app17 /);
    push(request(20), request(21));
    const after = await waitFor(lastFrame, contains("↑ 4 newer"), "new rows above");
    expect(tableOf(after).split("\n")[4]).toMatch(/^\S+ +app17 /);
    await keyPress(stdin, "g");
    await waitFor(lastFrame, (t) => !t.includes("newer") && /app21/.test(tableOf(t)), "back to the top");
  });

  it("q calls exit", async () => {
    const onQuit = vi.fn();
    const { lastFrame, stdin } = mount(
      <Dashboard transport={replayTransport([])} {...fast} onQuit={onQuit} />,
    );
    await waitFor(lastFrame, contains("waiting for requests…"), "the first frame");
    await keyPress(stdin, "q");
    expect(onQuit).toHaveBeenCalledOnce();
  });

  it("shows the connection being lost and regained", async () => {
    const { transport, push } = controlledTransport();
    const { lastFrame } = mount(<Dashboard transport={transport} {...fast} />);
    await waitFor(lastFrame, contains("◌ connecting…"), "connecting");
    push({ type: "connection", state: "connected", url: "http://127.0.0.1:4000" });
    await waitFor(lastFrame, contains("● live"), "live");
    push({ type: "connection", state: "waiting", url: null });
    await waitFor(lastFrame, contains("◌ gateway stopped, reconnecting…"), "reconnecting");
  });
});
