/** Sizes and table columns for a terminal of a given size. Pure, so it is tested without Ink. */
import type { RequestRow } from "./feed-view.js";
import { fitTo, formatClock, formatMs, formatRoute, formatTokens, formatUsd, truncate } from "./format.js";
import type { Role, Segment } from "./theme.js";

export interface DashboardLayout {
  width: number;
  /** Lines drawn: one less than the terminal, so Ink never falls back to clearing the whole screen. */
  height: number;
  tableRows: number;
  bottomRows: number;
  leftWidth: number;
  rightWidth: number;
}

/** Header 2, table title and column heads 2, bottom panel titles 1, footer 1. */
const CHROME_ROWS = 6;

export function dashboardLayout(columns: number, rows: number): DashboardLayout {
  const width = Math.max(40, columns);
  const height = Math.max(14, rows - 1);
  const free = height - CHROME_ROWS;
  const bottomRows = Math.min(14, Math.max(4, Math.round(free / 3)));
  const leftWidth = Math.floor((width - 1) / 2);
  return {
    width,
    height,
    tableRows: free - bottomRows,
    bottomRows,
    leftWidth,
    rightWidth: width - 1 - leftWidth,
  };
}

export type ColumnKey =
  | "time"
  | "client"
  | "api"
  | "route"
  | "status"
  | "cache"
  | "queue"
  | "ttfb"
  | "latency"
  | "tokens"
  | "cost";

export interface Column {
  key: ColumnKey;
  title: string;
  width: number;
  align: "left" | "right";
  /** Spaces before the column. */
  pad: number;
}

interface ColumnSpec {
  key: ColumnKey;
  title: string;
  width: number;
  align: "left" | "right";
  /** Narrow terminals lose columns with the highest number first; 0 stays. */
  drop: number;
  /** Only from this terminal width up. */
  minTerminal?: number;
}

const SPECS: ColumnSpec[] = [
  { key: "time", title: "time", width: 8, align: "left", drop: 3 },
  { key: "client", title: "client", width: 0, align: "left", drop: 4 },
  { key: "api", title: "api", width: 15, align: "left", drop: 9, minTerminal: 130 },
  { key: "route", title: "model → provider", width: 0, align: "left", drop: 0 },
  { key: "status", title: "st", width: 3, align: "right", drop: 0 },
  { key: "cache", title: "cache", width: 5, align: "left", drop: 5 },
  { key: "queue", title: "queued", width: 7, align: "right", drop: 8, minTerminal: 140 },
  { key: "ttfb", title: "ttfb", width: 7, align: "right", drop: 7, minTerminal: 110 },
  { key: "latency", title: "latency", width: 7, align: "right", drop: 1 },
  { key: "tokens", title: "tokens", width: 9, align: "right", drop: 6 },
  { key: "cost", title: "cost", width: 8, align: "right", drop: 2 },
];

const CLIENT = { min: 8, max: 20 };
const ROUTE = { min: 16, max: 56 };

/**
 * The request table's columns for a width: drops the least useful until the rest fit, flexes client
 * and model up to a cap, and spends what is left on wider gaps rather than one vast column.
 */
export function tableColumns(width: number): Column[] {
  let specs = SPECS.filter((s) => !s.minTerminal || width >= s.minTerminal);
  const minWidth = (s: ColumnSpec) =>
    s.key === "client" ? CLIENT.min : s.key === "route" ? ROUTE.min : s.width;
  const need = (list: ColumnSpec[]) => list.reduce((n, s) => n + minWidth(s), 0) + list.length - 1;
  while (need(specs) > width) {
    const victim = specs.reduce((a, b) => (b.drop > a.drop ? b : a));
    if (victim.drop === 0) break;
    specs = specs.filter((s) => s !== victim);
  }
  const fixed = specs.reduce((n, s) => n + s.width, 0) + specs.length - 1;
  const flex = Math.max(0, width - fixed);
  const hasClient = specs.some((s) => s.key === "client");
  const client = hasClient ? Math.min(CLIENT.max, Math.max(CLIENT.min, Math.round(flex * 0.3))) : 0;
  const route = Math.min(ROUTE.max, Math.max(ROUTE.min, flex - client));
  const spare = Math.max(0, flex - client - route);
  const pad = 1 + Math.min(2, Math.floor(spare / Math.max(1, specs.length - 1)));
  return specs.map(({ key, title, width: w, align }, i) => ({
    key,
    title,
    align,
    pad: i === 0 ? 0 : pad,
    width: key === "client" ? client : key === "route" ? route : w,
  }));
}

export function headerSegments(columns: Column[]): Segment[] {
  return join(
    columns,
    columns.map((c) => ({ text: fitTo(c.title, c.width, c.align), role: "muted" as Role })),
  );
}

