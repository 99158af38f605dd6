/** Pure formatters shared by the CLI tables and the dashboard. */

/** USD to the cent, to four decimals below a cent, "<$0.0001" below that; null is "unpriced". */
export function formatUsd(value: number | null): string {
  if (value === null) return "unpriced";
  if (value === 0) return "$0.00";
  const abs = Math.abs(value);
  if (abs >= 0.01) return `$${value.toFixed(2)}`;
  // Sub-cent to a tenth of a mil; anything smaller is just "under" it (it fits an 8-wide column).
  if (abs >= 0.0001) return `$${value.toFixed(4).replace(/0+$/, "")}`;
  return value > 0 ? "<$0.0001" : "-<$0.0001";
}

/** 1234 → "1,234"; null → "-". */
export function formatCount(value: number | null): string {
  if (value === null) return "-";
  const n = Math.round(value);
  // Commas by hand: the first toLocaleString loads ICU's number formatting (~15 ms of `aigw stats`).
  if (!Number.isSafeInteger(n) || Object.is(n, -0)) return n.toLocaleString("en-US");
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** Milliseconds for people: "850ms", "1.2s", "3m05s". */
export function formatMs(value: number | null): string {
  if (value === null) return "-";
  if (value < 1) return `${value.toFixed(2)}ms`;
  if (value < 1000) return `${Math.round(value)}ms`;
  if (value < 60_000) return `${(value / 1000).toFixed(1)}s`;
  const s = Math.round(value / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
}

export function formatPercent(part: number, whole: number): string {
  return whole === 0 ? "-" : `${((part / whole) * 100).toFixed(1)}%`;
}

/** HH:MM:SS in local time. */
export function formatClock(epochMs: number): string {
  const d = new Date(epochMs);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** 950 → "950", 1234 → "1.2k", 2_500_000 → "2.5M"; null → "-". */
export function formatCompact(value: number | null): string {
  if (value === null) return "-";
  const abs = Math.abs(value);
  if (abs < 1000) return String(Math.round(value));
  if (abs < 1e6) return `${trimZero((value / 1000).toFixed(abs < 1e4 ? 1 : 0))}k`;
  return `${trimZero((value / 1e6).toFixed(abs < 1e7 ? 1 : 0))}M`;
}

function trimZero(text: string): string {
  return text.replace(/\.0$/, "");
}

/** Input → output tokens, compact: "1.2k→340"; "-" when the request carried none. */
export function formatTokens(input: number | null, output: number | null): string {
  if (input === null && output === null) return "-";
  return `${formatCompact(input)}→${formatCompact(output)}`;
}

/** A span for people, coarse enough for uptimes and countdowns: "45s", "12m03s", "2h01m", "3d04h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (s < 3600) return `${Math.floor(s / 60)}m${pad(s % 60)}s`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86_400)}d${pad(Math.floor((s % 86_400) / 3600))}h`;
}

/** A rate with one decimal below 100: "0.4", "12.5", "340". */
export function formatRate(perSecond: number): string {
  return perSecond < 100 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** A limiter window's period as a unit: 60 s → "rpm", 1 s → "rps", else "/10s", "/h". */
export function formatWindow(perMs: number): string {
  if (perMs === 60_000) return "rpm";
  if (perMs === 1000) return "rps";
  if (perMs === 3_600_000) return "/h";
  if (perMs === 86_400_000) return "/day";
  return perMs % 60_000 === 0 ? `/${perMs / 60_000}m` : `/${Math.round(perMs / 1000)}s`;
}

/** What was asked for and who answered: "gpt-4o-mini → openai", "smart → anthropic/claude-haiku-4-5". */
export function formatRoute(
  requested: string | null,
  provider: string | null,
  upstream: string | null,
): string {
  const asked = requested ?? "-";
  if (!provider) return asked;
  if (asked.startsWith(`${provider}/`) && (upstream === null || asked === `${provider}/${upstream}`))
    return asked;
  if (upstream === null || upstream === asked) return `${asked} → ${provider}`;
  return `${asked} → ${provider}/${upstream}`;
}

/** A masked secret at the end of a text: "sk-…a1b2", "openai sk-…a1b2". */
const MASKED_TAIL = /(^|\s)([\w-]{0,12}…[^\s…]{1,8})$/;

/**
 * Cuts to `width` columns, marking the cut with "…". A trailing masked key keeps its last characters
 * (what tells keys apart): the text before it is cut first, then the mask's prefix.
 */
export function truncate(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  const mask = MASKED_TAIL.exec(text)?.[2];
  if (mask && width >= 5) {
    const head = text.slice(0, text.length - mask.length).trimEnd();
    if (head && width >= mask.length + 2) return `${truncate(head, width - mask.length - 1)} ${mask}`;
    const tail = mask.slice(mask.indexOf("…") + 1);
    return width >= mask.length ? mask : `…${tail.slice(-(width - 1))}`;
  }
  return width === 1 ? "…" : `${text.slice(0, width - 1)}…`;
}

/** Pads or cuts to exactly `width` columns. */
export function fitTo(text: string, width: number, align: "left" | "right" = "left"): string {
  const cut = truncate(text, width);
  return align === "left" ? cut.padEnd(width) : cut.padStart(width);
}

/** A horizontal gauge of `width` cells; ratios over 1 fill it. */
export function formatBar(ratio: number, width: number): string {
  if (width <= 0) return "";
  const clamped = Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : 0;
  // Any use at all shows at least one cell, so 1/500 is not mistaken for idle.
  const filled = clamped === 0 ? 0 : Math.max(1, Math.round(clamped * width));
  return "█".repeat(filled) + "░".repeat(width - filled);
}
