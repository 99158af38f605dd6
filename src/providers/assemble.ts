/**
 * Complete streams ⇄ complete answers, for the response cache. Pure functions, no I/O.
 *
 * - `assembleChat` / `assembleMessage` fold the SSE frames of a whole stream (OpenAI chat chunks or
 *   Anthropic message events) into the JSON body the same request would have got without `stream`.
 *   They return null unless the stream ended properly with no error, so only whole answers are stored.
 * - `chatToFrames` / `messageToFrames` replay a stored body as the stream a live upstream would send,
 *   in the shape the official SDKs accumulate back into the same body.
 */

import { DEFAULT_CHUNKS, pieces } from "./assemble-message.js";
import type { SseFrame } from "./sse.js";
import { asRecord, DONE_FRAME, dataFrame, type JsonRecord, num, parseJson, str } from "./translate/util.js";

export { assembleMessage, messageToFrames } from "./assemble-message.js";

// ------------------------------------------------------------------------------ OpenAI chat

interface ChoiceSoFar {
  index: number;
  role?: string;
  content?: string;
  refusal?: string;
  toolCalls: { id?: string; type: string; function: { name: string; arguments: string } }[];
  functionCall?: { name: string; arguments: string };
  /** Other delta fields (`annotations`, `reasoning_content` of some compatible servers, ...). */
  extra: JsonRecord;
  logprobs: JsonRecord | null;
  finish: string | null;
}

/** Folds `chat.completion.chunk` frames into a `chat.completion`; null if incomplete or errored. */
export function assembleChat(frames: readonly SseFrame[]): JsonRecord | null {
  let head: { id: string; created: unknown; model: unknown } | undefined;
  let usage: JsonRecord | undefined;
  let serviceTier: unknown;
  let fingerprint: unknown;
  let done = false;
  const choices = new Map<number, ChoiceSoFar>();

  for (const frame of frames) {
    if (frame.data === "[DONE]") {
      done = true;
      continue;
    }
    const chunk = asRecord(parseJson(frame.data));
    if (!chunk || frame.event === "error" || chunk.error !== undefined) return null;
    const id = str(chunk.id);
    if (!head && id) head = { id, created: chunk.created, model: chunk.model };
    if (asRecord(chunk.usage)) usage = asRecord(chunk.usage);
    if (chunk.service_tier != null) serviceTier = chunk.service_tier;
    if (chunk.system_fingerprint != null) fingerprint = chunk.system_fingerprint;
    for (const raw of Array.isArray(chunk.choices) ? chunk.choices : []) {
      const c = asRecord(raw);
      if (!c) continue;
      const index = num(c.index) ?? 0;
      let acc = choices.get(index);
      if (!acc) {
        acc = { index, toolCalls: [], extra: {}, logprobs: null, finish: null };
        choices.set(index, acc);
      }
      foldChoice(acc, c);
    }
  }
  if (!done || !head || choices.size === 0) return null;
  const sorted = [...choices.values()].sort((a, b) => a.index - b.index);
  if (sorted.some((c) => c.finish === null)) return null;

  return {
    id: head.id,
    object: "chat.completion",
    created: head.created,
    model: head.model,
    choices: sorted.map(finishedChoice),
    ...(usage ? { usage } : {}),
    ...(serviceTier != null ? { service_tier: serviceTier } : {}),
    ...(fingerprint != null ? { system_fingerprint: fingerprint } : {}),
  };
}

function foldChoice(acc: ChoiceSoFar, c: JsonRecord): void {
  const finish = str(c.finish_reason);
  if (finish) acc.finish = finish;
  const logprobs = asRecord(c.logprobs);
  if (logprobs) {
    if (!acc.logprobs) acc.logprobs = structuredClone(logprobs);
    else for (const key of ["content", "refusal"]) appendArray(acc.logprobs, key, logprobs[key]);
  }
  const delta = asRecord(c.delta);
  if (!delta) return;
  const { role, content, refusal, tool_calls, function_call, ...rest } = delta;
  if (typeof role === "string") acc.role = role;
  if (typeof content === "string") acc.content = (acc.content ?? "") + content;
  if (typeof refusal === "string") acc.refusal = (acc.refusal ?? "") + refusal;
  for (const [position, raw] of (Array.isArray(tool_calls) ? tool_calls : []).entries()) {
    const tc = asRecord(raw);
    if (!tc) continue;
    const slot = num(tc.index) ?? position;
    const call = acc.toolCalls[slot] ?? { type: "function", function: { name: "", arguments: "" } };
    acc.toolCalls[slot] = call;
    const fn = asRecord(tc.function);
    call.id = str(tc.id) || call.id;
    call.type = str(tc.type) || call.type;
    // Some compatible servers repeat the name on every delta: set it, never append it.
    call.function.name = str(fn?.name) || call.function.name;
    call.function.arguments += str(fn?.arguments) ?? "";
  }
  const fc = asRecord(function_call);
  if (fc) {
    acc.functionCall ??= { name: "", arguments: "" };
    acc.functionCall.name = str(fc.name) || acc.functionCall.name;
    acc.functionCall.arguments += str(fc.arguments) ?? "";
  }
  for (const [key, value] of Object.entries(rest)) {
    const before = acc.extra[key];
    if (typeof value === "string" && typeof before === "string") acc.extra[key] = before + value;
    else if (Array.isArray(value)) appendArray(acc.extra, key, value);
    else if (value != null) acc.extra[key] = value;
  }
}

