import { Box, useApp, useInput } from "ink";
import { useMemo, useRef, useState } from "react";
import { CostPanel } from "./CostPanel.js";
import { FilterBar } from "./FilterBar.js";
import type { FeedState } from "./feed-state.js";
import { selectView } from "./feed-view.js";
import { Header } from "./Header.js";
import { LimitBars } from "./LimitBars.js";
import { dashboardLayout } from "./layout.js";
import { limitLines } from "./panel-lines.js";
import { RequestTable } from "./RequestTable.js";
import { type FeedOptions, type FeedTransport, useGatewayFeed } from "./use-gateway-feed.js";
import { useTerminalSize } from "./use-terminal-size.js";

export interface DashboardProps extends FeedOptions {
  transport: FeedTransport;
  /** Called on `q`, besides unmounting. */
  onQuit?: () => void;
}

const PANELS = ["requests", "limits", "costs"] as const;
type Panel = (typeof PANELS)[number];

/** `aigw dashboard`: live requests, limits and costs of the running gateway. */
export function Dashboard({ transport, onQuit, ...feedOptions }: DashboardProps) {
  const { exit } = useApp();
  const { state, now } = useGatewayFeed(transport, feedOptions);
  const { columns, rows } = useTerminalSize();
  const [frozen, setFrozen] = useState<{ state: FeedState; now: number } | null>(null);
  const [filter, setFilter] = useState("");
  const [draft, setDraft] = useState<string | null>(null);
  const [focus, setFocus] = useState<Panel>("requests");
  // The request table scrolls to a row, not an offset, so rows arriving on top do not move it.
  const [anchor, setAnchor] = useState<string | null>(null);
  const [offsets, setOffsets] = useState({ limits: 0, costs: 0 });

  const shown = frozen ?? { state, now };
  const view = useMemo(
    () => selectView(shown.state, { now: shown.now, filter }),
    [shown.state, shown.now, filter],
  );
  const layout = dashboardLayout(columns, rows);
  const requestOffset = anchor
    ? Math.max(
        0,
        view.rows.findIndex((r) => r.id === anchor),
      )
    : 0;

  // Ink re-subscribes input handlers in an effect, which can lag renders under a busy feed: the
  // handler reads what is on screen now from this ref, never from its own closure.
  const latest = useRef({ state, now, view, layout, focus, requestOffset, offsets, filter, draft });
  latest.current = { state, now, view, layout, focus, requestOffset, offsets, filter, draft };

  const scroll = (by: number) => {
    const { view, layout, focus, requestOffset, now } = latest.current;
    if (focus === "requests") {
      const next = Math.max(0, Math.min(view.rows.length - layout.tableRows, requestOffset + by));
      setAnchor(next > 0 ? view.rows[next]!.id : null);
      return;
    }
    const max =
      focus === "limits"
        ? limitLines(view.limits, layout.leftWidth, now).length - layout.bottomRows
        : Math.max(view.costs.byModel.length, view.costs.byClient.length) - 1;
    setOffsets((o) => ({ ...o, [focus]: Math.max(0, Math.min(max, o[focus] + by)) }));
  };

  const applyFilter = (text: string) => {
    setFilter(text.trim());
    setDraft(null);
    setAnchor(null);
  };

  useInput((input, key) => {
    const { draft, filter, focus, layout } = latest.current;
    if (draft !== null) {
      // Keys typed quickly or pasted arrive as one string, Enter included.
      const text = input.replace(/[\r\n]+$/, "");
      if (key.return || text !== input) {
        applyFilter(draft + text);
      } else if (key.escape) {
        setFilter("");
        setDraft(null);
      } else if (key.backspace || key.delete) {
        setDraft((d) => (d ?? "").slice(0, -1));
      } else if (input && !key.ctrl && !key.meta && !key.tab) {
        setDraft((d) => (d ?? "") + input);
      }
      return;
    }
    if (input.startsWith("/")) {
      const text = input.slice(1);
      if (/[\r\n]$/.test(text)) applyFilter(text);
      else setDraft(text || filter);
      return;
    }
    if (input === "q") {
      onQuit?.();
      exit();
    } else if (input === "p" || input === " ") {
      setFrozen((f) => (f ? null : { state: latest.current.state, now: latest.current.now }));
    } else if (key.escape && filter) {
      setFilter("");
    } else if (key.tab) {
      const i = PANELS.indexOf(focus) + (key.shift ? PANELS.length - 1 : 1);
      setFocus(PANELS[i % PANELS.length]!);
    } else if (key.upArrow || input === "k") {
      scroll(-1);
    } else if (key.downArrow || input === "j") {
      scroll(1);
    } else if (key.pageUp) {
      scroll(-layout.tableRows);
    } else if (key.pageDown) {
      scroll(layout.tableRows);
    } else if (input === "g" || key.home) {
      setAnchor(null);
    }
  });

  return (
    <Box flexDirection="column" width={layout.width} height={layout.height}>
      <Header
        view={view.header}
        width={layout.width}
        pausedNew={frozen ? state.finished - frozen.state.finished : null}
      />
      <RequestTable
        rows={view.rows}
        totalRows={view.totalRows}
        width={layout.width}
        height={layout.tableRows}
        focused={focus === "requests"}
        offset={requestOffset}
        filter={filter}
      />
      <Box flexDirection="row" gap={1}>
        <LimitBars
          view={view.limits}
          width={layout.leftWidth}
          height={layout.bottomRows}
          focused={focus === "limits"}
          offset={offsets.limits}
          now={shown.now}
        />
        <CostPanel
          view={view.costs}
          width={layout.rightWidth}
          height={layout.bottomRows}
          focused={focus === "costs"}
          offset={offsets.costs}
          now={shown.now}
        />
      </Box>
      <FilterBar
        editing={draft !== null}
        draft={draft ?? ""}
        filter={filter}
        paused={frozen !== null}
        width={layout.width}
      />
    </Box>
  );
}
