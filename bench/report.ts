/** Statistics, the summary table and the targets of the benchmark. */

/** Nearest-rank percentile of an ascending array; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export function median(values: number[]): number {
  return percentile(Float64Array.from(values.filter((v) => !Number.isNaN(v))).sort(), 50);
}

export function fmt(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return "n/a";
  return value.toFixed(digits);
}

export function signed(value: number | undefined, digits = 2): string {
  if (value === undefined || Number.isNaN(value)) return "n/a";
  return `${value >= 0 ? "+" : "−"}${Math.abs(value).toFixed(digits)}`;
}

export interface Row {
  phase: string;
  direct: string;
  aigw: string;
  added: string;
  target?: string;
  /** true ✓, false ✗, undefined: no target. */
  ok?: boolean;
}

export interface Target {
  name: string;
  limit: string;
  value: number;
  /** null when not measured; false also when the phase saw failed (non-2xx / error) responses. */
  ok: boolean | null;
  note?: string;
}

/** value < limit, and the phase's responses all succeeded. */
export function target(name: string, limit: number, unit: string, value: number, failures = 0): Target {
  const measured = !Number.isNaN(value);
  return {
    name,
    limit: `< ${limit} ${unit}`,
    value,
    ok: measured ? failures === 0 && value < limit : null,
    ...(failures > 0 ? { note: `${failures} failed responses` } : {}),
  };
}

export function mark(t: Target | undefined): Pick<Row, "target" | "ok"> {
  if (!t) return {};
  const sign = t.ok === null ? "?" : t.ok ? "✓" : "✗";
  return { target: `${t.limit} ${sign}${t.note ? ` (${t.note})` : ""}`, ok: t.ok ?? undefined };
}

export function renderTable(rows: Row[]): string {
  const head: Row = { phase: "phase", direct: "direct", aigw: "aigw", added: "added", target: "target" };
  const all = [head, ...rows];
  const w = {
    phase: Math.max(...all.map((r) => r.phase.length)),
    direct: Math.max(...all.map((r) => r.direct.length)),
    aigw: Math.max(...all.map((r) => r.aigw.length)),
    added: Math.max(...all.map((r) => r.added.length)),
  };
  const line = (r: Row) =>
    [
      r.phase.padEnd(w.phase),
      r.direct.padStart(w.direct),
      r.aigw.padStart(w.aigw),
      r.added.padStart(w.added),
      r.target ?? "",
    ]
      .join("   ")
      .trimEnd();
  const rule = "-".repeat(w.phase + w.direct + w.aigw + w.added + 12 + 24);
  return [line(head), rule, ...rows.map(line)].join("\n");
}
