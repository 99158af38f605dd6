/** Costs and budgets through a real gateway: priced rows, x-aigw-cost-usd, 429 budget_exceeded, the webhook. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway, waitFor } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
const hooks: { threshold: number; scope: string; span: string }[] = [];
const hookServer = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => (body += d));
  req.on("end", () => {
    hooks.push(JSON.parse(body));
    res.end("ok");
  });
});

beforeAll(async () => {
  fake = await startFakeUpstream();
  await new Promise<void>((r) => hookServer.listen(0, "127.0.0.1", r));
  gw = await startTestGateway({
    config: {
      providers: { paid: { type: "openai-compatible", base_url: fake.openaiBaseUrl } },
      // $1 per input token and per output token: every answer's cost is its token count.
      pricing: { "paid/*": { input: 1_000_000, output: 1_000_000 } },
      budgets: {
        daily_usd: 100,
        webhook_url: `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`,
      },
    },
  });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
  hookServer.close();
});

describe("money", () => {
  it("prices each request into its row and header, warns at 50/80/100 % once, then refuses with budget_exceeded", async () => {
    const client = new OpenAI({ apiKey: "x", baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const ask = () =>
      client.chat.completions
        .create({ model: "paid/m", messages: [{ role: "user", content: "one two three" }] })
        .withResponse();
    const first = await ask();
    const tokens = first.data.usage!.total_tokens;
    expect(Number(first.response.headers.get("x-aigw-cost-usd"))).toBeCloseTo(tokens, 6);
    const [row] = await gw.waitForRows(1);
    expect(row!.cost_usd).toBeCloseTo(tokens, 6);

    let spent = tokens;
    while (spent < 100) {
      await ask();
      spent += tokens;
    }
    await waitFor(() => hooks.length === 3, 3000, "three webhook calls");
    expect(hooks.map((h) => [h.scope, h.span, h.threshold])).toEqual([
      ["gateway", "daily", 50],
      ["gateway", "daily", 80],
      ["gateway", "daily", 100],
    ]);

    const status = (await (await fetch(`${gw.url}/aigw/status`)).json()) as {
      budgets: { limits: Record<string, number>; spent: Record<string, number> };
    };
    expect(status.budgets.limits).toEqual({ "daily:gateway": 100 });
    expect(status.budgets.spent["daily:gateway"]).toBeGreaterThanOrEqual(100);

    const err = await ask().catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.error).toMatchObject({ type: "budget_exceeded" });
    expect(err.message).toMatch(/daily budget of \$100\.00 is spent/);
    expect(Number(err.headers.get("retry-after"))).toBeGreaterThan(0);
    const requestsSeen = fake.requests.length;
    await ask().catch(() => {});
    expect(fake.requests.length).toBe(requestsSeen); // nothing new reaches the upstream
    expect(hooks).toHaveLength(3);
  });

  it("lists per-client budget caps on /aigw/status beside the gateway's", async () => {
    gw.clients.add({ name: "web", daily_budget_usd: 2, monthly_budget_usd: 20 }, Date.now());
    gw.gateway.reload();
    const { key } = gw.clients.add({ name: "batch", monthly_budget_usd: 50 }, Date.now());
    gw.gateway.reload();
    const status = (await (
      await fetch(`${gw.url}/aigw/status`, { headers: { authorization: `Bearer ${gw.adminToken}` } })
    ).json()) as { budgets: { limits: Record<string, number> } };
    expect(status.budgets.limits).toEqual({
      "daily:gateway": 100,
      "daily:client:web": 2,
      "monthly:client:web": 20,
      "monthly:client:batch": 50,
    });
    expect(key).toMatch(/^aigw_/);
  });
});
