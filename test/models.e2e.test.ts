/**
 * Model discovery: `GET /v1/models` and `/v1/models/{id}` through both official SDKs, fed by the
 * providers' own models endpoints (the fake upstream) in the background; `aigw models` on the CLI.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CatalogTimers } from "../src/gateway/model-catalog.js";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { runCli, startTestGateway, type TestGateway, tempHome } from "./helpers.js";

const OPENAI_KEY = "sk-upstream-openai-0001";
const ANTHROPIC_KEY = "sk-ant-upstream-0002";

/** Interval timers that fire only when the test says so. */
function manualTimers(): CatalogTimers & { fire(): void; active: number } {
  const fns = new Map<number, () => void>();
  let next = 0;
  return {
    setInterval(fn) {
      fns.set(++next, fn);
      return next;
    },
    clearInterval(handle) {
      fns.delete(handle as number);
    },
    fire() {
      for (const fn of fns.values()) fn();
    },
    get active() {
      return fns.size;
    },
  };
}

let fake: FakeUpstream;
let gw: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
const timers = manualTimers();
const modelCalls = () => fake.requests.filter((r) => r.path.endsWith("/models")).length;

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: [OPENAI_KEY, ANTHROPIC_KEY] });
  gw = await startTestGateway({
    discoverModels: true,
    catalogTimers: timers,
    config: {
      providers: {
        openai: { base_url: fake.openaiBaseUrl },
        anthropic: { base_url: fake.anthropicBaseUrl },
        // Nothing listens on port 9 (discard): an unreachable local server.
        down: { type: "openai-compatible", base_url: "http://127.0.0.1:9/v1" },
      },
      models: {
        fast: "openai/gpt-4o-mini",
        smart: { targets: ["anthropic/claude-sonnet-4-5", "down/llama3.2"], strategy: "fallback" },
      },
    },
    env: { OPENAI_API_KEY: OPENAI_KEY, ANTHROPIC_API_KEY: ANTHROPIC_KEY },
  });
  await gw.gateway.models.refresh(); // joins the refresh warmUp started
  openai = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  anthropic = new Anthropic({ apiKey: "unused", baseURL: gw.url, maxRetries: 0 });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

async function openaiIds(): Promise<string[]> {
  const ids: string[] = [];
  for await (const model of openai.models.list()) ids.push(model.id);
  return ids;
}

