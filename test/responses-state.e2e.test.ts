/**
 * `/v1/responses` when its own state fails: a stored response that cannot be read (the step before
 * the pipeline throws) and one that cannot be written (after it). Either way the client gets an
 * OpenAI-shaped answer through the official SDK and the request leaves exactly one usage row.
 */
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

let fake: FakeUpstream;
let gw: TestGateway;
let client: OpenAI;
const model = "local/llama3.2"; // translated to Chat Completions: aigw keeps the state

beforeAll(async () => {
  fake = await startFakeUpstream();
  gw = await startTestGateway({
    config: { providers: { local: { type: "openai-compatible", base_url: fake.openaiBaseUrl } } },
  });
  client = new OpenAI({ apiKey: "unused", baseURL: `${gw.url}/v1`, maxRetries: 0 });
});
afterAll(async () => {
  await gw.close();
  await fake.close();
});
beforeEach(() => {
  fake.reset();
  gw.db.exec("DELETE FROM usage");
});

describe("a before-step that throws", () => {
  it("answers 500 in OpenAI's shape and writes one row naming the model, calling no upstream", async () => {
    // A stored response whose input is not JSON: reading it to expand previous_response_id throws.
    gw.db
      .prepare(
        `INSERT INTO stored_responses (id, client, model, created_at, expires_at, input, response)
         VALUES ('resp_broken', NULL, 'local/llama3.2', ?, ?, '{not json', '{}')`,
      )
      .run(Date.now(), Date.now() + 60_000);
    const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const err = await client.responses
        .create({ model, input: "go on", previous_response_id: "resp_broken", stream: true })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.InternalServerError);
      const apiErr = err as InstanceType<typeof OpenAI.InternalServerError>;
      expect(apiErr.error).toMatchObject({ type: "api_error", code: "api_error" });
      expect(apiErr.headers?.get("x-aigw-request-id")).toMatch(/^req_/);
    } finally {
      stderr.mockRestore();
    }
    const rows = await gw.waitForRows(1);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      route: "responses",
      requested_model: model,
      stream: true,
      status: 500,
      error_type: "api_error",
    });
    expect(fake.requests).toHaveLength(0);
  });
});

describe("an after-step that cannot store the response", () => {
  it("still delivers the answer, plain and streamed, with one 200 row each", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    gw.db.exec("ALTER TABLE stored_responses RENAME TO stored_responses_away");
    try {
      const plain = await client.responses.create({ model, input: "hello" });
      expect(plain.output_text).toBe("Echo: hello");
      const streamed = await client.responses.stream({ model, input: "stream it" }).finalResponse();
      expect(streamed.output_text).toBe("Echo: stream it");
      expect(stderr.mock.calls.map((c) => String(c[0])).join("")).toContain(
        `aigw: could not store response ${plain.id}`,
      );
    } finally {
      gw.db.exec("ALTER TABLE stored_responses_away RENAME TO stored_responses");
      stderr.mockRestore();
    }
    const rows = await gw.waitForRows(2);
    expect(rows.map((r) => [r.status, r.error_type])).toEqual([
      [200, null],
      [200, null],
    ]);
  });
});

describe("responses.retention", () => {
  it("ends a stored response's life on the gateway's clock: GET 404, previous_response_id 400", async () => {
    const clock = { t: Date.now(), now: () => clock.t };
    const timed = await startTestGateway({
      config: {
        providers: { local: { type: "openai-compatible", base_url: fake.openaiBaseUrl } },
        responses: { retention: "1h" },
      },
      clock,
    });
    try {
      const sdk = new OpenAI({ apiKey: "unused", baseURL: `${timed.url}/v1`, maxRetries: 0 });
      const made = await sdk.responses.create({ model, input: "remember me" });
      clock.t += 59 * 60_000;
      expect((await sdk.responses.retrieve(made.id)).output_text).toBe("Echo: remember me");
      clock.t += 2 * 60_000;
      await expect(sdk.responses.retrieve(made.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
      const err = await sdk.responses
        .create({ model, input: "and then?", previous_response_id: made.id })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(fake.requests.filter((r) => r.path.startsWith("/v1/responses/"))).toEqual([]);
    } finally {
      await timed.close();
    }
  });
});
