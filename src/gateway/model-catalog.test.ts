import { describe, expect, it } from "vitest";
import type { Provider, UpstreamResponse } from "../providers/types.js";
import { type CatalogTimers, ModelCatalog } from "./model-catalog.js";
import { createRouter } from "./router.js";

/** An OpenAI-type provider whose models endpoint answers what `answer` holds at the time. */
function listingProvider(
  name: string,
  answer: { status: number; body: string },
): Provider & { calls: number } {
  const provider = {
    name,
    type: "openai-compatible" as const,
    formats: ["openai"] as const,
    routes: ["chat"] as const,
    needsKey: false,
    keyEnv: "X_API_KEY",
    baseUrl: "http://127.0.0.1:1/v1",
    calls: 0,
    send: () => Promise.reject(new Error("not used")),
    async probe(): Promise<UpstreamResponse> {
      provider.calls++;
      const bytes = Buffer.from(answer.body);
      return {
        status: answer.status,
        headers: {},
        body: (async function* () {
          yield bytes;
        })(),
      };
    },
    close: async () => {},
  };
  return provider;
}

function manualTimers(): CatalogTimers & { fire(): void; count(): number } {
  const fns = new Set<() => void>();
  return {
    setInterval(fn) {
      fns.add(fn);
      return fn;
    },
    clearInterval: (fn) => fns.delete(fn as () => void),
    fire() {
      for (const fn of fns) fn();
    },
    count: () => fns.size,
  };
}

describe("ModelCatalog", () => {
  it("keeps the last good listing when a refresh fails, and stops its timer", async () => {
    const answer = { status: 200, body: JSON.stringify({ data: [{ id: "llama3.2" }, { id: "qwen3" }] }) };
    const local = listingProvider("local", answer);
    const providers = new Map<string, Provider>([["local", local]]);
    const router = createRouter({ providers, models: { small: "local/tiny" } });
    const timers = manualTimers();
    const catalog = new ModelCatalog({ providers, router, demo: false, keyFor: () => null, timers });
    const ids = () => catalog.list().map((e) => e.id);
    expect(ids()).toEqual(["small", "local/tiny"]); // before any answer: what the config names
    await catalog.start();
    expect(ids()).toEqual(["small", "local/llama3.2", "local/qwen3"]);
    answer.status = 500;
    answer.body = "oops";
    timers.fire();
    await catalog.refresh();
    expect(local.calls).toBe(2);
    expect(ids()).toEqual(["small", "local/llama3.2", "local/qwen3"]);
    answer.status = 200;
    answer.body = JSON.stringify({ data: [{ id: "mistral" }] });
    timers.fire();
    await catalog.refresh();
    expect(ids()).toEqual(["small", "local/mistral"]);
    catalog.stop();
    expect(timers.count()).toBe(0);
  });

  it("asks no provider that has no key", async () => {
    const local = listingProvider("local", { status: 200, body: '{"data":[{"id":"x"}]}' });
    const providers = new Map<string, Provider>([["local", local]]);
    const router = createRouter({ providers, models: {} });
    const catalog = new ModelCatalog({ providers, router, demo: false, keyFor: () => undefined });
    await catalog.refresh();
    expect(local.calls).toBe(0);
    expect(catalog.find("local/x")).toMatchObject({ id: "local/x", owned_by: "local" }); // still routable
    expect(catalog.find("elsewhere/x")).toBeNull();
  });
});