function finishedChoice(c: ChoiceSoFar): JsonRecord {
  // In the API's key order, and dense: a server that skipped a tool-call index leaves no hole.
  const toolCalls = c.toolCalls
    .filter((tc) => tc !== undefined)
    .map(({ id, type, function: fn }) => ({ ...(id === undefined ? {} : { id }), type, function: fn }));
  const calls = toolCalls.length > 0 || c.functionCall !== undefined;
  return {
    index: c.index,
    message: {
      role: c.role ?? "assistant",
      // An empty text beside tool calls is the "no text" of a non-stream answer: null.
      content: c.content === undefined || (calls && c.content === "") ? null : c.content,
      refusal: c.refusal ?? null,
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
      ...(c.functionCall ? { function_call: c.functionCall } : {}),
      ...c.extra,
    },
    logprobs: c.logprobs,
    finish_reason: c.finish,
  };
}

/** Replays a stored `chat.completion` as the `chat.completion.chunk` frames of a live stream. */
export function chatToFrames(
  completion: JsonRecord,
  opts: { includeUsage: boolean; chunks?: number },
): string[] {
  const n = opts.chunks ?? DEFAULT_CHUNKS;
  const head: JsonRecord = {
    id: completion.id,
    object: "chat.completion.chunk",
    created: completion.created,
    model: completion.model,
    ...(completion.service_tier != null ? { service_tier: completion.service_tier } : {}),
    ...(completion.system_fingerprint != null ? { system_fingerprint: completion.system_fingerprint } : {}),
  };
  // With include_usage, OpenAI sends `usage: null` on every chunk but the last.
  const frame = (choice: JsonRecord): string =>
    dataFrame({ ...head, choices: [choice], ...(opts.includeUsage ? { usage: null } : {}) });
  const out: string[] = [];

  for (const raw of Array.isArray(completion.choices) ? completion.choices : []) {
    const choice = asRecord(raw) ?? {};
    const index = num(choice.index) ?? 0;
    const delta = (d: JsonRecord, finish: unknown = null, logprobs: unknown = null): string =>
      frame({ index, delta: d, logprobs, finish_reason: finish });
    const { role, content, refusal, tool_calls, function_call, ...extra } = asRecord(choice.message) ?? {};
    const first: JsonRecord = { role: role ?? "assistant", content: typeof content === "string" ? "" : null };
    if (typeof refusal !== "string") first.refusal = null;
    out.push(delta({ ...first, ...extra }, null, choice.logprobs ?? null));
    if (typeof content === "string")
      for (const piece of pieces(content, n)) out.push(delta({ content: piece }));
    if (typeof refusal === "string")
      for (const piece of pieces(refusal, n)) out.push(delta({ refusal: piece }));
    for (const [i, rawCall] of (Array.isArray(tool_calls) ? tool_calls : []).entries()) {
      const call = asRecord(rawCall) ?? {};
      const fn = asRecord(call.function) ?? {};
      const start = {
        index: i,
        id: call.id,
        type: call.type ?? "function",
        function: { name: fn.name, arguments: "" },
      };
      out.push(delta({ tool_calls: [start] }));
      for (const piece of pieces(str(fn.arguments) ?? "", n)) {
        out.push(delta({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
      }
    }
    if (asRecord(function_call)) out.push(delta({ function_call }));
    out.push(delta({}, choice.finish_reason ?? "stop"));
  }
  if (opts.includeUsage && asRecord(completion.usage)) {
    out.push(dataFrame({ ...head, choices: [], usage: completion.usage }));
  }
  out.push(DONE_FRAME);
  return out;
}

// ------------------------------------------------------------------------------ helpers

function appendArray(into: JsonRecord, key: string, more: unknown): void {
  if (!Array.isArray(more)) return;
  const before = into[key];
  into[key] = [...(Array.isArray(before) ? before : []), ...more];
}
