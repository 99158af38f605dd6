import chalk from "chalk";
import { Command } from "commander";
import type { RunInfo } from "../config/run-file.js";
import type { GatewayEvent } from "../gateway/events.js";
import type { UsageRecord } from "../store/usage-log.js";
import { formatClock, formatCount, formatMs, formatUsd } from "../ui/format.js";
import { parseHistory } from "../ui/wire.js";
import { CliError } from "./cli-error.js";
import { homeOf } from "./common.js";
import { followEvents } from "./gateway-client.js";

interface TailOptions {
  json?: boolean;
  client?: string;
  model?: string;
  errors?: boolean;
  lines: number;
}

const MAX_LINES = 1000;
const HISTORY_TIMEOUT_MS = 5000;

const lineCount = (value: string) => {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > MAX_LINES)
    throw new CliError(`-n: expected a whole number from 0 to ${MAX_LINES}, got "${value}"`, null, 2);
  return n;
};

export const tailCommand = new Command("tail")
  .description("print each request as it finishes, live from the running gateway")
  .option("--json", "one JSON usage record per line (NDJSON)")
  .option("--client <name>", "only this client's requests")
  .option("--model <model>", "only requests for this model (as requested, or provider/model)")
  .option("--errors", "only failed requests")
  .option("-n, --lines <N>", "first print the last N finished requests (0: none)", lineCount, 10)
  .addHelpText("after", "\nExamples:\n  aigw tail -n 50 --errors\n  aigw tail -n 0 --json | jq .latency_ms")
  .action(async (opts: TailOptions, command: Command) => {
    const paths = homeOf(command);
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    const print = (r: UsageRecord) =>
      process.stdout.write(opts.json ? `${JSON.stringify(r)}\n` : `${tailLine(r)}\n`);
    // Live records wait here while the history is read, so the output stays in finishing order.
    let backlog: UsageRecord[] | null = opts.lines > 0 ? [] : null;
    let asked = false;
    const openWith = async (info: RunInfo) => {
      try {
        const rows = await latest(info, opts, controller.signal);
        const shown = new Set(rows.map((r) => r.id));
        for (const r of rows.reverse()) print(r);
        for (const r of backlog ?? []) if (!shown.has(r.id)) print(r);
      } catch (err) {
        if (controller.signal.aborted) return;
        const why = err instanceof Error ? err.message : String(err);
        process.stderr.write(`${chalk.dim(`could not read the gateway's recent requests (${why})`)}\n`);
        for (const r of backlog ?? []) print(r);
      } finally {
        backlog = null;
      }
    };
    await followEvents(
      paths,
      (type, data) => {
        if (type !== "request") return;
        const record = (data as Extract<GatewayEvent, { type: "request" }>).record;
        if (!matches(record, opts)) return;
        if (backlog) backlog.push(record);
        else print(record);
      },
      {
        signal: controller.signal,
        onState: (state, info) => {
          // Read once subscribed, so nothing finishes between the history and the live lines.
          if (state === "connected" && info && backlog && !asked) {
            asked = true;
            void openWith(info);
          }
          if (opts.json) return;
          const text =
            state === "connected"
              ? `connected to ${info?.url}`
              : "gateway stopped; waiting for it to come back…";
          process.stderr.write(`${chalk.dim(text)}\n`);
        },
      },
    );
  });

/** The last finished requests matching the filters, most recently finished first, from the gateway. */
async function latest(info: RunInfo, opts: TailOptions, signal: AbortSignal): Promise<UsageRecord[]> {
  const query = new URLSearchParams({ limit: String(opts.lines) });
  if (opts.client) query.set("client", opts.client);
  if (opts.model) query.set("model", opts.model);
  if (opts.errors) query.set("errors", "1");
  const res = await fetch(`${info.url}/aigw/history?${query}`, {
    headers: { authorization: `Bearer ${info.admin_token}` },
    signal: AbortSignal.any([signal, AbortSignal.timeout(HISTORY_TIMEOUT_MS)]),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  // The gateway filters too; checking again keeps an older gateway's unfiltered answer honest.
  return parseHistory(await res.json()).rows.filter((r) => matches(r, opts));
}

function matches(r: UsageRecord, opts: TailOptions): boolean {
  if (opts.client && (r.client ?? "anonymous") !== opts.client) return false;
  if (opts.model && r.requested_model !== opts.model && `${r.provider}/${r.upstream_model}` !== opts.model)
    return false;
  if (opts.errors && r.status < 400 && !r.error_type) return false;
  return true;
}

/** One line per request, coloured by outcome. */
export function tailLine(r: UsageRecord): string {
  const failed = r.status >= 400 || r.error_type !== null;
  const status = failed ? chalk.red(String(r.status)) : chalk.green(String(r.status));
  const target = r.provider ? `${r.provider}/${r.upstream_model}` : "-";
  const tokens =
    r.input_tokens === null ? "" : `${formatCount(r.input_tokens)}→${formatCount(r.output_tokens)} tok`;
  return [
    chalk.dim(formatClock(r.started_at)),
    status,
    (r.client ?? "anonymous").padEnd(10),
    `${r.requested_model ?? "-"} → ${target}`,
    r.stream ? "stream" : "",
    r.cache === "HIT" ? chalk.cyan("HIT") : "",
    formatMs(r.latency_ms),
    tokens,
    r.cost_usd === null ? "" : formatUsd(r.cost_usd),
    r.error_type ? chalk.red(r.error_type) : "",
  ]
    .filter(Boolean)
    .join("  ");
}
