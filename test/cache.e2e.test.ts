/**
 * The response cache through the official SDKs: hits, streams sharing entries with JSON answers,
 * per-request headers, TTL on an injected clock, single-flight, replay mode, and the CLI.
 */
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { runCli, startTestGateway, type TestGateway, tempHome } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let now = Date.now();
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeUpstream({ chunks: 4 });
});
afterAll(() => fake.close());

beforeEach(async () => {
  fake.reset();
  now = Date.now();
  gw = await startTestGateway({
    clock: { now: () => now },
    config: {
      providers: {
        oa: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
        an: { type: "anthropic", base_url: fake.anthropicBaseUrl },
      },
      pricing: { "oa/*": { input: 1, output: 2 } },
      cache: { enabled: true, ttl: "1h" },
    },
    env: { AN_API_KEY: "sk-ant" },
  });
  openai = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "x", baseURL: gw.url, maxRetries: 0 });
});
afterEach(() => gw.close());

const question = (content = "what is two plus two") => [{ role: "user" as const, content }];

describe("the response cache", () => {
  it("answers a repeat from the cache: one upstream call, HIT, age, cost 0 and the saving logged", async () => {
    const first = await openai.chat.completions
      .create({ model: "oa/m", messages: question() })
      .withResponse();
    const second = await openai.chat.completions
      .create({ model: "oa/m", messages: question() })
      .withResponse();
    expect(fake.requests).toHaveLength(1);
    expect(first.response.headers.get("x-aigw-cache")).toBe("MISS");
    expect(second.response.headers.get("x-aigw-cache")).toBe("HIT");
    expect(second.response.headers.get("age")).toBe("0");
    expect(second.response.headers.get("x-aigw-provider")).toBe("oa/m");
    expect(second.data).toEqual(first.data);
    const [miss, hit] = gw.rows();
    expect(miss).toMatchObject({ cache: "MISS", saved_usd: null });
    expect(miss!.cost_usd).toBeGreaterThan(0);
    expect(hit).toMatchObject({ cache: "HIT", cost_usd: 0, saved_usd: miss!.cost_usd, status: 200 });
  });

  it("shares one entry between a streamed and a plain request, both ways, parsed by the SDK", async () => {
    const streamed = await openai.chat.completions
      .stream({ model: "oa/m", messages: question("stream first") })
      .finalChatCompletion();
    const plain = await openai.chat.completions.create({ model: "oa/m", messages: question("stream first") });
    expect(plain.choices[0]?.message.content).toBe(streamed.choices[0]?.message.content);

    await openai.chat.completions.create({ model: "oa/m", messages: question("plain first") });
    const replayed = await openai.chat.completions
      .stream({ model: "oa/m", messages: question("plain first"), stream_options: { include_usage: true } })
      .finalChatCompletion();
    expect(replayed.choices[0]?.message.content).toBe("Echo: plain first");
    expect(replayed.usage?.total_tokens).toBeGreaterThan(0);
    expect(fake.requests).toHaveLength(2);
  });

  it("replays an Anthropic stream as the full event sequence", async () => {
    const ask = () =>
      anthropic.messages
        .stream({ model: "an/claude-haiku-4-5", max_tokens: 50, messages: question() })
        .finalMessage();
    const first = await ask();
    const second = await ask();
    expect(second.content).toEqual(first.content);
    expect(second.stop_reason).toBe("end_turn");
    expect(fake.requests).toHaveLength(1);
    expect(gw.rows()[1]).toMatchObject({ cache: "HIT", stream: true });
  });

  it("ignores key order and fields that do not change the answer, but not ones that do", async () => {
    const post = (body: string) =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    await post('{"model":"oa/m","temperature":0,"messages":[{"role":"user","content":"order"}],"user":"a"}');
    const reordered = await post(
      '{"user":"b","messages":[{"content":"order","role":"user"}],"temperature":0,"model":"oa/m"}',
    );
    expect(reordered.headers.get("x-aigw-cache")).toBe("HIT");
    const warmer = await post(
      '{"model":"oa/m","temperature":1,"messages":[{"role":"user","content":"order"}]}',
    );
    expect(warmer.headers.get("x-aigw-cache")).toBe("MISS");
    expect(fake.requests).toHaveLength(2);
  });

  it("honours no-store (neither), no-cache (skip lookup, still store) and namespaces", async () => {
    const ask = (headers: Record<string, string>) =>
      openai.chat.completions
        .create({ model: "oa/m", messages: question("headers") }, { headers })
        .withResponse();
    expect((await ask({ "cache-control": "no-store" })).response.headers.get("x-aigw-cache")).toBe("BYPASS");
    expect((await ask({})).response.headers.get("x-aigw-cache")).toBe("MISS"); // no-store stored nothing
    // no-cache skips the lookup but stores the fresh answer: a MISS.
    expect((await ask({ "cache-control": "no-cache" })).response.headers.get("x-aigw-cache")).toBe("MISS");
    expect((await ask({})).response.headers.get("x-aigw-cache")).toBe("HIT");
    expect((await ask({ "x-aigw-cache-namespace": "branch-a" })).response.headers.get("x-aigw-cache")).toBe(
      "MISS",
    );
    expect((await ask({ "x-aigw-cache-namespace": "branch-a" })).response.headers.get("x-aigw-cache")).toBe(
      "HIT",
    );
    expect(fake.requests).toHaveLength(4);
  });

  it("expires entries after their TTL (config or x-aigw-cache-ttl), on the injected clock", async () => {
    const ask = (headers: Record<string, string> = {}) =>
      openai.chat.completions
        .create({ model: "oa/m", messages: question("ttl") }, { headers })
        .withResponse();
    await ask({ "x-aigw-cache-ttl": "60" });
    now += 59_000;
    expect((await ask()).response.headers.get("x-aigw-cache")).toBe("HIT");
    now += 2_000;
    expect((await ask()).response.headers.get("x-aigw-cache")).toBe("MISS");
    now += 3_599_000;
    expect((await ask()).response.headers.get("x-aigw-cache")).toBe("HIT");
    now += 2_000;
    expect((await ask()).response.headers.get("x-aigw-cache")).toBe("MISS");
  });

  it("never stores an upstream error or a stream cut short", async () => {
    fake.script({ status: 400, message: "bad" });
    await openai.chat.completions.create({ model: "oa/m", messages: question("err") }).catch(() => {});
    fake.script({ failMidStream: true });
    await (async () => {
      for await (const _ of await openai.chat.completions.create({
        model: "oa/m",
        messages: question("cut"),
        stream: true,
      }));
    })().catch(() => {});
    const again = [
      await openai.chat.completions.create({ model: "oa/m", messages: question("err") }).withResponse(),
      await openai.chat.completions.create({ model: "oa/m", messages: question("cut") }).withResponse(),
    ];
    expect(again.map((r) => r.response.headers.get("x-aigw-cache"))).toEqual(["MISS", "MISS"]);
    expect(fake.requests).toHaveLength(4);
  });

  it("makes one upstream call for 10 identical requests in flight at once", async () => {
    fake.script({ delayMs: 150 });
    const all = await Promise.all(
      Array.from({ length: 10 }, () =>
        openai.chat.completions.create({ model: "oa/m", messages: question("together") }).withResponse(),
      ),
    );
    expect(fake.requests).toHaveLength(1);
    expect(all.map((r) => r.response.headers.get("x-aigw-cache")).sort()).toEqual([
      ...Array(9).fill("HIT"),
      "MISS",
    ]);
    const rows = await gw.waitForRows(10);
    expect(rows.filter((r) => r.coalesced)).toHaveLength(9);
  });

  it("in replay mode answers only from the cache, and a miss is a clear cache_miss", async () => {
    await openai.chat.completions.create({ model: "oa/m", messages: question("recorded") });
    const headers = { "x-aigw-cache-mode": "replay" };
    const hit = await openai.chat.completions
      .create({ model: "oa/m", messages: question("recorded") }, { headers })
      .withResponse();
    expect(hit.response.headers.get("x-aigw-cache")).toBe("HIT");
    const err = await openai.chat.completions
      .create({ model: "oa/m", messages: question("never seen") }, { headers })
      .catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(err.error).toMatchObject({ type: "cache_miss" });
    expect(err.message).toMatch(/oa\/m/);
    expect(fake.requests).toHaveLength(1);
  });

  it("caches embeddings", async () => {
    await openai.embeddings.create({ model: "oa/embed", input: "vector me" });
    const again = await openai.embeddings.create({ model: "oa/embed", input: "vector me" }).withResponse();
    expect(again.response.headers.get("x-aigw-cache")).toBe("HIT");
    expect(again.data.data[0]?.embedding.length).toBe(8);
    expect(fake.requests).toHaveLength(1);
  });
});

