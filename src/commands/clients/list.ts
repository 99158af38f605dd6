import chalk from "chalk";
import { Command } from "commander";
import type { StoredClient } from "../../store/clients.js";
import { formatCount, formatUsd } from "../../ui/format.js";
import { renderTable } from "../table.js";
import { type ClientState, clientState, clientsContext, formatWhen } from "./context.js";

/** One client as `list` shows it: everything but the key and its hashes. */
export interface ClientRow {
  name: string;
  key_prefix: string;
  state: ClientState;
  rotating_until: string | null;
  revoked_at: string | null;
  rpm: number | null;
  tpm: number | null;
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  models: string[] | null;
  created_at: string;
}

export const listCommand = new Command("list")
  .description("clients with their key prefix, limits, budgets, models and state (never a key)")
  .option("--json", "print a JSON array")
  .addHelpText(
    "after",
    `
States: active; rotating (the key replaced by "rotate" still works until the time shown); revoked.

Examples:
  aigw clients list
  aigw clients list --json | jq '.[] | select(.state != "revoked") | .name'`,
  )
  .action(async (opts: { json?: boolean }, command: Command) => {
    const ctx = await clientsContext(command, { existing: true });
    try {
      const rows = ctx.store.list().map((c) => clientRow(c, Date.now()));
      process.stdout.write(opts.json ? `${JSON.stringify(rows, null, 2)}\n` : clientsTable(rows));
    } finally {
      ctx.close();
    }
  });

export function clientRow(c: StoredClient, now: number): ClientRow {
  const state = clientState(c, now);
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    name: c.name,
    key_prefix: c.key_prefix,
    state,
    rotating_until: state === "rotating" ? iso(c.previous_expires_at) : null,
    revoked_at: iso(c.revoked_at),
    rpm: c.rpm,
    tpm: c.tpm,
    daily_budget_usd: c.daily_budget_usd,
    monthly_budget_usd: c.monthly_budget_usd,
    models: c.models,
    created_at: new Date(c.created_at).toISOString(),
  };
}

function clientsTable(rows: ClientRow[]): string {
  if (!rows.length)
    return "no clients: /v1 is open to loopback callers. Require keys with: aigw clients add <name>\n";
  const state = (r: ClientRow) =>
    r.state === "active"
      ? chalk.green("active")
      : r.state === "revoked"
        ? chalk.dim("revoked")
        : chalk.yellow(`rotating until ${formatWhen(Date.parse(r.rotating_until!), true)}`);
  const money = (v: number | null) => (v === null ? "-" : formatUsd(v));
  const count = (v: number | null) => (v === null ? "-" : formatCount(v));
  const columns = [
    { header: "name" },
    { header: "key" },
    { header: "rpm", align: "right" as const },
    { header: "tpm", align: "right" as const },
    { header: "daily", align: "right" as const },
    { header: "monthly", align: "right" as const },
    { header: "models" },
    { header: "created" },
    { header: "state" },
  ];
  const table = rows.map((r) => [
    r.name,
    r.key_prefix,
    count(r.rpm),
    count(r.tpm),
    money(r.daily_budget_usd),
    money(r.monthly_budget_usd),
    r.models?.join(",") ?? "all",
    formatWhen(Date.parse(r.created_at)),
    state(r),
  ]);
  return renderTable(columns, table);
}