describe("GET /v1/models", () => {
  it("lists aliases and groups first, then each provider's own models as provider/model", async () => {
    const ids = await openaiIds();
    expect(ids.slice(0, 2)).toEqual(["fast", "smart"]);
    // From the fake's own lists (its OpenAI list has text-embedding-3-large, no built-in default does).
    expect(ids).toEqual(
      expect.arrayContaining([
        "openai/gpt-4o-mini",
        "openai/gpt-4.1-mini",
        "openai/text-embedding-3-large",
        "mock/echo",
        "mock/gpt-4o-mini",
      ]),
    );
    const fakeAnthropic = (await (
      await fetch(`${fake.anthropicBaseUrl}/v1/models`, {
        headers: { "x-api-key": ANTHROPIC_KEY, "anthropic-version": "2023-06-01" },
      })
    ).json()) as { data: { id: string }[] };
    for (const { id } of fakeAnthropic.data) expect(ids).toContain(`anthropic/${id}`);
    // The unreachable provider contributes what the config names; no wildcard ids anywhere.
    expect(ids).toContain("down/llama3.2");
    expect(ids.filter((id) => id.includes("*"))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("is the same list /aigw/status shows", async () => {
    const status = (await (
      await fetch(`${gw.url}/aigw/status`, { headers: { authorization: `Bearer ${gw.adminToken}` } })
    ).json()) as { models: { id: string; kind: string; source: string }[] };
    expect(status.models.map((m) => m.id)).toEqual(await openaiIds());
    expect(status.models[0]).toMatchObject({ id: "fast", kind: "alias", source: "config" });
    expect(status.models.find((m) => m.id === "openai/text-embedding-3-large")?.source).toBe("provider");
  });

  it("answers Anthropic's SDK in its shape with the same ids", async () => {
    const ids: string[] = [];
    for await (const model of anthropic.models.list()) {
      expect(model.type).toBe("model");
      expect(typeof model.created_at).toBe("string");
      ids.push(model.id);
    }
    expect(ids).toEqual(await openaiIds());
    const page = await anthropic.models.list();
    expect(page.data.find((m) => m.id === "smart")?.display_name).toBe(
      "smart → anthropic/claude-sonnet-4-5, down/llama3.2",
    );
  });

  it("never asks a provider on a request's path; refreshes when its timer fires", async () => {
    const before = modelCalls();
    await openaiIds();
    await anthropic.models.list();
    expect(modelCalls()).toBe(before);
    expect(timers.active).toBe(1);
    timers.fire();
    await gw.gateway.models.refresh();
    // openai and anthropic asked again (down is unreachable, mock is in-process).
    expect(modelCalls()).toBe(before + 2);
  });
});

describe("GET /v1/models/{id}", () => {
  it("retrieves ids with a slash through both SDKs (encoded) and raw (unencoded)", async () => {
    const model = await openai.models.retrieve("openai/gpt-4o-mini");
    expect(model).toMatchObject({ id: "openai/gpt-4o-mini", object: "model", owned_by: "openai" });
    expect(typeof model.created).toBe("number");
    const raw = await fetch(`${gw.url}/v1/models/openai/gpt-4o-mini`);
    expect(raw.status).toBe(200);
    expect(await raw.json()).toMatchObject({ id: "openai/gpt-4o-mini", object: "model" });
    const alias = await openai.models.retrieve("smart");
    expect(alias.owned_by).toBe("aigw");
    const claude = await anthropic.models.retrieve("anthropic/claude-sonnet-4-5");
    expect(claude).toMatchObject({ type: "model", id: "anthropic/claude-sonnet-4-5" });
  });

  it("answers a routable id that no list names, and 404s an unknown one in each SDK's shape", async () => {
    expect((await openai.models.retrieve("openai/gpt-9-preview")).id).toBe("openai/gpt-9-preview");
    const err = await openai.models.retrieve("nowhere/model").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(
      /nowhere\/model.*GET \/v1\/models/,
    );
    const aerr = await anthropic.models.retrieve("nowhere/model").catch((e: unknown) => e);
    expect(aerr).toBeInstanceOf(Anthropic.NotFoundError);
    expect((aerr as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({
      type: "error",
      error: { type: "not_found_error" },
    });
  });
});

describe("providers that cannot be asked", () => {
  it("contribute well-known names when they have no key, and in demo only the mock is listed", async () => {
    const keyless = await startTestGateway({
      discoverModels: true,
      config: { providers: { openai: { base_url: fake.openaiBaseUrl } } },
    });
    try {
      await keyless.gateway.models.refresh();
      const list = (await (await fetch(`${keyless.url}/v1/models`)).json()) as { data: { id: string }[] };
      const ids = list.data.map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining(["openai/gpt-4o", "anthropic/claude-sonnet-4-6"]));
      expect(ids).not.toContain("openai/text-embedding-3-large"); // only the fake lists that one
    } finally {
      await keyless.close();
    }
    const demo = await startTestGateway({ demo: true, discoverModels: true });
    try {
      await demo.gateway.models.refresh();
      const list = (await (await fetch(`${demo.url}/v1/models`)).json()) as { data: { id: string }[] };
      const ids = list.data.map((m) => m.id);
      expect(ids).toEqual([
        "mock/echo",
        "mock/gpt-4o-mini",
        "mock/gpt-4.1-mini",
        "mock/claude-haiku-4-5",
        "mock/claude-sonnet-4-6",
      ]);
      const retrieved = await fetch(`${demo.url}/v1/models/gpt-4o-mini`);
      expect(await retrieved.json()).toMatchObject({ id: "gpt-4o-mini", owned_by: "mock" });
    } finally {
      await demo.close();
    }
  });
});

describe("a route aigw does not serve", () => {
  it("answers 404 naming what it serves, in the path's API shape", async () => {
    const res = await fetch(`${gw.url}/v1/completions`, { method: "POST", body: "{}" });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { message: string; code: string } };
    expect(body.error.code).toBe("route_not_found");
    expect(body.error.message).toMatch(
      /no route POST \/v1\/completions; aigw serves POST \/v1\/chat\/completions/,
    );
    const anthropicStyle = await fetch(`${gw.url}/v1/messages/batches`);
    expect(anthropicStyle.status).toBe(404);
    expect(await anthropicStyle.json()).toMatchObject({
      type: "error",
      error: { type: "not_found_error", message: expect.stringContaining("GET /v1/models") },
    });
  });
});

describe("aigw models", () => {
  it("prints the same list, asked from the providers with the home's keys, as a table and as JSON", async () => {
    const home = tempHome();
    try {
      const config = join(home.dir, "aigw.yaml");
      writeFileSync(
        config,
        `providers:\n  openai: { base_url: ${fake.openaiBaseUrl} }\nmodels:\n  fast: openai/gpt-4o-mini\n`,
      );
      const env = { OPENAI_API_KEY: OPENAI_KEY };
      const json = await runCli(["models", "--config", config, "--json"], { home: home.dir, env });
      expect(json.stderr).toBe("");
      expect(json.code).toBe(0);
      const entries = JSON.parse(json.stdout) as { id: string; kind: string; source: string }[];
      expect(entries[0]).toMatchObject({ id: "fast", kind: "alias", source: "config" });
      expect(entries.find((e) => e.id === "openai/text-embedding-3-large")).toMatchObject({
        kind: "model",
        source: "provider",
      });
      expect(entries.find((e) => e.id === "anthropic/claude-haiku-4-5")?.source).toBe("defaults");
      expect(JSON.stringify(entries)).not.toContain(OPENAI_KEY);
      const table = await runCli(["models", "--config", config], { home: home.dir, env });
      expect(table.code).toBe(0);
      expect(table.stdout).toMatch(/fast\s+alias\s+openai\/gpt-4o-mini/);
      expect(table.stdout).toMatch(/openai\/text-embedding-3-large\s+model\s+listed by openai/);
      const demo = await runCli(["models", "--demo", "--json"], { home: home.dir });
      expect((JSON.parse(demo.stdout) as { id: string }[]).map((e) => e.id)).toContain("mock/gpt-4o-mini");
    } finally {
      home.cleanup();
    }
  });
});
