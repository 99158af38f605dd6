import chalk from "chalk";
import { Command } from "commander";
import { CliError } from "../cli-error.js";
import { renderTable } from "../table.js";
import { keysContext, providerNamed } from "./context.js";

interface Probe {
  id: string;
  provider: string;
  ok: boolean;
  status: number | null;
  detail: string;
  ms: number;
}

export const testCommand = new Command("test")
  .description("check each key with the provider's cheapest call (listing models)")
  .argument("[provider]", "only this provider's keys")
  .option("--json", "print JSON")
  .action(async (only: string | undefined, opts: { json?: boolean }, command: Command) => {
    const ctx = await keysContext(command);
    try {
      if (only) providerNamed(ctx, only);
      const stored = ctx.store.list().filter((k) => !k.disabled && (!only || k.provider === only));
      const targets: { id: string; provider: string; secret: string; stored: boolean }[] = [];
      if (stored.length) {
        const { loadMasterKey } = await import("../../store/secrets.js");
        const master = loadMasterKey(ctx.paths.masterKey, { create: false });
        if (!master)
          throw new CliError("keys are stored but no master key was found (AIGW_MASTER_KEY or master.key)");
        const secrets = ctx.store.secrets(master);
        for (const k of stored)
          targets.push({ id: k.id, provider: k.provider, secret: secrets.get(k.id)!, stored: true });
      }
      for (const p of ctx.providers.values()) {
        const secret = process.env[p.keyEnv];
        if (secret && (!only || p.name === only) && !stored.some((k) => k.provider === p.name)) {
          targets.push({ id: `env:${p.keyEnv}`, provider: p.name, secret, stored: false });
        }
      }
      if (!targets.length)
        throw new CliError(
          `no keys to test${only ? ` for ${only}` : ""}`,
          "add one with: aigw keys add <provider>",
        );
      const results: Probe[] = [];
      for (const t of targets) {
        const result = await probe(ctx.providers.get(t.provider)!, t);
        if (t.stored && (result.status === 401 || result.status === 403))
          ctx.store.markInvalid(t.id, `${result.status}: ${result.detail}`);
        results.push(result);
      }
      if (opts.json) process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
      else {
        const rows = results.map((r) => [
          r.id,
          r.provider,
          r.ok ? chalk.green("ok") : chalk.red("failed"),
          String(r.status ?? "-"),
          `${r.ms}ms`,
          r.detail,
        ]);
        process.stdout.write(
          renderTable(
            [
              { header: "id" },
              { header: "provider" },
              { header: "result" },
              { header: "status" },
              { header: "time" },
              { header: "detail" },
            ],
            rows,
          ),
        );
      }
      if (results.some((r) => !r.ok)) process.exitCode = 1;
    } finally {
      await ctx.close();
    }
  });

async function probe(
  provider: import("../../providers/types.js").Provider,
  t: { id: string; provider: string; secret: string },
): Promise<Probe> {
  const started = Date.now();
  try {
    const res = await provider.probe(t.secret, AbortSignal.timeout(10_000));
    let body = "";
    for await (const chunk of res.body) body += Buffer.from(chunk).toString("utf8");
    const ok = res.status < 400;
    let detail = ok ? "key accepted" : `HTTP ${res.status}`;
    try {
      const message = (JSON.parse(body) as { error?: { message?: string } }).error?.message;
      if (!ok && message) detail = message.replaceAll(t.secret, "[key]").slice(0, 120);
    } catch {
      // Not JSON: keep the status line.
    }
    return { id: t.id, provider: t.provider, ok, status: res.status, detail, ms: Date.now() - started };
  } catch (err) {
    const detail = (err as { code?: string }).code ?? (err as Error).message;
    return {
      id: t.id,
      provider: t.provider,
      ok: false,
      status: null,
      detail: `unreachable (${detail})`,
      ms: Date.now() - started,
    };
  }
}
