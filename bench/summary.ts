/** The benchmark's results, its summary table (aigw beside both yardsticks) and the targets. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClosedLoopResult, OpenLoopResult } from "./load.js";
import type { Probe, ServerKind } from "./procs.js";
import { ROOT } from "./procs.js";
import { fmt, type Row, renderTable, signed, type Target, verdict } from "./report.js";

export const RATE = 500;
export const PHASES = [
  "closed",
  "rate",
  "stream",
  "memory",
  "startup",
  "cache",
  "limiter",
  "shared",
  "stats",
] as const;
export type Phase = (typeof PHASES)[number];
export type Side = "direct" | ServerKind;
export const SIDES: readonly Side[] = ["direct", "bare", "hono", "aigw"];
export const SERVERS: readonly ServerKind[] = ["bare", "hono", "aigw"];

/** What a phase cost a server, from its own probe: CPU µs per request and event-loop delay. */
export interface Cost {
  cpuUs: number;
  loop: Probe["loop"];
}
export type Closed = ClosedLoopResult & Partial<Cost>;
export type Open = OpenLoopResult & Partial<Cost>;
export interface StreamStats {
  headers: number;
  firstToken: number;
  total: number;
  failures: number;
  loop?: Probe["loop"];
}

export interface Results {
  startedAt: string;
  quick: boolean;
  phases: Phase[];
  node: string;
  cpus: number;
  loadavg: { start: number[]; end?: number[] };
  cli: string;
  /** Closed loop, medians over the rounds, per connection count. */
  closed?: Record<"c1" | "c16", Partial<Record<Side, Closed>>> & { rounds: number };
  rate?: Partial<Record<Side, Open>>;
  stream?: { requests: number } & Partial<Record<Side, StreamStats>>;
  /** MiB: RSS 2 s after start (idle), VmHWM after RATE req/s (peak). */
  memory?: Partial<Record<ServerKind, { idleMB: number; peakMB: number; failures: number }>>;
  /** Medians over launches; loopMax: the worst event-loop delay from listening to 1 s after the first answer. */
  startup?: Partial<
    Record<ServerKind, { launches: number; listeningMs: number; firstAnswerMs: number; loopMax: number }>
  > & {
    /** aigw's first launch, on a new home (the database created); the launches above share that home. */
    aigwNewHome?: { listeningMs: number; firstAnswerMs: number };
  };
  /** Identical requests served from the cache: p50 at c=1 vs the direct call's, CPU vs a miss (cache off). */
  cache?: { hitP50: number; directP50: number; hitCpuUs: number; missCpuUs: number; failures: number };
  /** CPU with limits that never bind (tpm included) vs none, and the event loop right after such a start. */
  limiter?: {
    unlimitedUs: number;
    limitedUs: number;
    loopMaxAtStart: number;
    loopP99AtStart: number;
    /** The same start and load without limits (no tokenizer): what a new process under load shows anyway. */
    plainLoopMaxAtStart?: number;
    plainLoopP99AtStart?: number;
  };
  /**
   * The Redis path: the same gateway config (client rpm limit, daily budget, prices) without and with
   * `shared.redis`; p50 at c=1 beside the direct call's, CPU per request at c=16 (redis-server's own CPU apart).
   */
  shared?: {
    directP50: number;
    single: { p50: number; cpuUs: number };
    redis: { p50: number; cpuUs: number; redisCpuUs: number };
    failures: number;
  };
  /** `aigw stats` on a generated log: the first run rolls the log up, later runs read the rollup. */
  stats?: { rows: number; generateMs: number; firstMs: number; warmMs: number[]; medianWarmMs: number };
  machine?: { busyPct: number; stealPct: number };
  targets?: Target[];
  seconds?: number;
}

const fails = (r: { non2xx: number; errors: number } | undefined) => (r ? r.non2xx + r.errors : 0);

