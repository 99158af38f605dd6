/**
 * The request path driven with plain calls: a scripted provider (a remote provider's stand-in), a
 * ManualClock for every wait, a real SQLite usage log. Every exit path leaves exactly one row, and
 * permits and in-flight counts back at zero.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseConfig } from "../config/load.js";
import type { ConfigInput } from "../config/schema.js";
import { GatewayError } from "../errors.js";
import type { Provider, UpstreamCall, UpstreamResponse } from "../providers/types.js";
import { type Db, openDb } from "../store/db.js";
import { createKeyStore } from "../store/keys.js";
import { createResponseCache } from "../store/response-cache.js";
import { loadMasterKey } from "../store/secrets.js";
import { createUsageLog, type UsageLog } from "../store/usage-log.js";
import { noCacheHints } from "./cache.js";
import { createGateway, type Gateway, type GatewayRequest } from "./index.js";
import { ManualClock } from "./limits/index.js";

type Reply = (call: UpstreamCall) => Promise<UpstreamResponse> | UpstreamResponse;

/** A provider whose answers the test scripts; unscripted calls get a short JSON answer. */
function scriptedProvider(name: string) {
  const replies: Reply[] = [];
  const calls: UpstreamCall[] = [];
  const provider: Provider = {
    name,
    type: "openai-compatible",
    formats: ["openai"],
    routes: ["chat", "embeddings"],
    needsKey: false,
    keyEnv: "S_API_KEY",
    baseUrl: "http://127.0.0.1:9/v1",
    async send(call) {
      calls.push(call);
      return (replies.shift() ?? (() => answer("hello")))(call);
    },
    probe: async () => answer("ok"),
    close: async () => {},
  };
  return { provider, calls, script: (...r: Reply[]) => replies.push(...r) };
}

const bytes = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value));

async function* once(chunk: Uint8Array) {
  yield chunk;
}

function answer(text: string, status = 200): UpstreamResponse {
  const body =
    status === 200
      ? {
          id: "c1",
          object: "chat.completion",
          model: "m",
          choices: [{ index: 0, message: { role: "assistant", content: text }, finish_reason: "stop" }],
          usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 },
        }
      : { error: { message: text, type: "server_error", param: null, code: null } };
  return { status, headers: { "content-type": "application/json" }, body: once(bytes(body)) };
}

/** An answer that waits until the test lets it go. */
function held(): { reply: Reply; release: () => void } {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return { reply: () => gate.then(() => answer("held")), release };
}

const chunk = (content: string) =>
  bytes(
    `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content } }] })}\n\n`,
  );

let dir: string;
let db: Db;
let usage: UsageLog;
let clock: ManualClock;
let gw: Gateway;
let s: ReturnType<typeof scriptedProvider>;

function start(config: ConfigInput = {}) {
  const parsed = parseConfig(
    {
      providers: {
        s: { type: "openai-compatible", base_url: "http://127.0.0.1:9/v1", limits: { concurrency: 1 } },
      },
      cache: { enabled: false },
      retry: { max_attempts: 2, backoff: 100 },
      ...config,
    },
    "test",
  );
  s = scriptedProvider("s");
  gw = createGateway({
    config: parsed,
    usage,
    providers: new Map([["s", s.provider]]),
    responseCache: createResponseCache(db, { maxBytes: 1e6, clock: () => clock.now() }),
    env: {},
    clock,
    timers: clock,
    log: () => {},
  });
  gw.budgets.load();
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "aigw-pipeline-"));
  db = openDb(join(dir, "aigw.db"));
  usage = createUsageLog(db);
  clock = new ManualClock(1_700_000_000_000);
});

afterEach(async () => {
  await gw.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

function request(body: Record<string, unknown> = {}, signal = new AbortController().signal): GatewayRequest {
  return {
    id: `req_${Math.random().toString(36).slice(2)}`,
    route: "chat",
    body: { model: "s/m", messages: [{ role: "user", content: "hi" }], ...body },
    headers: {},
    query: "",
    client: null,
    allowedModels: null,
    tags: null,
    cacheHints: noCacheHints,
    signal,
  };
}

/** Lets the event loop run and the clock move until `p` settles (bounded: 200 turns). */
async function drive<T>(p: Promise<T>): Promise<T> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let turn = 0; turn < 200 && !done; turn++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(1000);
  }
  return p;
}

const rows = () => usage.recent(100).reverse();

