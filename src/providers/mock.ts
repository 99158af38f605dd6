import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { ProviderConfig } from "../config/schema.js";
import { anthropicModelPattern } from "./anthropic.js";
import { anthropicToolCall, openaiToolCall } from "./mock-tool-calls.js";
import { toolPlan } from "./mock-tools.js";
import { openaiModelPattern } from "./openai.js";
import { lastUserText } from "./prompt.js";
import type { Provider, Route, UpstreamResponse } from "./types.js";

/** The models the mock lists: `echo`, and real models' names it answers as (and, in demo, is priced as). */
export const MOCK_MODELS = ["echo", "gpt-4o-mini", "gpt-4.1-mini", "claude-haiku-4-5", "claude-sonnet-4-6"];

const WORDS = (
  "gateway token stream cache latency budget model prompt answer request provider queue limit key route " +
  "fallback usage cost client local fast simple reliable measured"
).split(" ");

/**
 * The built-in `mock` provider: answers in-process, deterministically from the prompt, in both wire
 * formats, with realistic usage and real (paced) streaming. `mock/error-503` (any status) fails the
 * way a real upstream would, for trying fallback and retries.
 */
export function createMockProvider(name: string, config: ProviderConfig): Provider {
  const chunks = config.chunks ?? 8;
  const chunkDelay = config.chunk_delay ?? 10;
  const latency = config.latency ?? 0;
  return {
    name,
    type: "mock",
    formats: ["openai", "anthropic"],
    routes: ["chat", "messages", "embeddings"],
    needsKey: false,
    keyEnv: `${name.toUpperCase()}_API_KEY`,
    baseUrl: null,
    circuitPerModel: true,
    async send(call) {
      if (latency) await sleep(latency, undefined, { signal: call.signal });
      const model = String(call.body.model);
      const failure = /^(?:error|fail)-(\d{3})$/.exec(model);
      if (failure) return errorResponse(call.route, Number(failure[1]));
      if (call.route === "embeddings") return json(200, embeddings(call.body, model));
      const plan = toolPlan(call.route, call.body);
      const text = plan?.kind === "answer" ? plan.text : answerFor(lastUserText(call.body));
      const input = estimateTokens(JSON.stringify(call.body.messages ?? ""));
      const includeUsage =
        (call.body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
      if (plan?.kind === "call") {
        const args = JSON.stringify(plan.args);
        const usage = { input, output: 8 + estimateTokens(args) };
        const format = call.route === "messages" ? anthropicToolCall : openaiToolCall;
        if (!call.stream) return json(200, format.message(model, plan, usage));
        const frames = format.frames(model, plan, splitInto(args, chunks), usage, includeUsage);
        return {
          status: 200,
          headers: { "content-type": "text/event-stream" },
          body: paced(frames, chunkDelay, call.signal),
        };
      }
      const usage = { input, output: text.split(" ").length };
      const format = call.route === "messages" ? anthropicAnswer : openaiAnswer;
      if (!call.stream) return json(200, format.message(model, text, usage));
      const frames = format.frames(model, splitInto(text, chunks), usage, includeUsage);
      return {
        status: 200,
        headers: { "content-type": "text/event-stream" },
        body: paced(frames, chunkDelay, call.signal),
      };
    },
    imitates(model) {
      return openaiModelPattern.test(model) || anthropicModelPattern.test(model) ? model : null;
    },
    async probe() {
      return json(200, {
        object: "list",
        data: MOCK_MODELS.map((id) => ({ id, object: "model", created: 0, owned_by: name })),
      });
    },
    async close() {},
  };
}

export function answerFor(prompt: string): string {
  const digest = createHash("sha256").update(prompt).digest();
  const words = Array.from({ length: 16 }, (_, i) => WORDS[(digest[i] ?? 0) % WORDS.length]);
  const quoted = prompt.length > 60 ? `${prompt.slice(0, 57)}...` : prompt;
  return `Mock answer to "${quoted}": ${words.join(" ")}.`;
}

function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function splitInto(text: string, parts: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / parts));
  return Array.from({ length: Math.ceil(text.length / size) }, (_, i) =>
    text.slice(i * size, (i + 1) * size),
  );
}

interface Usage {
  input: number;
  output: number;
}

