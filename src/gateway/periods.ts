/** Calendar days and months in a time zone, for budgets (the owner's local time by default). */

export interface Period {
  /** "2026-11-22" or "2026-11". */
  key: string;
  start: number;
  /** When the next period starts (the budget resets). */
  end: number;
}

// One formatter per zone: building one costs ~1 ms, and a month's bounds take dozens of calls.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let fmt = formatters.get(timeZone);
  if (fmt) return fmt;
  fmt = new Intl.DateTimeFormat("en-CA", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  });
  formatters.set(timeZone, fmt);
  return fmt;
}

/**
 * The calendar fields of `ms` in `timeZone`; null is the machine's own zone, read through Date's local
 * getters: the first Intl.DateTimeFormat costs ~30 ms of ICU set-up, a stall the gateway's start need
 * not pay when no zone is configured.
 */
function parts(ms: number, timeZone: string | null) {
  if (timeZone === null) {
    const d = new Date(ms);
    const two = (n: number) => String(n).padStart(2, "0");
    return {
      y: String(d.getFullYear()),
      m: two(d.getMonth() + 1),
      d: two(d.getDate()),
      h: d.getHours(),
      mi: d.getMinutes(),
      s: d.getSeconds(),
    };
  }
  const p = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(ms)
      .map((x) => [x.type, x.value]),
  );
  return { y: p.year!, m: p.month!, d: p.day!, h: Number(p.hour), mi: Number(p.minute), s: Number(p.second) };
}

/** Local midnight of the day containing `ms`, corrected when a DST change lies between the two. */
function startOfDay(ms: number, timeZone: string | null): number {
  const p = parts(ms, timeZone);
  let start = ms - ((p.h * 60 + p.mi) * 60 + p.s) * 1000 - (ms % 1000);
  for (let i = 0; i < 2; i++) {
    const q = parts(start, timeZone);
    const sinceMidnight = ((q.h * 60 + q.mi) * 60 + q.s) * 1000;
    if (sinceMidnight === 0) break;
    // Landed in the previous day (clock fell back) or after midnight (clock sprang forward).
    start += q.d !== p.d ? 86_400_000 - sinceMidnight : -sinceMidnight;
  }
  return start;
}

export function dayOf(ms: number, timeZone: string | null): Period {
  const start = startOfDay(ms, timeZone);
  const p = parts(ms, timeZone);
  // +26 h lands in the next day even across a DST change; its midnight is this day's end.
  return { key: `${p.y}-${p.m}-${p.d}`, start, end: startOfDay(start + 26 * 3_600_000, timeZone) };
}

export function monthOf(ms: number, timeZone: string | null): Period {
  const p = parts(ms, timeZone);
  let start = startOfDay(ms, timeZone);
  for (let d = Number(p.d); d > 1; d--) start = startOfDay(start - 3_600_000, timeZone);
  let end = start;
  while (parts(end, timeZone).m === p.m) end = startOfDay(end + 26 * 3_600_000, timeZone);
  return { key: `${p.y}-${p.m}`, start, end };
}

export function localTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}