/** One table line for a request, in flight (`status` null) or finished. */
export function rowSegments(row: RequestRow, allColumns: Column[]): Segment[] {
  const columns = lendRouteToError(row, allColumns);
  const cells: Segment[] = [];
  const used: Column[] = [];
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i]!;
    const next = columns[i + 1];
    // A failed request has no tokens or cost worth a column: its error type takes both.
    if (c.key === "tokens" && next?.key === "cost" && row.error && row.errorType) {
      cells.push({ text: fitTo(row.errorType, c.width + next.pad + next.width, "right"), role: "error" });
      used.push(c);
      i++;
      continue;
    }
    const cell = cellOf(row, c.key);
    cells.push({ ...cell, text: fitTo(cell.text, c.width, c.align) });
    used.push(c);
  }
  return join(used, cells);
}

/** An error type is the point of a failed row: the route column gives up the room it needs, to 8. */
function lendRouteToError(row: RequestRow, columns: Column[]): Column[] {
  const t = columns.findIndex((c) => c.key === "tokens");
  const route = columns.find((c) => c.key === "route");
  if (!row.error || !row.errorType || !route || columns[t + 1]?.key !== "cost") return columns;
  const span = columns[t]!.width + columns[t + 1]!.pad + columns[t + 1]!.width;
  const lend = Math.min(Math.max(0, row.errorType.length - span), Math.max(0, route.width - 8));
  if (!lend) return columns;
  return columns.map((c, i) =>
    c === route ? { ...c, width: c.width - lend } : i === t ? { ...c, width: c.width + lend } : c,
  );
}

function cellOf(row: RequestRow, key: ColumnKey): Segment {
  const running = row.status === null;
  switch (key) {
    case "time":
      return { text: formatClock(row.startedAt), role: "muted" };
    case "client":
      return row.client ? { text: row.client } : { text: "anonymous", role: "muted" };
    case "api":
      return { text: row.stream ? `${row.api} stream` : row.api, role: "muted" };
    case "queue":
      return { text: running ? "" : row.queueWaitMs ? formatMs(row.queueWaitMs) : "-", role: "muted" };
    case "route":
      return {
        text:
          formatRoute(row.requested, row.provider, row.upstream) + (running && row.stream ? " (stream)" : ""),
        role: row.error ? "error" : "plain",
      };
    case "status":
      return running
        ? { text: "…", role: "accent" }
        : { text: String(row.status), role: row.error ? "error" : "ok" };
    case "cache":
      if (running || row.cache === null || row.cache === "BYPASS")
        return { text: running ? "" : "-", role: "muted" };
      return row.cache === "HIT" ? { text: "hit", role: "hit" } : { text: "miss" };
    case "latency":
      // In flight: the time so far, once it is long enough to matter (the view ticks each second).
      if (running) return { text: row.latencyMs >= 1000 ? formatMs(row.latencyMs) : "", role: "accent" };
      return { text: formatMs(row.latencyMs) };
    case "ttfb":
      return { text: running ? "" : formatMs(row.ttfbMs), role: "muted" };
    case "tokens":
      return { text: running ? "" : formatTokens(row.inputTokens, row.outputTokens) };
    case "cost":
      return costCell(row);
  }
}

function costCell(row: RequestRow): Segment {
  if (row.status === null) return { text: "" };
  if (row.costUsd !== null) return { text: formatUsd(row.costUsd) };
  if (row.unpriced) return { text: "unpriced", role: "warn" };
  return { text: "-", role: "muted" };
}

function join(columns: Column[], cells: Segment[]): Segment[] {
  return cells.flatMap((cell, i) => (i === 0 ? [cell] : [{ text: " ".repeat(columns[i]!.pad) }, cell]));
}

/** Fits parts on one line by leaving out the least important (highest `drop`) until they fit. */
export function fitParts(parts: { segments: Segment[]; drop: number }[], width: number): Segment[] {
  let kept = parts;
  const length = (list: typeof parts) =>
    list.reduce((n, p) => n + p.segments.reduce((m, s) => m + s.text.length, 0), 0);
  while (length(kept) > width && kept.some((p) => p.drop > 0)) {
    const victim = kept.reduce((a, b) => (b.drop > a.drop ? b : a));
    kept = kept.filter((p) => p !== victim);
  }
  return clip(
    kept.flatMap((p) => p.segments),
    width,
  );
}

/** Cuts a line of segments to `width` columns. */
export function clip(segments: Segment[], width: number): Segment[] {
  const out: Segment[] = [];
  let left = width;
  for (const s of segments) {
    if (left <= 0) break;
    const text = s.text.length > left ? truncate(s.text, left) : s.text;
    out.push({ ...s, text });
    left -= text.length;
  }
  return out;
}

export function segmentsText(segments: Segment[]): string {
  return segments.map((s) => s.text).join("");
}
