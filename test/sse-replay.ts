/** Shared pieces of the SSE unit tests: recorded fixtures, frame encoding/decoding, SDK clients that replay frames. */
import { readFileSync } from "node:fs";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import type { SseEvent, StreamTranslator } from "../src/providers/translate/types.js";

/** A parsed JSON object. */
export type Json = Record<string, unknown>;
/** A recorded SSE frame: optional event name, data stored as JSON for readability (or a raw string). */
export type Frame = { event?: string; data: unknown };
/** A fixture case: `input` translated under `opts` must equal `expected`. */
export type Case<O> = { name: string; opts: O; input: Json; expected: Json };
/** A fixture case whose `input` must be refused with a message containing `error`. */
export type ErrorCase = { name: string; input: Json; error: string };
/** A fixture case mapping an upstream error (`status`, body `input`) to `expected`. */
export type StatusCase = { name: string; status: number; input: unknown; expected: Json };
/** A fixture case: `frames` streamed through a translator under `opts` must decode to `expected`. */
export type StreamCase<O> = { name: string; opts: O; frames: Frame[]; expected: Frame[] };

/** A reader of the JSON fixtures under `test/fixtures/<folder>/`. */
export const fixtureReader =
  (folder: string) =>
  <T>(file: string): T =>
    JSON.parse(readFileSync(new URL(`./fixtures/${folder}/${file}`, import.meta.url), "utf8")) as T;

/** A recorded frame (data stored as JSON for readability) as the parsed SSE frame the gateway feeds in. */
export const toSse = (f: Frame): SseEvent => ({
  ...(f.event === undefined ? {} : { event: f.event }),
  data: typeof f.data === "string" ? f.data : JSON.stringify(f.data),
});

/** Strictly decode one encoded output frame: optional `event:` line, one `data:` line, blank line. */
export const decode = (frame: string): Frame => {
  const m = /^(?:event: ([^\n]+)\n)?data: ([^\n]*)\n\n$/.exec(frame);
  if (!m?.[2]) throw new Error(`malformed SSE frame: ${JSON.stringify(frame)}`);
  const data: unknown = m[2] === "[DONE]" ? "[DONE]" : JSON.parse(m[2]);
  return m[1] === undefined ? { data } : { event: m[1], data };
};

/** Feed recorded frames through a stream translator and return every encoded frame it emits, end() included. */
export const run = (t: StreamTranslator, frames: Frame[]): string[] => [
  ...frames.flatMap((f) => t.push(toSse(f))),
  ...t.end(),
];

/** A 200 `text/event-stream` response whose body streams the given encoded frames. */
export const sseResponse = (frames: string[]): Response =>
  new Response(
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const f of frames) controller.enqueue(new TextEncoder().encode(f));
        controller.close();
      },
    }),
    { status: 200, headers: { "content-type": "text/event-stream" } },
  );

/** An OpenAI SDK client whose HTTP layer replays the given frames: proves the SDK accepts them. */
export const openAIClientFor = (frames: string[]): OpenAI =>
  new OpenAI({
    apiKey: "sk-test",
    baseURL: "http://gateway.test/v1",
    maxRetries: 0,
    fetch: async () => sseResponse(frames),
  });

/** An Anthropic SDK client whose HTTP layer replays the given frames: proves the SDK accepts them. */
export const anthropicClientFor = (frames: string[]): Anthropic =>
  new Anthropic({
    apiKey: "sk-ant-test",
    baseURL: "http://gateway.test",
    maxRetries: 0,
    fetch: async () => sseResponse(frames),
  });

/** The error `fn` throws; fails the test if it returns normally. */
export const catchError = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("expected a throw");
};
