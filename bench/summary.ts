/** The benchmark's results, its summary table, targets and notes. */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClosedLoopResult, OpenLoopResult } from "./load.js";
import { ROOT } from "./procs.js";
import { fmt, mark, type Row, renderTable, signed, type Target, target } from "./report.js";

export const RATE = 500;
export const PHASES = [
  "chat",
  "rate",
  "stream",
  "cpu",
  "rss",
  "startup",
  "stats",
  "cache",
  "limiter",
] as const;
export type Phase = (typeof PHASES)[number];

const failures = (r: { non2xx: number; errors: number }) => r.non2xx + r.errors;
const sub = (a: number, b: number) => a - b;

export interface ChatPhase {
  connections: number;
  direct: ClosedLoopResult;
  aigw: ClosedLoopResult;
}
export interface StreamStats {
  headers: number;
  firstToken: number;
  total: number;
  non200: number;
  errors: number;
}
export interface Results {
  startedAt: string;
  quick: boolean;
  phases: Phase[];
  node: string;
  cpus: number;
  loadavg: { start: number[]; end?: number[] };
  cli: string;
  preflight?: { direct: number; aigw: number; aigwBody?: string };
  chat?: ChatPhase[];
  rate?: { direct: OpenLoopResult; aigw: OpenLoopResult; aigwCpuUsPerRequest: number };
  stream?: { requests: number; direct: StreamStats; aigw: StreamStats };
  cpu?: {
    requests: number;
    connections: number;
    aigwUsPerRequest: number;
    aigwSystemUsPerRequest: number;
    upstreamUsPerRequest: number;
    /** The minimal Hono + undici proxy under the same load: the box's price of any proxy. */
    referenceUsPerRequest?: number;
  };
  /** The whole machine during the run (other users' work included): % busy, % stolen by the hypervisor. */
  machine?: { busyPct: number; stealPct: number };
  rss?: { seconds: number; peakMB: number; currentMB: number; load: OpenLoopResult; cpuUsPerRequest: number };
  startup?: {
    launches: number;
    healthyMs: number[];
    bannerMs: number[];
    medianHealthyMs: number;
    medianBannerMs: number;
  };
  /** Identical requests answered from the cache vs the miss path (cache off), both through aigw at c=16. */
  cache?: { hit: ClosedLoopResult; miss: ClosedLoopResult; hitCpuUs: number; missCpuUs: number };
  /** CPU per request with provider limits configured but never binding vs none: the limiter's cost. */
  limiter?: { unlimitedUs: number; limitedUs: number };
  /** `aigw stats` on a generated log: the first run rolls the log up, later runs read the rollup. */
  stats?: { rows: number; generateMs: number; firstMs: number; warmMs: number[]; medianWarmMs: number };
  targets?: Target[];
  seconds?: number;
}

