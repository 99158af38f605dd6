import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { usageRecord } from "../../test/usage-record.js";
import { type Db, openDb } from "./db.js";
import { createUsageLog, type UsageLog, type UsageRecord } from "./usage-log.js";

let dir: string;
let db: Db;
let log: UsageLog;
const T0 = Date.UTC(2026, 10, 20, 12, 0, 0);

const row = (id: string, over: Partial<UsageRecord> = {}): UsageRecord =>
  usageRecord({
    id,
    started_at: T0,
    requested_model: "fast",
    provider: "openai",
    upstream_model: "gpt-4o-mini",
    ...over,
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-usage-log-"));
  db = openDb(join(dir, "aigw.db"));
  log = createUsageLog(db);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("UsageLog.latest", () => {
  it("returns the most recently finished first, not the most recently started", () => {
    // A long stream that started first and finished last is the latest row.
    log.insert(row("a", { started_at: T0 + 10 }));
    log.insert(row("b", { started_at: T0 + 20 }));
    log.insert(row("long", { started_at: T0 }));
    expect(log.latest({ limit: 2 }).map((r) => r.id)).toEqual(["long", "b"]);
    expect(log.latest({ limit: 0 })).toEqual([]);
  });

  it("filters like aigw tail: client (anonymous = none), requested or answering model, errors", () => {
    log.insert(row("anon"));
    log.insert(row("web", { client: "web", requested_model: "gpt-4o-mini" }));
    log.insert(row("failed", { client: "web", status: 502, error_type: "upstream_error", cost_usd: null }));
    log.insert(row("truncated", { client: "ci", error_type: "upstream_truncated", stream: true }));
    const ids = (f: Parameters<UsageLog["latest"]>[0]) => log.latest(f).map((r) => r.id);
    expect(ids({ limit: 10, client: "anonymous" })).toEqual(["anon"]);
    expect(ids({ limit: 10, client: "web" })).toEqual(["failed", "web"]);
    expect(ids({ limit: 10, model: "openai/gpt-4o-mini" })).toEqual(["truncated", "failed", "web", "anon"]);
    expect(ids({ limit: 10, model: "gpt-4o-mini" })).toEqual(["web"]);
    expect(ids({ limit: 10, errors: true })).toEqual(["truncated", "failed"]);
    expect(ids({ limit: 10, errors: true, client: "web" })).toEqual(["failed"]);
    expect(log.latest({ limit: 1 })[0]).toMatchObject({ id: "truncated", stream: true, aborted: false });
  });
});

describe("UsageLog.spendByModelAndClient", () => {
  it("sums spend since a time per answering model and client, counting unpriced answers", () => {
    log.insert(row("yesterday", { started_at: T0 - 86_400_000, cost_usd: 5 }));
    log.insert(row("1", { client: "web", cost_usd: 0.25 }));
    log.insert(row("2", { client: "web", cost_usd: 0.5 }));
    log.insert(row("3", { cost_usd: 0.125 }));
    log.insert(row("unpriced", { provider: "groq", upstream_model: "llama", cost_usd: null }));
    log.insert(row("hit", { client: "web", cache: "HIT", cost_usd: 0 }));
    // Failures that never reached a price are not spending, and no provider falls back to the request.
    log.insert(row("failed", { provider: null, upstream_model: null, status: 404, cost_usd: null }));
    const spend = log.spendByModelAndClient(T0).sort((a, b) => a.model.localeCompare(b.model));
    expect(spend).toEqual([
      { model: "groq/llama", client: null, requests: 1, cost_usd: 0, unpriced: 1 },
      { model: "openai/gpt-4o-mini", client: null, requests: 1, cost_usd: 0.125, unpriced: 0 },
      { model: "openai/gpt-4o-mini", client: "web", requests: 3, cost_usd: 0.75, unpriced: 0 },
    ]);
  });
});

describe("UsageLog.responseOrigin", () => {
  it("names the provider, key and client of the latest row that got a response id", () => {
    log.insert(row("first", { route: "responses", key_id: "k1", client: "web", response_id: "resp_1" }));
    log.insert(row("again", { route: "responses", provider: "vllm", key_id: "k2", response_id: "resp_1" }));
    log.insert(row("chat", { key_id: "k3" }));
    expect(log.responseOrigin("resp_1")).toEqual({ provider: "vllm", key_id: "k2", client: null });
    expect(log.responseOrigin("resp_none")).toBeNull();
    // The id is the log's own column, read back with the row.
    expect(log.latest({ limit: 3 }).map((r) => r.response_id)).toEqual([null, "resp_1", "resp_1"]);
  });
});