describe("aigw cache (CLI)", () => {
  it("reports stats, exports, imports into another home, and clears", async () => {
    const home = tempHome();
    const other = tempHome();
    try {
      const cli = await startTestGateway({
        config: {
          providers: { oa: { type: "openai-compatible", base_url: fake.openaiBaseUrl } },
          cache: { enabled: true },
        },
        home: home.dir,
      });
      const client = new OpenAI({ apiKey: "x", baseURL: `${cli.url}/v1`, maxRetries: 0 });
      for (const q of ["a", "b", "a"])
        await client.chat.completions.create({ model: "oa/m", messages: question(q) });
      await cli.close();

      const stats = JSON.parse((await runCli(["cache", "stats", "--json"], { home: home.dir })).stdout);
      // The hit counted in memory reached the table when the gateway stopped.
      expect(stats).toMatchObject({ entries: 2, hits: 1, window: { requests: 3, hits: 1 } });
      const file = join(home.dir, "answers.ndjson");
      expect((await runCli(["cache", "export", file], { home: home.dir })).code).toBe(0);
      expect(readFileSync(file, "utf8").trim().split("\n")).toHaveLength(2);
      const imported = await runCli(["cache", "import", file], { home: other.dir });
      expect(imported.stdout).toBe("imported 2 entries\n");
      expect((await runCli(["cache", "clear", "--model", "oa/*"], { home: other.dir })).stdout).toBe(
        "deleted 2 cached answers, 0 stored responses\n",
      );
      expect(statSync(join(other.dir, "aigw.db")).size).toBeGreaterThan(0);

      // No filter: off a terminal it refuses (exit 2) and keeps everything; --yes deletes.
      const refused = await runCli(["cache", "clear"], { home: home.dir });
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/refusing to delete all 2 cached answers[\s\S]*--yes/);
      expect(
        JSON.parse((await runCli(["cache", "stats", "--json"], { home: home.dir })).stdout).entries,
      ).toBe(2);
      const yes = await runCli(["cache", "clear", "--yes"], { home: home.dir });
      expect([yes.code, yes.stdout]).toEqual([0, "deleted 2 cached answers, 0 stored responses\n"]);
    } finally {
      home.cleanup();
      other.cleanup();
    }
  });

  it("covers stored responses: counted by stats, cleared with the answers or on their own", async () => {
    const home = tempHome();
    try {
      const cli = await startTestGateway({
        config: { providers: { oa: { type: "openai-compatible", base_url: fake.openaiBaseUrl } } },
        home: home.dir,
      });
      const client = new OpenAI({ apiKey: "x", baseURL: `${cli.url}/v1`, maxRetries: 0 });
      const kept = await client.responses.create({ model: "oa/m", input: "keep me" });
      await client.responses.create({ model: "oa/n", input: "and me" });
      await cli.close();
      const run = (...args: string[]) => runCli(["cache", ...args], { home: home.dir });
      const storedCount = async () => JSON.parse((await run("stats", "--json")).stdout).stored_responses;

      expect(await storedCount()).toBe(2);
      expect((await run("clear", "--only", "answers")).stdout).toBe("deleted 0 cached answers\n");
      expect((await run("clear", "--model", "oa/n")).stdout).toBe(
        "deleted 0 cached answers, 1 stored response\n",
      );
      const refused = await run("clear");
      expect([refused.code, refused.stderr]).toEqual([
        2,
        expect.stringContaining("all 1 stored response without"),
      ]);
      expect((await run("clear", "--only", "responses", "--yes")).stdout).toBe("deleted 1 stored response\n");
      expect(await storedCount()).toBe(0);
      expect((await run("clear", "--only", "everything")).code).toBe(2);

      // A gateway on the cleared home no longer knows it: a 404 from aigw itself.
      const again = await startTestGateway({
        config: { providers: { oa: { type: "openai-compatible", base_url: fake.openaiBaseUrl } } },
        home: home.dir,
      });
      const sdk = new OpenAI({ apiKey: "x", baseURL: `${again.url}/v1`, maxRetries: 0 });
      await expect(sdk.responses.retrieve(kept.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      await again.close();
    } finally {
      home.cleanup();
    }
  });
});
