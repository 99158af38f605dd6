/**
 * `GET`/`DELETE /v1/responses/{id}`, `/input_items` and `/cancel` for responses aigw passed through:
 * forwarded to the provider that made them, with the key it used, through the official `openai` SDK.
 * Clients see only their own; ids aigw never saw reach the default Responses provider only while
 * there are no clients.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";
import { usageRecord } from "./usage-record.js";

let fake: FakeUpstream;

const providers = () => ({
  openai: { base_url: fake.openaiBaseUrl },
  vllm: { type: "openai-compatible" as const, base_url: fake.openaiBaseUrl, responses: "native" as const },
  anthropic: { base_url: fake.anthropicBaseUrl },
  // Nothing listens on port 9: a provider that cannot be reached.
  gone: {
    type: "openai-compatible" as const,
    base_url: "http://127.0.0.1:9/v1",
    responses: "native" as const,
  },
});
const env = {
  OPENAI_API_KEY: "sk-up-openai",
  VLLM_API_KEY: "sk-up-vllm",
  ANTHROPIC_API_KEY: "sk-up-anthropic",
};

beforeAll(async () => {
  fake = await startFakeUpstream({ keys: ["sk-up-openai", "sk-up-vllm", "sk-up-anthropic"] });
});
afterAll(async () => {
  await fake.close();
});

const lookups = () => fake.requests.filter((r) => r.path.startsWith("/v1/responses/"));

describe("without clients", () => {
  let gw: TestGateway;
  let client: OpenAI;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { providers: providers(), retry: { max_attempts: 1 } }, env });
    client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
  });
  afterAll(() => gw.close());
  beforeEach(() => {
    fake.reset();
    gw.db.exec("DELETE FROM usage");
  });

  it("retrieves, lists input items of and deletes an openai response at openai, leaving no extra row", async () => {
    const made = await client.responses.create({ model: "openai/gpt-4.1-mini", input: "hello there" });
    const [row] = await gw.waitForRows(1);
    expect(row?.response_id).toBe(made.id);

    const got = await client.responses.retrieve(made.id);
    expect(got).toMatchObject({ id: made.id, output_text: "Echo: hello there" });
    const items = await client.responses.inputItems.list(made.id);
    expect(items.data).toEqual([expect.objectContaining({ role: "user", content: "hello there" })]);
    await client.responses.delete(made.id);
    // The provider's own 404 comes back as it sent it: the SDK raises its typed error.
    const gone = await client.responses.retrieve(made.id).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
    expect((gone as InstanceType<typeof OpenAI.NotFoundError>).message).toContain(
      `Response with id '${made.id}' not found.`,
    );

    expect(lookups().map((r) => `${r.method} ${r.path}`)).toEqual([
      `GET /v1/responses/${made.id}`,
      `GET /v1/responses/${made.id}/input_items`,
      `DELETE /v1/responses/${made.id}`,
      `GET /v1/responses/${made.id}`,
    ]);
    for (const r of lookups()) expect(r.headers.authorization).toBe("Bearer sk-up-openai");
    expect(gw.rows()).toHaveLength(1); // look-ups are not model calls: no usage rows
  });

  it("forwards a streamed response's id to the native provider that made it, with its key", async () => {
    const stream = await client.responses.create({ model: "vllm/qwen3", input: "stream me", stream: true });
    let id = "";
    for await (const event of stream) if (event.type === "response.completed") id = event.response.id;
    expect(id).toMatch(/^resp_fake/);
    await gw.waitForRows(1);
    expect(gw.rows()[0]?.response_id).toBe(id);

    const got = await client.responses.retrieve(id);
    expect(got.id).toBe(id);
    const [lookup] = lookups();
    // The openai provider's key would get the provider's 404: the key that made it is the one used.
    expect(lookup?.headers.authorization).toBe("Bearer sk-up-vllm");
  });

  it("resumes a stream from the provider (`stream=true`, `starting_after`), event by event", async () => {
    const made = await client.responses.create({ model: "openai/gpt-4.1-mini", input: "resume me" });
    const stream = await client.responses.retrieve(made.id, { stream: true, starting_after: 3 });
    const events: { type: string; sequence_number: number }[] = [];
    for await (const event of stream) events.push(event);
    expect(events[0]?.sequence_number).toBe(4);
    expect(events.at(-1)).toMatchObject({ type: "response.completed", response: { id: made.id } });
    expect(lookups()[0]?.query).toBe("stream=true&starting_after=3");
  });

  it("passes the provider's refusal to cancel through in OpenAI's shape", async () => {
    const made = await client.responses.create({ model: "openai/gpt-4.1-mini", input: "not in background" });
    const err = await client.responses.cancel(made.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("background=true");
    expect(lookups().map((r) => `${r.method} ${r.path}`)).toEqual([`POST /v1/responses/${made.id}/cancel`]);
  });

  it("answers a translated response itself, never asking a provider", async () => {
    const made = await client.responses.create({ model: "anthropic/claude-haiku-4-5", input: "hi claude" });
    expect((await client.responses.retrieve(made.id)).id).toBe(made.id);
    const err = await client.responses.cancel(made.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    await client.responses.delete(made.id);
    // Deleted, it is still known as aigw's own: a 404 here, not a question to some provider.
    await expect(client.responses.retrieve(made.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    expect(lookups()).toEqual([]);
  });

  it("sends an id it never saw to the openai-type provider", async () => {
    const err = await client.responses.retrieve("resp_made_elsewhere").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect(lookups()).toEqual([
      expect.objectContaining({ method: "GET", path: "/v1/responses/resp_made_elsewhere" }),
    ]);
    expect(lookups()[0]?.headers.authorization).toBe("Bearer sk-up-openai");
  });

  it("is a 502 in OpenAI's shape when the provider that made it cannot be reached", async () => {
    gw.usage.insert(
      usageRecord({
        id: "req_gone",
        started_at: Date.now(),
        route: "responses",
        provider: "gone",
        response_id: "resp_gone1",
      }),
    );
    const err = await client.responses.retrieve("resp_gone1").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const apiErr = err as InstanceType<typeof OpenAI.APIError>;
    expect(apiErr.status).toBe(502);
    expect(apiErr.type).toBe("upstream_error");
    expect(apiErr.message).toContain("gone");
  });
});

describe("with clients", () => {
  let gw: TestGateway;
  let alice: OpenAI;
  let bob: OpenAI;
  beforeAll(async () => {
    gw = await startTestGateway({ config: { providers: providers(), retry: { max_attempts: 1 } }, env });
    const sdk = (apiKey: string) => new OpenAI({ apiKey, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    alice = sdk(gw.clients.add({ name: "alice" }, Date.now()).key);
    bob = sdk(gw.clients.add({ name: "bob" }, Date.now()).key);
    gw.gateway.reload();
  });
  afterAll(() => gw.close());
  beforeEach(() => fake.reset());

  it("forwards only the maker's own look-ups; another client's and unknown ids are 404 here", async () => {
    const made = await alice.responses.create({ model: "openai/gpt-4.1-mini", input: "alice's secret" });
    await gw.waitForRows(1);
    for (const attempt of [
      bob.responses.retrieve(made.id),
      bob.responses.delete(made.id),
      alice.responses.retrieve("resp_unknown"),
    ]) {
      const err = await attempt.catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    }
    expect(lookups()).toEqual([]); // none of them reached the provider
    expect((await alice.responses.retrieve(made.id)).output_text).toBe("Echo: alice's secret");
    expect(lookups()).toHaveLength(1);
  });
});
