/** The text of the header, the side panels and the footer, as lines of coloured segments. Pure. */
import type { BudgetLine, CostLine, CostsView, HeaderView, LimitItem, LimitsView } from "./feed-view.js";
import {
  fitTo,
  formatBar,
  formatClock,
  formatCompact,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  formatUsd,
  formatWindow,
} from "./format.js";
import { clip, fitParts } from "./layout.js";
import { levelRole, type Role, type Segment } from "./theme.js";

const seg = (text: string, role?: Role, bold?: boolean): Segment => ({
  text,
  ...(role ? { role } : {}),
  ...(bold ? { bold } : {}),
});

/** A panel's title as a rule: "── Requests · 3 in flight ──────". */
export function titleLine(title: string, detail: string, width: number, focused: boolean): Segment[] {
  const rule = focused ? "accent" : "muted";
  const head = [seg("── ", rule), seg(title, focused ? "focus" : "title", true)];
  const tail = detail ? [seg(` · ${detail} `, "muted")] : [seg(" ")];
  const used = 3 + title.length + tail[0]!.text.length;
  return clip([...head, ...tail, seg("─".repeat(Math.max(0, width - used)), rule)], width);
}

export function headerLines(h: HeaderView, width: number, opts: { pausedNew: number | null }): Segment[][] {
  const where = h.url ? h.url.replace(/^https?:\/\//, "") : "";
  const state: Segment = h.error
    ? seg(`✖ ${h.error}`, "error")
    : h.connection === "connected"
      ? seg("● live", "ok")
      : h.connection === "connecting"
        ? seg("◌ connecting…", "warn")
        : seg("◌ gateway stopped, reconnecting…", "warn");
  const first = fitParts(
    [
      { segments: [seg("aigw", "accent", true)], drop: 0 },
      { segments: where ? [seg(`  ${where}`, "muted")] : [], drop: 3 },
      {
        segments:
          h.uptimeMs === null || h.connection !== "connected"
            ? []
            : [seg(`  up ${formatDuration(h.uptimeMs)}`)],
        drop: 2,
      },
      { segments: [seg("  "), state], drop: 0 },
      {
        segments:
          opts.pausedNew === null ? [] : [seg("  "), seg(` ⏸ PAUSED · ${opts.pausedNew} new `, "warn", true)],
        drop: 0,
      },
      { segments: h.statusError && !h.error ? [seg(`  status: ${h.statusError}`, "muted")] : [], drop: 4 },
    ],
    width,
  );
  const errRole: Role = h.errorRate !== null && h.errorRate >= 0.05 ? "error" : "plain";
  const rate = (r: number | null) => (r === null ? "-" : formatPercent(r, 1));
  const second = fitParts(
    [
      { segments: [seg(formatRate(h.rps), "plain", true), seg(" req/s")], drop: 0 },
      { segments: [seg("  1m: ", "muted"), seg("p50 "), seg(formatMs(h.p50Ms), "plain", true)], drop: 1 },
      { segments: [seg("  err "), seg(rate(h.errorRate), errRole, true)], drop: 2 },
      { segments: [seg("  hit "), seg(rate(h.hitRate), "hit", true)], drop: 3 },
      ...spendParts(h),
    ],
    width,
  );
  return [first, second];
}

/** Today's spend, then (when there is a daily budget) the bar and its percentage, as droppable parts. */
function spendParts(h: HeaderView): { segments: Segment[]; drop: number }[] {
  const label = h.spend.source === "gateway" ? "today " : "seen today ";
  const parts = [
    { segments: [seg(" │ ", "muted"), seg(label), seg(formatUsd(h.spend.usd), "plain", true)], drop: 0 },
  ];
  if (h.dailyBudget !== null) {
    const ratio = h.spend.usd / h.dailyBudget;
    parts.push(
      {
        segments: [seg(`/${formatUsd(h.dailyBudget)} `), seg(formatBar(ratio, 8), levelRole(ratio))],
        drop: 4,
      },
      { segments: [seg(` ${Math.round(ratio * 100)}%`, levelRole(ratio))], drop: 6 },
    );
  }
  if (h.spend.unpriced > 0)
    parts.push({ segments: [seg(` +${h.spend.unpriced} unpriced`, "warn")], drop: 5 });
  return parts;
}

const NOTICE_MS = 5 * 60_000;

export function limitLines(view: LimitsView, width: number, now: number): Segment[][] {
  const names = view.items.map((i) => (i.kind === "limiter" ? i.name.length : 0));
  const nameWidth = Math.min(Math.max(6, ...names), Math.floor(width * 0.4));
  const lines = view.items.flatMap((item) => limitLine(item, width, now, nameWidth));
  if (!view.items.some((i) => i.kind !== "limiter")) {
    lines.push([seg("all keys ok · no open circuits", "ok")]);
  }
  if (!view.items.some((i) => i.kind === "limiter")) {
    lines.push([seg(view.reported ? "no rate limits configured" : "limiter levels not reported", "muted")]);
  }
  // Recent limiter changes (a queue forming, a key cooling), newest first.
  for (const n of view.notices.filter((n) => n.at > now - NOTICE_MS).slice(0, 5)) {
    lines.push(clip([seg(`${formatClock(n.at)} `, "muted"), seg(n.text, n.role)], width));
  }
  return lines;
}

const until = (t: number | null, now: number) =>
  t === null ? "" : ` ${formatDuration(Math.max(0, t - now))}`;

/** One line, or two when the details do not fit beside the gauge. */
export function limitLine(item: LimitItem, width: number, now: number, nameWidth = 12): Segment[][] {
  if (item.kind === "circuit") {
    const role: Role = item.state === "open" ? "error" : "warn";
    const retry = item.retryAt === null ? "" : ` · retry in${until(item.retryAt, now)}`;
    return [
      clip(
        [seg(item.provider, "plain", true), seg(` circuit ${item.state}`, role), seg(retry, "muted")],
        width,
      ),
    ];
  }
  if (item.kind === "key") {
    const role: Role = item.state === "cooling" ? "warn" : item.state === "disabled" ? "muted" : "error";
    return [
      clip(
        [seg(`${item.provider} ${item.label}`), seg(` ${item.state}${until(item.until, now)}`, role)],
        width,
      ),
    ];
  }
  const { window: w, tokens, concurrency } = item;
  const [used, limit, unit] = w
    ? [w.used, w.limit, formatWindow(w.perMs)]
    : tokens
      ? [tokens.used, tokens.limit, "tpm"]
      : [item.inFlight, concurrency ?? 0, "in flight"];
  const ratio = limit ? used / limit : 0;
  const name = nameWidth;
  const gauge = [
    seg(fitTo(item.name, name)),
    seg(" "),
    seg(formatBar(ratio, 8), levelRole(ratio)),
    seg(` ${formatCompact(used)}/${formatCompact(limit)} ${unit}`),
  ];
  const details: Segment[][] = [];
  if (item.queueDepth) {
    const wait = item.oldestWaitMs ? ` (oldest ${formatMs(item.oldestWaitMs)})` : "";
    details.push([seg(`queue ${item.queueDepth}${wait}`, "warn")]);
  }
  if (item.pausedUntil) details.push([seg(`paused${until(item.pausedUntil, now)}`, "warn")]);
  if (w && concurrency) details.push([seg(`in ${item.inFlight}/${concurrency}`)]);
  else if (item.inFlight && unit !== "in flight") details.push([seg(`in ${item.inFlight}`)]);
  if (w && tokens) {
    const r = tokens.used / tokens.limit;
    details.push([seg("tpm "), seg(formatPercent(tokens.used, tokens.limit), levelRole(r))]);
  }
  const one = [...gauge, ...details.flatMap((d) => [seg("  "), ...d])];
  if (one.reduce((n, x) => n + x.text.length, 0) <= width) return [one];
  const second = details.flatMap((d, i) => (i === 0 ? d : [seg(" · ", "muted"), ...d]));
  return [clip(gauge, width), clip([seg(" ".repeat(Math.min(name + 1, 4))), ...second], width)];
}

/** "unpriced" when nothing had a price, else the sum, noting how many had none. */
export function formatSpend(line: Pick<CostLine, "usd" | "unpriced" | "requests">, room = 20): string {
  if (line.unpriced > 0 && line.unpriced === line.requests) return "unpriced";
  const usd = formatUsd(line.usd);
  if (!line.unpriced) return usd;
  const long = `${usd} +${line.unpriced} unpriced`;
  return long.length <= room ? long : `${usd}+?`;
}

/**
 * Budgets first, then the costs by model and by client, sharing `rows` lines; `offset` scrolls both
 * lists together.
 */
export function costLines(view: CostsView, width: number, rows: number, offset = 0): Segment[][] {
  const budgets = view.budgets.slice(0, rows >= 8 ? 3 : 1).map((b) => budgetLine(b, width));
  if (!view.byModel.length && !view.byClient.length) {
    return [...budgets, [seg("no spend seen yet today", "muted")]].slice(0, rows);
  }
  const free = Math.max(2, rows - budgets.length);
  let models = Math.min(view.byModel.length, Math.ceil(free / 2));
  const clients = Math.min(view.byClient.length, free - models);
  models = Math.min(view.byModel.length, free - clients);
  const room = Math.max(8, Math.floor(width / 2));
  const shown = (list: CostLine[], count: number) => {
    const start = Math.max(0, Math.min(offset, list.length - count));
    return list.slice(start, start + count);
  };
  const modelLines = shown(view.byModel, models);
  const clientLines = shown(view.byClient, clients);
  // One cost column for both lists, right-aligned, with names capped so costs stay near them.
  const costWidth = Math.max(0, ...[...modelLines, ...clientLines].map((l) => formatSpend(l, room).length));
  const nameWidth = Math.min(32, Math.max(4, width - 7 - costWidth - 1));
  const section = (label: string, list: CostLine[]) =>
    list.map((line, i) => {
      const cost = formatSpend(line, room);
      const role: Role = cost.includes("unpriced") || cost.endsWith("?") ? "warn" : "plain";
      return clip(
        [
          seg(fitTo(i === 0 ? label : "", 7), "muted"),
          seg(fitTo(line.name, nameWidth)),
          seg(" "),
          seg(cost.padStart(costWidth), role),
        ],
        width,
      );
    });
  return [...budgets, ...section("model", modelLines), ...section("client", clientLines)];
}

function budgetLine(b: BudgetLine, width: number): Segment[] {
  const ratio = b.spent / b.cap;
  const amount = ` ${formatUsd(b.spent)}/${formatUsd(b.cap)}`;
  const label = fitTo(b.label, Math.min(14, Math.max(7, b.label.length)));
  const bar = Math.max(4, Math.min(20, width - label.length - amount.length - 6));
  return clip(
    [
      seg(label, "muted"),
      seg(" "),
      seg(formatBar(ratio, bar), levelRole(ratio)),
      seg(amount),
      seg(` ${Math.round(ratio * 100)}%`),
    ],
    width,
  );
}

export function footerLine(
  f: { editing: boolean; draft: string; filter: string; paused: boolean },
  width: number,
): Segment[] {
  if (f.editing) {
    return clip(
      [
        seg("/", "accent", true),
        seg(f.draft),
        seg("▌", "accent"),
        seg("   Enter apply · Esc clear", "muted"),
      ],
      width,
    );
  }
  const keys = `q quit · ${f.paused ? "p resume" : "p pause"} · / filter · tab panel · ↑↓ scroll`;
  if (!f.filter) return clip([seg(keys, "muted")], width);
  return fitParts(
    [
      {
        segments: [seg("filter ", "muted"), seg(f.filter, "accent", true)],
        drop: 0,
      },
      { segments: [seg(" · Esc clears", "muted")], drop: 1 },
      { segments: [seg(`   ${keys}`, "muted")], drop: 2 },
    ],
    width,
  );
}
