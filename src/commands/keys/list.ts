import chalk from "chalk";
import { Command } from "commander";
import { maskSecret } from "../../store/secrets.js";
import { formatClock, formatCount } from "../../ui/format.js";
import { renderTable } from "../table.js";
import { type KeysContext, keysContext, startOfToday } from "./context.js";

export interface KeyRow {
  id: string;
  provider: string;
  label: string | null;
  source: "stored" | "env";
  masked: string;
  state: "ok" | "cooling" | "invalid" | "disabled";
  cooling_until: string | null;
  rpm: number | null;
  tpm: number | null;
  requests_today: number;
  tokens_today: number;
  last_used_at: string | null;
  last_error: string | null;
}

export const listCommand = new Command("list")
  .description("stored and environment keys, masked, with their state and today's use")
  .option("--json", "print JSON (never the secrets)")
  .action(async (opts: { json?: boolean }, command: Command) => {
    const ctx = await keysContext(command, { existing: true });
    try {
      const rows = collectKeys(ctx, Date.now());
      if (opts.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else process.stdout.write(keysTable(rows));
    } finally {
      await ctx.close();
    }
  });

/** Pure data for `keys list`: stored keys, then env keys of providers with none stored. */
export function collectKeys(ctx: KeysContext, now: number): KeyRow[] {
  const use = ctx.store.usageSince(startOfToday(new Date(now)));
  const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);
  const stored: KeyRow[] = ctx.store.list().map((k) => ({
    id: k.id,
    provider: k.provider,
    label: k.label,
    source: "stored",
    masked: k.masked,
    state: k.disabled ? "disabled" : k.invalid ? "invalid" : (k.cooldown_until ?? 0) > now ? "cooling" : "ok",
    cooling_until: (k.cooldown_until ?? 0) > now ? iso(k.cooldown_until) : null,
    rpm: k.rpm,
    tpm: k.tpm,
    requests_today: use.get(k.id)?.requests ?? 0,
    tokens_today: use.get(k.id)?.tokens ?? 0,
    last_used_at: iso(use.get(k.id)?.last_used_at),
    last_error: k.last_error,
  }));
  const withStored = new Set(stored.filter((k) => k.state !== "disabled").map((k) => k.provider));
  const env: KeyRow[] = [];
  for (const provider of ctx.providers.values()) {
    const secret = process.env[provider.keyEnv];
    if (!secret || withStored.has(provider.name)) continue;
    const id = `env:${provider.keyEnv}`;
    env.push({
      id,
      provider: provider.name,
      label: provider.keyEnv,
      source: "env",
      masked: maskSecret(secret),
      state: "ok",
      cooling_until: null,
      rpm: null,
      tpm: null,
      requests_today: use.get(id)?.requests ?? 0,
      tokens_today: use.get(id)?.tokens ?? 0,
      last_used_at: iso(use.get(id)?.last_used_at),
      last_error: null,
    });
  }
  return [...stored, ...env];
}

function keysTable(rows: KeyRow[]): string {
  if (!rows.length) return "no keys: add one with `aigw keys add <provider>`, or set <PROVIDER>_API_KEY\n";
  const state = (r: KeyRow) =>
    r.state === "ok"
      ? chalk.green("ok")
      : r.state === "cooling"
        ? chalk.yellow(`cooling until ${formatClock(Date.parse(r.cooling_until!))}`)
        : r.state === "invalid"
          ? chalk.red("invalid")
          : chalk.dim("disabled");
  return renderTable(
    [
      { header: "id" },
      { header: "provider" },
      { header: "label" },
      { header: "key" },
      { header: "state" },
      { header: "req today", align: "right" },
      { header: "tok today", align: "right" },
      { header: "last used" },
      { header: "last error" },
    ],
    rows.map((r) => [
      r.id,
      r.provider,
      r.label ?? "",
      r.masked,
      state(r),
      formatCount(r.requests_today),
      formatCount(r.tokens_today),
      r.last_used_at ? formatClock(Date.parse(r.last_used_at)) : "-",
      r.last_error ? chalk.dim(r.last_error.slice(0, 40)) : "",
    ]),
  );
}
