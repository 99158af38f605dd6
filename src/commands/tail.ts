import chalk from "chalk";
import { Command } from "commander";
import type { GatewayEvent } from "../gateway/events.js";
import type { UsageRecord } from "../store/usage-log.js";
import { formatClock, formatCount, formatMs, formatUsd } from "../ui/format.js";
import { homeOf } from "./common.js";
import { followEvents } from "./gateway-client.js";

interface TailOptions {
  json?: boolean;
  client?: string;
  model?: string;
  errors?: boolean;
}

export const tailCommand = new Command("tail")
  .description("print each request as it finishes, live from the running gateway")
  .option("--json", "one JSON usage record per line (NDJSON)")
  .option("--client <name>", "only this client's requests")
  .option("--model <model>", "only requests for this model (as requested, or provider/model)")
  .option("--errors", "only failed requests")
  .action(async (opts: TailOptions, command: Command) => {
    const paths = homeOf(command);
    const controller = new AbortController();
    process.once("SIGINT", () => controller.abort());
    await followEvents(
      paths,
      (type, data) => {
        if (type !== "request") return;
        const record = (data as Extract<GatewayEvent, { type: "request" }>).record;
        if (!matches(record, opts)) return;
        process.stdout.write(opts.json ? `${JSON.stringify(record)}\n` : `${tailLine(record)}\n`);
      },
      {
        signal: controller.signal,
        onState: (state, info) => {
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