/** Nothing held after the request: permits, queues and in-flight counts at zero. */
function expectNothingHeld() {
  for (const l of gw.limiters.status()) expect([l.inFlight, l.queueDepth]).toEqual([0, 0]);
  expect(gw.order.busy("s/m")).toBe(0);
}

describe("Pipeline", () => {
  it("an answer: one row, priced, nothing held", async () => {
    start({ pricing: { "s/*": { input: 1, output: 1 } } });
    const res = await gw.pipeline.handle(request());
    expect(res.status).toBe(200);
    expect(res.headers["x-aigw-attempts"]).toBe("1");
    expect(rows()).toMatchObject([
      { status: 200, error_type: null, input_tokens: 3, output_tokens: 2, cost_usd: 5e-6 },
    ]);
    expectNothingHeld();
  });

  it("an upstream error after retries: one row, the circuit counted, nothing held", async () => {
    start();
    s.script(
      () => answer("down", 503),
      () => answer("down", 503),
    );
    const err = await drive(gw.pipeline.handle(request())).catch((e) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect(err.status).toBe(502);
    expect(err.message).toBe("s/m answered HTTP 503: down after 2 tries");
    expect(err.headers["x-aigw-attempts"]).toBe("2");
    expect(rows()).toMatchObject([{ status: 502, attempts: 2 }]);
    expect(gw.breaker.status().s?.failures).toBe(2);
    expectNothingHeld();
  });

  it("a bug of ours while sending is a 500, never retried, never counted against the circuit", async () => {
    start();
    s.script(() => {
      throw new RangeError("Maximum call stack size exceeded");
    });
    const err = await drive(gw.pipeline.handle(request())).catch((e) => e);
    expect(err.status).toBe(500);
    expect(s.calls).toHaveLength(1);
    expect(gw.breaker.status().s?.failures ?? 0).toBe(0);
    expect(rows()).toMatchObject([{ status: 500, error_type: "api_error" }]);
    expectNothingHeld();
  });

  it("a client that leaves while queued: one row, its queue place given back", async () => {
    start();
    const first = held();
    s.script(first.reply);
    const leading = gw.pipeline.handle(request());
    const leaving = new AbortController();
    const queued = gw.pipeline.handle(request({}, leaving.signal));
    await new Promise((r) => setImmediate(r));
    expect(gw.limiters.status()[0]?.queueDepth).toBe(1);
    leaving.abort();
    const err = await queued.catch((e) => e);
    expect(err.status).toBe(499);
    first.release();
    await leading;
    expect(rows().map((r) => [r.status, r.error_type, r.aborted])).toEqual([
      [499, "client_aborted", true],
      [200, null, false],
    ]);
    expectNothingHeld();
  });

  it("answers once the row is committed: another connection sees it when a response or a stream ends", async () => {
    start({ retry: { max_attempts: 1 } });
    const other = openDb(join(dir, "aigw.db"));
    try {
      const committed = other.prepare("SELECT COUNT(*) FROM usage").pluck();
      s.script(
        () => answer("json"),
        () => ({
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body: (async function* () {
            yield chunk("one");
            yield bytes("data: [DONE]\n\n");
          })(),
        }),
      );
      await gw.pipeline.handle(request());
      expect(committed.get()).toBe(1);
      const res = await gw.pipeline.handle(request({ stream: true }));
      for await (const _ of res.stream!) expect(committed.get()).toBe(1);
      expect(committed.get()).toBe(2);
      const unknown = await gw.pipeline.handle(request({ model: "nope/m" })).catch((e) => e);
      expect(unknown).toMatchObject({ status: 404 });
      expect(committed.get()).toBe(3);
    } finally {
      other.close();
    }
  });

  it("a client that leaves mid-stream: one row marked aborted, with what was counted", async () => {
    start();
    s.script(() => ({
      status: 200,
      headers: { "content-type": "text/event-stream" },
      body: (async function* () {
        yield chunk("one");
        yield chunk("two");
        await new Promise(() => {}); // the upstream stalls; the client gives up
      })(),
    }));
    const res = await gw.pipeline.handle(request({ stream: true }));
    const it = res.stream![Symbol.asyncIterator]();
    expect(Buffer.from((await it.next()).value!).toString()).toContain("one");
    expect(gw.order.busy("s/m")).toBe(1);
    await it.return!();
    expect(rows()).toMatchObject([
      { status: 200, error_type: "client_aborted", aborted: true, stream: true },
    ]);
    expectNothingHeld();
  });

  it("a cache hit and a coalesced follower: a row each, one upstream call", async () => {
    start({ cache: { enabled: true } });
    const leader = held();
    s.script(leader.reply);
    const first = gw.pipeline.handle(request());
    const follower = gw.pipeline.handle(request());
    await new Promise((r) => setImmediate(r));
    leader.release();
    await Promise.all([first, follower]);
    const hit = await gw.pipeline.handle(request());
    expect(hit.headers["x-aigw-cache"]).toBe("HIT");
    expect(s.calls).toHaveLength(1);
    expect(rows().map((r) => [r.cache, r.coalesced])).toEqual([
      ["MISS", false],
      ["HIT", true],
      ["HIT", false],
    ]);
    expectNothingHeld();
  });

  it("a spent budget: one row with budget_exceeded and no upstream call", async () => {
    start({ pricing: { "s/*": { input: 1_000_000, output: 1_000_000 } }, budgets: { daily_usd: 1 } });
    await gw.pipeline.handle(request());
    const err = await gw.pipeline.handle(request()).catch((e) => e);
    expect(err).toMatchObject({ status: 429, type: "budget_exceeded" });
    expect(s.calls).toHaveLength(1);
    expect(rows().map((r) => [r.status, r.error_type])).toEqual([
      [200, null],
      [429, "budget_exceeded"],
    ]);
    expectNothingHeld();
  });

  it("a request refused before it was parsed: one row, attempts 0 on the error", () => {
    start();
    const err = gw.pipeline.reject(
      { id: "req_x", route: "chat", client: null },
      new GatewayError(400, "invalid_request_error", "bad JSON"),
    );
    expect(err.headers).toMatchObject({ "x-aigw-request-id": "req_x", "x-aigw-attempts": "0" });
    expect(rows()).toMatchObject([{ id: "req_x", status: 400 }]);
  });
});

describe("a request right after the start", () => {
  it("is priced: answered once the price table (loading since the start) is in", async () => {
    const openai = scriptedProvider("openai");
    openai.script(
      () => answer("early"),
      () => ({
        status: 200,
        headers: { "content-type": "text/event-stream" },
        body: (async function* () {
          yield chunk("early");
          yield bytes(
            `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } })}\n\n`,
          );
          yield bytes("data: [DONE]\n\n");
        })(),
      }),
    );
    gw = createGateway({
      config: parseConfig({ cache: { enabled: false } }, "test"),
      usage,
      providers: new Map([["openai", openai.provider]]),
      env: {},
      discoverModels: false,
      log: () => {},
    });
    const warm = gw.warmUp(); // as `aigw start` does right after listening, not awaited
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
    const res = await gw.pipeline.handle(request(body));
    expect(Number(res.headers["x-aigw-cost-usd"])).toBeGreaterThan(0);
    const streamed = await gw.pipeline.handle(
      request({ ...body, stream: true, stream_options: { include_usage: true } }),
    );
    for await (const _ of streamed.stream!);
    await warm;
    expect(rows().map((r) => [r.output_tokens, (r.cost_usd ?? 0) > 0])).toEqual([
      [2, true],
      [2, true],
    ]);
  });
});

describe("the price table", () => {
  it("loads once a key added to a running gateway makes a priced provider usable", async () => {
    const openai = scriptedProvider("openai");
    (openai.provider as { needsKey: boolean }).needsKey = true;
    const store = createKeyStore(db);
    const master = loadMasterKey(join(dir, "master.key"), { create: true })!;
    gw = createGateway({
      config: parseConfig({ cache: { enabled: false } }, "test"),
      usage,
      providers: new Map([["openai", openai.provider]]),
      keys: store,
      loadMaster: () => master,
      env: {},
      discoverModels: false,
      log: () => {},
    });
    await gw.warmUp();
    const body = { model: "openai/gpt-4o-mini", messages: [{ role: "user", content: "hi" }] };
    const refused = await gw.pipeline.handle(request(body)).catch((e) => e);
    expect(refused.message).toMatch(/no API key for provider "openai"/);

    store.add({ provider: "openai", secret: "sk-new" }, master, Date.now());
    gw.reload(); // as the running gateway does when `aigw keys add` changes the database
    const res = await gw.pipeline.handle(request(body));
    expect(openai.calls).toHaveLength(1);
    // Priced: the load the reload started was waited for (not logged unpriced).
    expect(Number(res.headers["x-aigw-cost-usd"])).toBeGreaterThan(0);
  });
});
