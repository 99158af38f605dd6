/** Fills a usage log with N realistic rows (for timing `aigw stats` on a large log). */
import { join } from "node:path";
import { openDb } from "../src/store/db.js";
import { createUsageLog, type UsageRecord } from "../src/store/usage-log.js";

export function generateUsageLog(home: string, rows: number, now = Date.now()): void {
  const db = openDb(join(home, "aigw.db"));
  const log = createUsageLog(db);
  const models = ["gpt-4o-mini", "gpt-4o", "claude-haiku-4-5", "claude-sonnet-4-6", "llama3.2", "smart"];
  const providers = ["openai", "openai", "anthropic", "anthropic", "ollama", "openai"];
  const clients = [null, "web", "batch", "ci", "alice"];
  const span = 30 * 86_400_000;
  const insertAll = db.transaction((n: number) => {
    for (let i = 0; i < n; i++) {
      const m = i % models.length;
      const input = 100 + (i % 900);
      const output = 20 + (i % 300);
      const record: UsageRecord = {
        id: `req_${i.toString(36)}`,
        started_at: now - span + Math.floor((i / n) * span),
        client: clients[i % clients.length] ?? null,
        route: "chat",
        requested_model: models[m]!,
        provider: providers[m]!,
        upstream_model: models[m]!,
        key_id: `key_${i % 3}`,
        status: i % 50 === 0 ? 502 : 200,
        error_type: i % 50 === 0 ? "upstream_error" : null,
        stream: i % 2 === 0,
        cache: i % 7 === 0 ? "HIT" : "MISS",
        attempts: 1,
        fallback_from: null,
        queue_wait_ms: null,
        ttfb_ms: 50 + (i % 400),
        latency_ms: 100 + ((i * 7919) % 2000),
        input_tokens: input,
        cached_input_tokens: 0,
        cache_write_tokens: 0,
        output_tokens: output,
        cost_usd: m === 4 ? 0 : (input * 2.5 + output * 10) / 1e6,
        saved_usd: i % 7 === 0 ? 0.001 : null,
        tags: null,
        aborted: false,
        coalesced: false,
      };
      log.insert(record);
    }
  });
  insertAll(rows);
  db.close();
}