/** Prints the table and notes, and writes bench/results/latest.json (with the targets). */
export function report(results: Results): void {
  const rows: Row[] = [];
  const targets: Target[] = [];
  /** A row; with `pass`, also aigw's target verdict. */
  const row = (
    figure: string,
    cells: Partial<Record<Side, string>>,
    check?: { target: string; value: number; pass: (v: number) => boolean; failures?: number },
  ) => {
    const r: Row = { figure, ...cells };
    if (check) {
      r.target = check.target;
      r.ok = verdict(check.value, check.pass, check.failures ?? 0);
      targets.push({ figure, target: check.target, aigw: check.value, ok: r.ok });
    }
    rows.push(r);
  };
  const each = <T>(src: Partial<Record<Side, T>> | undefined, f: (v: T, side: Side) => string) => {
    const out: Partial<Record<Side, string>> = {};
    for (const side of SIDES) {
      const v = src?.[side];
      if (v !== undefined) out[side] = f(v, side);
    }
    return out;
  };

  const closed = results.closed;
  if (closed) {
    const c16 = closed.c16;
    const hono16 = c16.hono;
    const bare16 = c16.bare;
    const a16 = c16.aigw;
    row(
      "CPU µs/request, 16 connections",
      each(c16, (r, s) => (s === "direct" ? "-" : fmt(r.cpuUs, 0))),
      {
        target: `≤ Hono (${fmt(hono16?.cpuUs, 0)})`,
        value: a16?.cpuUs ?? Number.NaN,
        pass: (v) => v <= (hono16?.cpuUs ?? Number.NaN),
        failures: fails(a16),
      },
    );
    row(
      "  aigw ÷ framework-free",
      { aigw: `×${fmt((a16?.cpuUs ?? Number.NaN) / (bare16?.cpuUs ?? Number.NaN))}` },
      {
        target: "aim ≤ ×1.5",
        value: (a16?.cpuUs ?? Number.NaN) / (bare16?.cpuUs ?? Number.NaN),
        pass: (v) => v <= 1.5,
      },
    );
    row(
      "req/s, 16 connections",
      each(c16, (r) => fmt(r.reqPerSec, 0)),
      {
        target: `≥ Hono (${fmt(hono16?.reqPerSec, 0)})`,
        value: a16?.reqPerSec ?? Number.NaN,
        pass: (v) => v >= (hono16?.reqPerSec ?? Number.NaN),
        failures: fails(a16),
      },
    );
    const d1 = closed.c1.direct?.p50 ?? Number.NaN;
    const added1 = (side: Side) => (closed.c1[side]?.p50 ?? Number.NaN) - d1;
    row(
      "added p50, 1 connection (ms)",
      each(closed.c1, (r, s) => (s === "direct" ? fmt(r.p50) : signed(added1(s)))),
      {
        target: `≤ Hono (${signed(added1("hono"))})`,
        value: added1("aigw"),
        pass: (v) => v <= added1("hono"),
        failures: fails(closed.c1.aigw),
      },
    );
  }
  const rate = results.rate;
  if (rate) {
    const d = rate.direct;
    const added = (side: Side, key: "p50" | "p99") =>
      (rate[side]?.[key] ?? Number.NaN) - (d?.[key] ?? Number.NaN);
    row(
      `added p50 / p99 at ${RATE} req/s, open loop (ms)`,
      each(rate, (r, s) =>
        s === "direct"
          ? `${fmt(r.p50)} / ${fmt(r.p99)}`
          : `${signed(added(s, "p50"))} / ${signed(added(s, "p99"))}`,
      ),
      {
        target: `p99 ≤ Hono + 1 (${signed(added("hono", "p99") + 1)})`,
        value: added("aigw", "p99"),
        pass: (v) => v <= added("hono", "p99") + 1,
        failures: fails(rate.aigw),
      },
    );
    row(
      `CPU µs/request at ${RATE} req/s`,
      each(rate, (r, s) => (s === "direct" ? "-" : fmt(r.cpuUs, 0))),
    );
  }
  const stream = results.stream;
  if (stream) {
    const d = stream.direct?.firstToken ?? Number.NaN;
    const added = (side: Side) => (stream[side]?.firstToken ?? Number.NaN) - d;
    row(
      "stream, added time to first token (ms)",
      each(stream, (r, s) => (s === "direct" ? fmt(r.firstToken) : signed(added(s)))),
      {
        target: `≤ Hono + 1 (${signed(added("hono") + 1)})`,
        value: added("aigw"),
        pass: (v) => v <= added("hono") + 1,
        failures: stream.aigw?.failures ?? 0,
      },
    );
  }
  const mem = results.memory;
  if (mem) {
    row(
      "RSS idle (MiB)",
      each(mem, (m) => fmt(m.idleMB, 0)),
      {
        target: "≤ 75",
        value: mem.aigw?.idleMB ?? Number.NaN,
        pass: (v) => v <= 75,
      },
    );
    row(
      `RSS peak at ${RATE} req/s (MiB)`,
      each(mem, (m) => fmt(m.peakMB, 0)),
      {
        target: "≤ 130",
        value: mem.aigw?.peakMB ?? Number.NaN,
        pass: (v) => v <= 130,
        failures: mem.aigw?.failures ?? 0,
      },
    );
  }
  const st = results.startup;
  if (st) {
    const h = st.hono;
    row(
      "launch → listening (ms)",
      each(st, (s) => fmt(s.listeningMs, 0)),
      {
        target: `≤ Hono + 30 (${fmt((h?.listeningMs ?? Number.NaN) + 30, 0)})`,
        value: st.aigw?.listeningMs ?? Number.NaN,
        pass: (v) => v <= (h?.listeningMs ?? Number.NaN) + 30,
      },
    );
    row(
      "launch → first proxied answer (ms)",
      each(st, (s) => fmt(s.firstAnswerMs, 0)),
      {
        target: `≤ Hono + 30 (${fmt((h?.firstAnswerMs ?? Number.NaN) + 30, 0)})`,
        value: st.aigw?.firstAnswerMs ?? Number.NaN,
        pass: (v) => v <= (h?.firstAnswerMs ?? Number.NaN) + 30,
      },
    );
    if (st.aigwNewHome)
      row("first launch on a new home: listening / first answer (ms)", {
        aigw: `${fmt(st.aigwNewHome.listeningMs, 0)} / ${fmt(st.aigwNewHome.firstAnswerMs, 0)}`,
      });
  }
  const cache = results.cache;
  if (cache) {
    row(
      "cache hit p50, 1 connection (ms)",
      { direct: fmt(cache.directP50, 2), aigw: fmt(cache.hitP50, 2) },
      {
        target: "< direct p50",
        value: cache.hitP50,
        pass: (v) => v < cache.directP50,
        failures: cache.failures,
      },
    );
    const share = cache.hitCpuUs / cache.missCpuUs;
    row(
      "cache hit CPU ÷ miss CPU, 16 connections",
      { aigw: `${fmt(cache.hitCpuUs, 0)} ÷ ${fmt(cache.missCpuUs, 0)} µs = ${fmt(share * 100, 0)}%` },
      {
        target: "< 40%",
        value: share,
        pass: (v) => v < 0.4,
      },
    );
  }
  if (results.limiter) {
    const l = results.limiter;
    row("CPU µs/request: no limits → limits never binding", {
      aigw: `${fmt(l.unlimitedUs, 0)} → ${fmt(l.limitedUs, 0)}`,
    });
  }
  if (results.shared) {
    const sh = results.shared;
    row("Redis path: CPU µs/request, 16 connections (alone → shared)", {
      aigw: `${fmt(sh.single.cpuUs, 0)} → ${fmt(sh.redis.cpuUs, 0)} (+${fmt(sh.redis.redisCpuUs, 0)} in redis-server)`,
    });
    row("Redis path: added p50, 1 connection (ms, alone → shared)", {
      direct: fmt(sh.directP50),
      aigw: `${signed(sh.single.p50 - sh.directP50)} → ${signed(sh.redis.p50 - sh.directP50)}`,
    });
  }
  // Event-loop delay inside each server, per phase (p99 / max, ms): the never-stalls target.
  const loop = (l: Probe["loop"] | undefined) => (l ? `${fmt(l.p99, 1)} / ${fmt(l.max, 1)}` : "-");
  if (closed)
    row(
      "event-loop delay p99 / max, closed loop c=16 (ms)",
      each(closed.c16, (r, s) => (s === "direct" ? "-" : loop(r.loop))),
      {
        target: "p99 ≤ 20",
        value: closed.c16.aigw?.loop?.p99 ?? Number.NaN,
        pass: (v) => v <= 20,
      },
    );
  if (rate)
    row(
      `event-loop delay p99 / max, ${RATE} req/s (ms)`,
      each(rate, (r, s) => (s === "direct" ? "-" : loop(r.loop))),
      {
        target: "p99 ≤ 20",
        value: rate.aigw?.loop?.p99 ?? Number.NaN,
        pass: (v) => v <= 20,
      },
    );
  if (stream)
    row(
      "event-loop delay p99 / max, stream (ms)",
      each(stream, (r, s) => (s === "direct" ? "-" : loop(r.loop))),
    );
  if (st)
    row(
      "event-loop delay max, listening → 1 s after the first answer (ms)",
      each(st, (s) => fmt(s.loopMax, 1)),
      {
        target: "≤ 20",
        value: st.aigw?.loopMax ?? Number.NaN,
        pass: (v) => v <= 20,
      },
    );
  if (results.limiter)
    row(
      "event-loop delay p99 / max, start with a tpm limit, loaded at once (ms)",
      { aigw: loop({ p50: 0, p99: results.limiter.loopP99AtStart, max: results.limiter.loopMaxAtStart }) },
      {
        target: "max ≤ 20",
        value: results.limiter.loopMaxAtStart,
        pass: (v) => v <= 20,
      },
    );
  if (results.limiter?.plainLoopMaxAtStart !== undefined)
    row("  the same start and load without limits (ms)", {
      aigw: loop({
        p50: 0,
        p99: results.limiter.plainLoopP99AtStart ?? Number.NaN,
        max: results.limiter.plainLoopMaxAtStart,
      }),
    });
  if (results.stats) {
    const s = results.stats;
    row(
      `aigw stats, ${s.rows.toLocaleString("en-US")} rows, after the first roll-up (ms)`,
      { aigw: fmt(s.medianWarmMs, 0) },
      {
        target: "< 300",
        value: s.medianWarmMs,
        pass: (v) => v < 300,
      },
    );
    row("  the first run, rolling the log up (ms)", { aigw: fmt(s.firstMs, 0) });
  }
  results.targets = targets;

  const notes: string[] = [];
  const bad: string[] = [];
  for (const c of ["c1", "c16"] as const)
    for (const side of SIDES) {
      const r = closed?.[c][side];
      if (fails(r))
        bad.push(
          `closed ${c} ${side}: ${r!.non2xx} non-2xx ${JSON.stringify(r!.statuses)}, ${r!.errors} errors`,
        );
    }
  for (const side of SIDES) {
    const r = rate?.[side];
    if (fails(r)) bad.push(`${RATE} req/s ${side}: ${r!.non2xx} non-2xx, ${r!.errors} errors`);
    const s = stream?.[side];
    if (s?.failures) bad.push(`stream ${side}: ${s.failures} failed`);
  }
  notes.push(bad.length ? `FAILED RESPONSES: ${bad.join("; ")}` : "all responses 2xx");
  if (closed)
    notes.push(`closed loop: medians of ${closed.rounds} round(s), sides interleaved in each round`);
  const passed = targets.filter((t) => t.ok === true).length;
  notes.push(`targets: ${passed} of ${targets.length} pass`);
  const load = (l: number[] | undefined) => l?.map((x) => x.toFixed(2)).join(" ") ?? "?";
  const box = results.machine;
  notes.push(
    `machine: ${results.cpus} cpus, node ${results.node}, load average ${load(results.loadavg.start)} → ${load(results.loadavg.end)}` +
      (box ? `, ${fmt(box.busyPct, 0)}% busy and ${fmt(box.stealPct, 0)}% stolen during the run` : "") +
      `, ${results.seconds?.toFixed(0)} s`,
  );
  process.stdout.write(`\n${renderTable(rows)}\n\n${notes.map((n) => `  ${n}`).join("\n")}\n`);
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write("  → bench/results/latest.json\n");
}
