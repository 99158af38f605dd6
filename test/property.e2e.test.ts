/**
 * Property: whatever body a client sends to `/v1/chat/completions` or `/v1/messages`, a real gateway
 * on loopback (every provider pointed at the fake upstream) answers 200 or a 4xx in the route's own
 * error shape, never a 5xx or a hang, and no circuit moves.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { startTestGateway, type TestGateway } from "./helpers.js";

const RUNS = 120;
const REQUEST_TIMEOUT_MS = 5000;
const TEST_TIMEOUT_MS = 60_000;

type Route = "/v1/chat/completions" | "/v1/messages";
const ROUTES: Route[] = ["/v1/chat/completions", "/v1/messages"];
const MODELS = ["fake/gpt-4o-mini", "fakeant/claude-haiku-4-5", "gpt-4o-mini", "claude-haiku-4-5"];

let fake: FakeUpstream;
let gw: TestGateway;

beforeAll(async () => {
  fake = await startFakeUpstream({ chunks: 2, record: false });
  // The built-in providers point at the fake too: a generated bare name never leaves loopback.
  gw = await startTestGateway({
    config: {
      providers: {
        fake: { type: "openai-compatible", base_url: fake.openaiBaseUrl },
        fakeant: { type: "anthropic", base_url: fake.anthropicBaseUrl },
        openai: { base_url: fake.openaiBaseUrl },
        anthropic: { base_url: fake.anthropicBaseUrl },
      },
    },
    env: { FAKEANT_API_KEY: "k", OPENAI_API_KEY: "k", ANTHROPIC_API_KEY: "k" },
  });
});

afterAll(async () => {
  await gw.close();
  await fake.close();
});

// ------------------------------------------------------------------------------------------ bodies

/** Strings a client may send: any code point, lone surrogates, controls, bidi marks, combining marks. */
const oddString = fc.oneof(
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ unit: "grapheme", maxLength: 20 }),
  fc.constantFrom(
    "\ud800",
    "\udfff",
    "a\ud83dz",
    "\u0000",
    "\u202e\u2066",
    "\ufeff",
    "e\u0301\u0301",
    "🤖👩‍💻",
  ),
);
const anyValue = fc.oneof(oddString, fc.jsonValue({ maxDepth: 4 }));
const part = fc.record(
  {
    type: fc.oneof(
      fc.constantFrom("text", "image_url", "image", "tool_use", "tool_result", "bogus"),
      anyValue,
    ),
    text: anyValue,
    image_url: anyValue,
    source: anyValue,
    id: anyValue,
    input: anyValue,
    content: anyValue,
  },
  { requiredKeys: [] },
);
const message = fc.oneof(
  fc.record(
    {
      role: fc.oneof(fc.constantFrom("user", "assistant", "system", "tool", "developer", ""), anyValue),
      content: fc.oneof(oddString, fc.array(part, { maxLength: 3 }), anyValue),
      tool_calls: anyValue,
      tool_call_id: anyValue,
      name: anyValue,
    },
    { requiredKeys: [] },
  ),
  anyValue,
);
const body = fc.record(
  {
    model: fc.oneof(fc.constantFrom(...MODELS), anyValue),
    messages: fc.oneof(fc.array(message, { maxLength: 4 }), anyValue),
    stream: fc.oneof(fc.boolean(), anyValue),
    max_tokens: fc.oneof(fc.integer(), fc.double(), anyValue),
    system: anyValue,
    tools: anyValue,
    tool_choice: anyValue,
    temperature: anyValue,
    stream_options: anyValue,
    metadata: anyValue,
  },
  { requiredKeys: [] },
);

/** The model and messages a real request has, so most generated bodies get past validation. */
const plausible = fc
  .tuple(fc.constantFrom(...MODELS), fc.boolean(), oddString, body)
  .map(([model, stream, text, extra]) => ({
    ...extra,
    model,
    stream,
    max_tokens: 16,
    messages: [{ role: "user", content: text }],
  }));

interface Sent {
  contentType: string | null;
  payload: string | Uint8Array;
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=latin1",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "image/png",
  "",
  null,
];
const contentType = fc.constantFrom(...CONTENT_TYPES);

const asJson = fc.tuple(fc.oneof(body, plausible), contentType).map(
  ([b, ct]): Sent => ({
    contentType: ct,
    payload: JSON.stringify(b),
  }),
);
/** The same key twice: `JSON.parse` keeps the last, other parsers the first. */
const duplicateKeys = fc
  .tuple(plausible, fc.constantFrom("model", "messages", "stream", "max_tokens"), anyValue)
  .map(
    ([b, key, first]): Sent => ({
      contentType: "application/json",
      payload: `{${JSON.stringify(key)}:${JSON.stringify(first) ?? "null"},${JSON.stringify(b).slice(1)}`,
    }),
  );
/** One string of 100 kB to 2 MB, in the content or as the model's name. */
const hugeString = fc
  .tuple(plausible, fc.constantFrom(100_000, 1_000_000, 2_000_000), fc.constantFrom("content", "model"))
  .map(([b, size, where]): Sent => {
    const huge = "é".repeat(size / 2);
    const next =
      where === "model" ? { ...b, model: huge } : { ...b, messages: [{ role: "user", content: huge }] };
    return { contentType: "application/json", payload: JSON.stringify(next) };
  });
