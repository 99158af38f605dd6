/** Pure formatters shared by the CLI tables and the dashboard. */

/** USD to the cent, or to significant sub-cent digits when tiny; null is "unpriced". */
export function formatUsd(value: number | null): string {
  if (value === null) return "unpriced";
  if (value === 0) return "$0.00";
  const abs = Math.abs(value);
  if (abs >= 0.01) return `$${value.toFixed(2)}`;
  return `$${value.toPrecision(2).replace(/0+$/, "")}`;
}

/** 1234 → "1,234"; null → "-". */
export function formatCount(value: number | null): string {
  return value === null ? "-" : Math.round(value).toLocaleString("en-US");
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