const openaiAnswer = {
  message: (model: string, text: string, usage: Usage) => ({
    id: `chatcmpl-mock${createHash("sha1").update(text).digest("hex").slice(0, 20)}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model,
    choices: [
      {
        index: 0,
        message: { role: "assistant", content: text, refusal: null },
        logprobs: null,
        finish_reason: "stop",
      },
    ],
    usage: {
      prompt_tokens: usage.input,
      completion_tokens: usage.output,
      total_tokens: usage.input + usage.output,
      prompt_tokens_details: { cached_tokens: 0 },
    },
  }),
  frames(model: string, pieces: string[], usage: Usage, includeUsage: boolean): string[] {
    const base = {
      id: "chatcmpl-mock",
      object: "chat.completion.chunk",
      created: Math.floor(Date.now() / 1000),
      model,
    };
    const extra = includeUsage ? { usage: null } : {};
    const chunk = (delta: object, finish: string | null) =>
      `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...extra })}\n\n`;
    const frames = [
      chunk({ role: "assistant", content: "" }, null),
      ...pieces.map((p) => chunk({ content: p }, null)),
    ];
    frames.push(chunk({}, "stop"));
    if (includeUsage) {
      const u = {
        prompt_tokens: usage.input,
        completion_tokens: usage.output,
        total_tokens: usage.input + usage.output,
      };
      frames.push(`data: ${JSON.stringify({ ...base, choices: [], usage: u })}\n\n`);
    }
    frames.push("data: [DONE]\n\n");
    return frames;
  },
};

const anthropicAnswer = {
  message: (model: string, text: string, usage: Usage) => ({
    id: "msg_mock",
    type: "message",
    role: "assistant",
    model,
    content: [{ type: "text", text }],
    stop_reason: "end_turn",
    stop_sequence: null,
    usage: {
      input_tokens: usage.input,
      output_tokens: usage.output,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    },
  }),
  frames(model: string, pieces: string[], usage: Usage): string[] {
    const ev = (event: string, data: object) =>
      `event: ${event}\ndata: ${JSON.stringify({ type: event, ...data })}\n\n`;
    const start = {
      ...anthropicAnswer.message(model, "", { input: usage.input, output: 1 }),
      content: [],
      stop_reason: null,
    };
    return [
      ev("message_start", { message: start }),
      ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
      ...pieces.map((text) => ev("content_block_delta", { index: 0, delta: { type: "text_delta", text } })),
      ev("content_block_stop", { index: 0 }),
      ev("message_delta", {
        delta: { stop_reason: "end_turn", stop_sequence: null },
        usage: { output_tokens: usage.output },
      }),
      ev("message_stop", {}),
    ];
  },
};

function embeddings(body: Record<string, unknown>, model: string): object {
  const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? "")];
  const base64 = body.encoding_format === "base64";
  const data = inputs.map((text, index) => {
    const digest = createHash("sha256").update(text).digest();
    const vector = Array.from({ length: 16 }, (_, i) => ((digest[i] ?? 0) - 128) / 128);
    const embedding = base64 ? Buffer.from(new Float32Array(vector).buffer).toString("base64") : vector;
    return { object: "embedding", index, embedding };
  });
  const tokens = inputs.reduce((n, text) => n + estimateTokens(text), 0);
  return { object: "list", data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

function errorResponse(route: Route, status: number): UpstreamResponse {
  const message = `mock failure with status ${status}`;
  const body =
    route === "messages"
      ? { type: "error", error: { type: status === 429 ? "rate_limit_error" : "api_error", message } }
      : { error: { message, type: status === 429 ? "requests" : "server_error", param: null, code: null } };
  return json(status, body, status === 429 ? { "retry-after": "1" } : {});
}

function json(status: number, body: object, headers: Record<string, string> = {}): UpstreamResponse {
  const bytes = Buffer.from(JSON.stringify(body));
  return {
    status,
    headers: { "content-type": "application/json", ...headers },
    body: (async function* () {
      yield bytes;
    })(),
  };
}

async function* paced(frames: string[], delay: number, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  for (const [i, frame] of frames.entries()) {
    if (i > 0 && delay > 0) await sleep(delay, undefined, { signal });
    yield Buffer.from(frame);
  }
}
