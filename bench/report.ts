/** Statistics and the rendering of the benchmark's summary table. */

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

/** One figure: its value for each side (text), and how aigw fares against its target. */
export interface Row {
  figure: string;
  direct?: string;
  bare?: string;
  hono?: string;
  aigw?: string;
  target?: string;
  /** true pass, false fail, null not measured, undefined no target. */
  ok?: boolean | null;
}

export interface Target {
  figure: string;
  target: string;
  aigw: number;
  ok: boolean | null;
  note?: string;
}

/** Pass when `pass(value)`, and the phase's responses all succeeded; null when not measured. */
export function verdict(value: number, pass: (v: number) => boolean, failures = 0): boolean | null {
  if (Number.isNaN(value)) return null;
  return failures === 0 && pass(value);
}

export function renderTable(rows: Row[]): string {
  const cols = ["figure", "direct", "bare", "hono", "aigw", "target", "ok"] as const;
  const head: Record<(typeof cols)[number], string> = {
    figure: "figure",
    direct: "direct",
    bare: "node:http+undici",
    hono: "Hono+undici",
    aigw: "aigw",
    target: "target (aigw)",
    ok: "",
  };
  const cell = (r: Row, c: (typeof cols)[number]): string => {
    if (c === "ok") return r.ok === undefined ? "" : r.ok === null ? "?" : r.ok ? "pass" : "FAIL";
    return (
      (r as unknown as Record<string, string | undefined>)[c] ?? (c === "figure" || c === "target" ? "" : "-")
    );
  };
  const table = [cols.map((c) => head[c]), ...rows.map((r) => cols.map((c) => cell(r, c)))];
  const width = cols.map((_, i) => Math.max(...table.map((line) => line[i]!.length)));
  const render = (line: string[]) =>
    line
      .map((text, i) => (i === 0 || i >= 5 ? text.padEnd(width[i]!) : text.padStart(width[i]!)))
      .join("  ")
      .trimEnd();
  const rule = "-".repeat(width.reduce((a, b) => a + b + 2, 0));
  return [render(table[0]!), rule, ...table.slice(1).map(render)].join("\n");
}
