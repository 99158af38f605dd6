import { spawnSync } from "node:child_process";
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

describe("UsageLog.queue (the gateway's write)", () => {
  const turn = () => new Promise<void>((r) => setImmediate(r));
  const walFrames = () => (db.pragma("wal_checkpoint(TRUNCATE)") as { log: number }[])[0]!.log;

  it("commits the rows of one turn together right after it, seen by another connection", async () => {
    const other = openDb(join(dir, "aigw.db"));
    try {
      const count = other.prepare("SELECT COUNT(*) FROM usage").pluck();
      for (let i = 0; i < 3; i++) log.queue(row(`q${i}`));
      expect(count.get()).toBe(0);
      await turn();
      expect(count.get()).toBe(3);
    } finally {
      other.close();
    }
  });

  it("writes each WAL page once per turn, not once per row", async () => {
    walFrames();
    for (let i = 0; i < 50; i++) log.insert(row(`i${i}`));
    const oneByOne = db.pragma("wal_checkpoint(PASSIVE)") as { log: number }[];
    walFrames();
    for (let i = 0; i < 50; i++) log.queue(row(`q${i}`));
    await turn();
    const together = db.pragma("wal_checkpoint(PASSIVE)") as { log: number }[];
    expect(oneByOne[0]!.log).toBeGreaterThanOrEqual(100);
    expect(together[0]!.log).toBeLessThan(10);
    expect(log.count()).toBe(100);
  });

  it("readers here and flush() see queued rows at once; a row that cannot be written loses no other", async () => {
    const messages: string[] = [];
    const own = createUsageLog(db, { log: (m) => messages.push(m) });
    own.queue(row("r1", { response_id: "resp_1" }));
    expect(own.responseOrigin("resp_1")).toMatchObject({ provider: "openai" });
    own.queue(row("good1"));
    own.queue(row("bad", { status: null as unknown as number }));
    own.queue(row("good2"));
    await turn();
    expect(own.latest({ limit: 10 }).map((r) => r.id)).toEqual(["good2", "good1", "r1"]);
    expect(messages).toEqual([expect.stringMatching(/^usage row bad not written: NOT NULL/)]);
    own.queue(row("last"));
    own.flush();
    db.close();
    await turn(); // the scheduled commit finds nothing left, and a closed database does not throw
    db = openDb(join(dir, "aigw.db"));
    expect(createUsageLog(db).count()).toBe(4);
  });
});

describe("UsageLog.queue when the process ends mid-turn", () => {
  // A real child process: queues a row, then exits before its turn ends (exit, or an uncaught error).
  const child = (end: string) =>
    spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `import { openDb } from "./src/store/db.ts";
         import { createUsageLog } from "./src/store/usage-log.ts";
         const log = createUsageLog(openDb(process.argv[1]));
         log.queue({ id: "last", started_at: 1, route: "chat", status: 200, cache: "MISS", attempts: 1,
                     latency_ms: 1, stream: false, aborted: false, coalesced: false });
         ${end}`,
        join(dir, "aigw.db"),
      ],
      { cwd: join(import.meta.dirname, "../.."), encoding: "utf8", timeout: 20_000 },
    );

  it.each([
    ["process.exit(3)", 3],
    ["throw new Error('boom')", 1],
  ])("commits the queued row on the way out: %s", (end, code) => {
    const r = child(end);
    expect(r.status, r.stderr).toBe(code);
    expect(log.latest({ limit: 5 }).map((x) => x.id)).toEqual(["last"]);
  });
});
