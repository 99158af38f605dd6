/** A plain aligned text table; numbers right-aligned. Colour is applied by the caller per cell. */
export interface Column {
  header: string;
  align?: "left" | "right";
}

const ANSI = /\u001b\[[0-9;]*m/g;
const width = (text: string): number => text.replace(ANSI, "").length;

export function renderTable(columns: Column[], rows: string[][], footer?: string[]): string {
  const all = footer ? [...rows, footer] : rows;
  const widths = columns.map((col, i) => Math.max(width(col.header), ...all.map((r) => width(r[i] ?? ""))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => {
        const pad = " ".repeat(Math.max(0, widths[i]! - width(cell)));
        return columns[i]?.align === "right" ? pad + cell : cell + pad;
      })
      .join("  ")
      .trimEnd();
  const out = [line(columns.map((c) => c.header)), line(widths.map((w) => "─".repeat(w))), ...rows.map(line)];
  if (footer) out.push(line(widths.map((w) => "─".repeat(w))), line(footer));
  return `${out.join("\n")}\n`;
}

/** RFC 4180 CSV. */
export function renderCsv(headers: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => {
    const s = v === null ? "" : String(v);
    return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return `${[headers, ...rows].map((r) => r.map(cell).join(",")).join("\n")}\n`;
}