/** Prints the table and notes, and writes bench/results/latest.json (with the targets). */
export function report(results: Results): void {
  const rows: Row[] = [];
  const targets: Target[] = [];
  const add = (t: Target) => {
    targets.push(t);
    return t;
  };
  for (const c of results.chat ?? []) {
    const cell = (r: ClosedLoopResult) => `${fmt(r.reqPerSec, 0)} / ${fmt(r.p50)} / ${fmt(r.p99)}`;
    const pct = ((c.aigw.reqPerSec - c.direct.reqPerSec) / c.direct.reqPerSec) * 100;
    rows.push({
      phase: `chat c=${c.connections}  req/s / p50 / p99 (ms)`,
      direct: cell(c.direct),
      aigw: cell(c.aigw),
      added: `${signed(pct, 0)}% / ${signed(sub(c.aigw.p50, c.direct.p50))} / ${signed(sub(c.aigw.p99, c.direct.p99))}`,
    });
  }
  if (results.rate) {
    const { direct: d, aigw: a } = results.rate;
    const cell = (r: OpenLoopResult) => `${fmt(r.p50)} / ${fmt(r.p90)} / ${fmt(r.p99)} / ${fmt(r.max)}`;
    const t50 = add(target("added p50 at 500 req/s", 0.5, "ms", a.p50 - d.p50, failures(a)));
    const t99 = add(target("added p99 at 500 req/s", 2, "ms", a.p99 - d.p99, failures(a)));
    rows.push({
      phase: `${RATE} req/s  p50 / p90 / p99 / max (ms)`,
      direct: cell(d),
      aigw: cell(a),
      added: `${signed(a.p50 - d.p50)} / ${signed(a.p99 - d.p99)}`,
      target: `p50 ${mark(t50).target}, p99 ${mark(t99).target}`,
    });
  }
  if (results.stream) {
    const { direct: d, aigw: a } = results.stream;
    const t = add(
      target("stream first-token overhead", 2, "ms", a.firstToken - d.firstToken, a.non200 + a.errors),
    );
    for (const [label, key] of [
      ["headers", "headers"],
      ["first token", "firstToken"],
      ["total", "total"],
    ] as const)
      rows.push({
        phase: `stream ${label} (ms, median)`,
        direct: fmt(d[key]),
        aigw: fmt(a[key]),
        added: signed(a[key] - d[key]),
        ...(key === "firstToken" ? mark(t) : {}),
      });
  }
  if (results.cpu) {
    const t = add(target("cpu per request", 150, "µs", results.cpu.aigwUsPerRequest));
    rows.push({
      phase: "cpu per request (µs)",
      direct: "-",
      aigw: fmt(results.cpu.aigwUsPerRequest, 0),
      added: "",
      ...mark(t),
    });
    const ref = results.cpu.referenceUsPerRequest;
    if (ref) {
      // The 150 µs target was set where the minimal proxy cost ~100 µs: compare like with like.
      rows.push({
        phase: "  minimal Hono+undici proxy (µs)",
        direct: fmt(ref, 0),
        aigw: fmt(results.cpu.aigwUsPerRequest, 0),
        added: `×${(results.cpu.aigwUsPerRequest / ref).toFixed(2)}`,
      });
    }
  }
  if (results.rate)
    rows.push({
      phase: `cpu per request @${RATE} req/s (µs)`,
      direct: "-",
      aigw: fmt(results.rate.aigwCpuUsPerRequest, 0),
      added: "",
    });
  if (results.rss) {
    const t = add(target("peak rss at 500 req/s", 150, "MB", results.rss.peakMB, failures(results.rss.load)));
    rows.push({
      phase: `rss at ${RATE} req/s (MB)`,
      direct: "-",
      aigw: fmt(results.rss.peakMB, 0),
      added: "",
      ...mark(t),
    });
  }
  if (results.startup) {
    const t = add(target("listening after launch", 200, "ms", results.startup.medianHealthyMs));
    rows.push({
      phase: "listening after launch (ms)",
      direct: "-",
      aigw: fmt(results.startup.medianHealthyMs, 0),
      added: "",
      ...mark(t),
    });
    rows.push({
      phase: "banner after launch (ms)",
      direct: "-",
      aigw: fmt(results.startup.medianBannerMs, 0),
      added: "",
    });
  }
  if (results.cache) {
    const c = results.cache;
    const cell = (r: ClosedLoopResult, cpu: number) =>
      `${fmt(r.reqPerSec, 0)} / ${fmt(r.p50)} / ${fmt(r.p99)} / ${fmt(cpu, 0)} µs`;
    rows.push({
      phase: "cache c=16 req/s / p50 / p99 / cpu",
      direct: `miss ${cell(c.miss, c.missCpuUs)}`,
      aigw: `hit ${cell(c.hit, c.hitCpuUs)}`,
      added: `×${(c.hit.reqPerSec / c.miss.reqPerSec).toFixed(1)} req/s`,
    });
  }
  if (results.limiter) {
    const l = results.limiter;
    rows.push({
      phase: "cpu/request: no limits vs limits not binding (µs)",
      direct: fmt(l.unlimitedUs, 0),
      aigw: fmt(l.limitedUs, 0),
      added: `${signed(((l.limitedUs - l.unlimitedUs) / l.unlimitedUs) * 100, 1)}%`,
    });
  }
  if (results.stats) {
    const st = results.stats;
    const t = add(
      target(`aigw stats on ${st.rows.toLocaleString("en-US")} rows`, 500, "ms", st.medianWarmMs),
    );
    rows.push({
      phase: `stats ${st.rows.toLocaleString("en-US")} rows (ms, CLI)`,
      direct: "-",
      aigw: fmt(st.medianWarmMs, 0),
      added: "",
      ...mark(t),
    });
    rows.push({ phase: "stats first run: roll-up (ms)", direct: "-", aigw: fmt(st.firstMs, 0), added: "" });
  }
  results.targets = targets;

  const notes: string[] = [];
  const bad: string[] = [];
  for (const c of results.chat ?? [])
    for (const [name, r] of [
      ["direct", c.direct],
      ["aigw", c.aigw],
    ] as const)
      if (failures(r))
        bad.push(
          `chat c=${c.connections} ${name}: ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors`,
        );
  if (results.rate)
    for (const [name, r] of [
      ["direct", results.rate.direct],
      ["aigw", results.rate.aigw],
    ] as const)
      if (failures(r))
        bad.push(
          `${RATE} req/s ${name}: ${r.non2xx} non-2xx ${JSON.stringify(r.statuses)}, ${r.errors} errors`,
        );
  if (results.stream)
    for (const name of ["direct", "aigw"] as const) {
      const s = results.stream[name];
      if (s.non200 + s.errors) bad.push(`stream ${name}: ${s.non200} non-200, ${s.errors} errors`);
    }
  if (results.rss && failures(results.rss.load))
    bad.push(`rss load: ${results.rss.load.non2xx} non-2xx, ${results.rss.load.errors} errors`);
  notes.push(bad.length ? `FAILED RESPONSES: ${bad.join("; ")}` : "all responses 2xx");
  if (results.preflight?.aigwBody) notes.push(`aigw pre-flight answer: ${results.preflight.aigwBody}`);
  if (results.rate)
    notes.push(
      `open-loop sender lag p99: direct ${fmt(results.rate.direct.lagP99, 3)} ms, aigw ${fmt(results.rate.aigw.lagP99, 3)} ms`,
    );
  if (results.cpu)
    notes.push(
      `cpu per request at c=16: aigw ${fmt(results.cpu.aigwUsPerRequest, 0)} µs ` +
        `(of which system ${fmt(results.cpu.aigwSystemUsPerRequest, 0)} µs); the fake upstream ${fmt(results.cpu.upstreamUsPerRequest, 0)} µs ` +
        `(aigw ×${fmt(results.cpu.aigwUsPerRequest / results.cpu.upstreamUsPerRequest, 1)})`,
    );
  const load = (l: number[] | undefined) => l?.map((x) => x.toFixed(2)).join(" ") ?? "?";
  const box = results.machine;
  notes.push(
    `machine: ${results.cpus} cpus, load average ${load(results.loadavg.start)} → ${load(results.loadavg.end)}` +
      (box
        ? `, ${fmt(box.busyPct, 0)}% busy and ${fmt(box.stealPct, 0)}% stolen by the hypervisor during the run`
        : "") +
      `, ${results.seconds?.toFixed(0)} s`,
  );

  process.stdout.write(`\n${renderTable(rows)}\n\n${notes.map((n) => `  ${n}`).join("\n")}\n`);
  const dir = join(ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "latest.json"), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`  → bench/results/latest.json\n`);
}