/** Not JSON at all, or JSON cut short, or bytes that are not UTF-8. */
const notJson = fc.oneof(
  fc
    .tuple(fc.string({ unit: "binary", maxLength: 200 }), contentType)
    .map(([s, ct]) => ({ contentType: ct, payload: s })),
  fc.tuple(plausible, fc.nat()).map(([b, n]): Sent => {
    const text = JSON.stringify(b);
    return { contentType: "application/json", payload: text.slice(0, n % text.length) };
  }),
  fc
    .uint8Array({ maxLength: 200 })
    .map((bytes): Sent => ({ contentType: "application/json", payload: bytes })),
  fc
    .tuple(plausible, fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80]))
    .map(([b, bad]): Sent => {
      const text = Buffer.from(JSON.stringify({ ...b, messages: [{ role: "user", content: "@@" }] }));
      const at = text.indexOf("@@");
      return {
        contentType: "application/json",
        payload: Buffer.concat([text.subarray(0, at), Buffer.from(bad), text.subarray(at + 2)]),
      };
    }),
);

const hostile = fc.oneof(
  { arbitrary: asJson, weight: 5 },
  { arbitrary: duplicateKeys, weight: 2 },
  { arbitrary: hugeString, weight: 1 },
  { arbitrary: notJson, weight: 3 },
);

/** Arrays and objects nested 64 to 200,000 deep, in the messages, a content part, or a tool's schema. */
const deeplyNested = fc
  .tuple(
    plausible,
    fc.constantFrom(64, 1000, 10_000, 200_000),
    fc.constantFrom("messages", "content", "tools", "metadata"),
    fc.boolean(),
  )
  .map(([b, depth, where, objects]): Sent => {
    const [open, close] = objects ? ['{"a":', "}"] : ["[", "]"];
    const deep = `${open.repeat(depth)}1${close.repeat(depth)}`;
    const base = JSON.stringify({ ...b, [where === "content" ? "messages" : where]: "@@" });
    const value = where === "content" ? `[{"role":"user","content":${deep}}]` : deep;
    return { contentType: "application/json", payload: base.replace('"@@"', value) };
  });

// -------------------------------------------------------------------------------------- checking

async function send(route: Route, sent: Sent): Promise<{ status: number; text: string }> {
  const headers: Record<string, string> = {};
  if (sent.contentType !== null) headers["content-type"] = sent.contentType;
  const res = await fetch(`${gw.url}${route}`, {
    method: "POST",
    headers,
    body: sent.payload,
    // The whole exchange, body included: a hang fails the property instead of the suite's timeout.
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  return { status: res.status, text: await res.text() };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** Why an answer breaks the contract, or null when it keeps it. */
function violation(route: Route, status: number, text: string): string | null {
  if (status === 200) return null;
  if (status < 400 || status > 499) return `status ${status}`;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return `${status} with a body that is not JSON`;
  }
  const error = isObj(parsed) ? parsed.error : undefined;
  if (!isObj(error) || typeof error.message !== "string" || typeof error.type !== "string")
    return `${status} without error.message and error.type`;
  if (route === "/v1/messages" && isObj(parsed) && parsed.type !== "error")
    return `${status} without type "error"`;
  if (route === "/v1/chat/completions" && !("code" in error)) return `${status} without error.code`;
  return null;
}

const show = (sent: Sent) => {
  const text = typeof sent.payload === "string" ? sent.payload : Buffer.from(sent.payload).toString("latin1");
  return `${sent.contentType ?? "(no content-type)"} ${text.length > 300 ? `${text.slice(0, 300)}… (${text.length})` : text}`;
};

function holds(route: Route, arbitrary: fc.Arbitrary<Sent>, numRuns: number) {
  return fc.assert(
    fc.asyncProperty(arbitrary, async (sent) => {
      const { status, text } = await send(route, sent);
      const why = violation(route, status, text);
      if (why) throw new Error(`${why}: ${text.slice(0, 300)}\nfor ${show(sent)}`);
    }),
    { numRuns, endOnFailure: true },
  );
}

/** Every circuit closed with no failure counted, and an ordinary request still answered. */
async function stillHealthy(route: Route) {
  const status = (await (await fetch(`${gw.url}/aigw/status`)).json()) as { circuits: Record<string, Obj> };
  for (const [provider, c] of Object.entries(status.circuits))
    expect({ provider, state: c.state, failures: c.failures }).toEqual({
      provider,
      state: "closed",
      failures: 0,
    });
  const ok = await send(route, {
    contentType: "application/json",
    payload: JSON.stringify({
      model: "fake/gpt-4o-mini",
      max_tokens: 16,
      messages: [{ role: "user", content: "still there?" }],
    }),
  });
  expect(ok.status).toBe(200);
}

describe.each(ROUTES)("property: any body on %s", (route) => {
  it(
    "gets a 200 or a 4xx in the route's shape: odd Unicode, duplicate keys, huge strings, wrong types, odd content-types",
    async () => {
      await holds(route, hostile, RUNS);
      await stillHealthy(route);
    },
    TEST_TIMEOUT_MS,
  );
});

// Last, on purpose: if deep nesting trips a circuit, the properties above have already run.
describe.each(ROUTES)("property: deeply nested bodies on %s", (route) => {
  it(
    "get a 400 in the route's shape, never a 5xx, and move no circuit",
    async () => {
      await holds(route, deeplyNested, 24);
      await stillHealthy(route);
    },
    TEST_TIMEOUT_MS,
  );
});
