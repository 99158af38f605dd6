/**
 * Token estimates for tpm limits, taken before a request is sent and corrected by the real usage after.
 *
 * The tokenizer is gpt-tokenizer's o200k_base (GPT-4o and later; close enough for other models' tpm).
 * It loads in a worker thread (tokenizer-thread.ts), never on the gateway's own: the first estimate
 * starts the load (or the gateway calls `loadTokenizer()` once listening) and, until it is in, estimates
 * are chars / 4 ("heuristic"). It costs ~1 µs per char of new text, so text beyond SAMPLE_CHARS is not
 * tokenized: its head and tail are, and the rest is scaled from them. Recent counts are memoised (the
 * same system prompt arrives again and again).
 */
import { startTokenizerThread, type TokenizerThread } from "./tokenizer-thread.js";

/** Expected output when the request sets no max_tokens / max_completion_tokens. */
export const DEFAULT_OUTPUT_TOKENS = 256;
/** Chat framing per message (role, separators) and per request (the reply's priming), as OpenAI counts. */
const PER_MESSAGE = 4;
const PER_REQUEST = 3;
/** An image, audio clip or document: its real cost depends on size and model; this is a middle guess. */
const PER_ATTACHMENT = 1000;
/** Text up to this length is tokenized exactly; longer text by a head + tail sample of this size. */
export const SAMPLE_CHARS = 16_000;
/** Memo of recent counts: texts up to MEMO_CHARS long, MEMO_SIZE of them (then it starts over). */
const MEMO_CHARS = 4000;
const MEMO_SIZE = 1000;

let thread: TokenizerThread | null = null;
let exact = false;
const memo = new Map<string, number>();

/**
 * Starts loading the tokenizer once (in a worker, after `gate` when given); resolves false (and
 * estimates stay heuristic) if it cannot load. Requests never wait for it.
 */
export function loadTokenizer(gate?: Promise<unknown>): Promise<boolean> {
  if (!thread) {
    thread = startTokenizerThread(gate);
    void thread.ready.then((ok) => {
      exact = ok;
    });
  }
  return thread.ready;
}

export function tokenizerLoaded(): boolean {
  return exact;
}

/** How estimates are made right now. */
export function tokenizerState(): "heuristic" | "exact" {
  return exact ? "exact" : "heuristic";
}

const heuristic = (text: string) => Math.ceil(text.length / 4);

function count(text: string): number {
  const known = memo.get(text);
  if (known !== undefined) return known;
  const n = exact && thread ? thread.count(text) : null;
  if (n === null) return heuristic(text);
  if (text.length <= MEMO_CHARS) {
    if (memo.size >= MEMO_SIZE) memo.clear();
    memo.set(text, n);
  }
  return n;
}

/** Tokens in a text: exact up to SAMPLE_CHARS, sampled beyond, chars / 4 until the tokenizer is in. */
export function countTextTokens(text: string): number {
  if (!text) return 0;
  if (!thread) void loadTokenizer();
  if (!exact) return heuristic(text);
  if (text.length <= SAMPLE_CHARS) return count(text);
  const half = SAMPLE_CHARS / 2;
  const sampled = count(text.slice(0, half)) + count(text.slice(-half));
  return Math.ceil((sampled * text.length) / SAMPLE_CHARS);
}

/** Fields only a Responses API request has (an embeddings request never streams or has instructions). */
const RESPONSES_ONLY = [
  "instructions",
  "max_output_tokens",
  "tools",
  "tool_choice",
  "text",
  "reasoning",
  "previous_response_id",
  "stream",
  "store",
];

/**
 * Whether a body with `input` is a Responses request rather than embeddings: its items are objects,
 * or it has a field embeddings have not. (A bare `{model, input: "…"}` reads as embeddings: no output
 * is reserved for it, and the real usage settles the difference.)
 */
function isResponses(body: Record<string, unknown>): boolean {
  const { input } = body;
  if (Array.isArray(input) && input.some((i) => i !== null && typeof i === "object" && !Array.isArray(i)))
    return true;
  return RESPONSES_ONLY.some((field) => body[field] !== undefined);
}

/**
 * What a chat completions, messages, responses or embeddings request will count against tpm: the
 * text of the messages (or Responses input items and instructions), system prompt and tool
 * definitions, a small framing overhead, and the expected output.
 */
export function estimateTokens(body: Record<string, unknown>, defaultOutput = DEFAULT_OUTPUT_TOKENS): number {
  const texts: string[] = [];
  let fixed = 0;
  const content = (value: unknown): void => {
    if (typeof value === "string") {
      texts.push(value);
      return;
    }
    if (!Array.isArray(value)) return;
    for (const part of value) {
      if (typeof part === "string") texts.push(part);
      else if (part && typeof part === "object") fixed += contentPart(part as Record<string, unknown>);
    }
  };
  const contentPart = (part: Record<string, unknown>): number => {
    switch (part.type) {
      case "image_url":
      case "image":
      case "input_image":
      case "input_audio":
      case "input_file":
      case "document":
      case "file":
        return PER_ATTACHMENT;
      case "tool_use":
        texts.push(String(part.name ?? ""), JSON.stringify(part.input ?? {}));
        return 0;
      case "tool_result":
        content(part.content);
        return 0;
      case "thinking":
        content(part.thinking);
        return 0;
      case "refusal":
        content(part.refusal);
        return 0;
    }
    content(part.text);
    return 0;
  };
  const message = (m: Record<string, unknown>): void => {
    fixed += PER_MESSAGE;
    content(m.content);
    if (typeof m.name === "string") texts.push(m.name);
    if (Array.isArray(m.tool_calls)) texts.push(JSON.stringify(m.tool_calls));
    if (m.function_call) texts.push(JSON.stringify(m.function_call));
  };
  /** One Responses input item: a message, a tool call or its output, reasoning, or anything newer. */
  const item = (i: Record<string, unknown>): void => {
    switch (i.type ?? (i.role ? "message" : undefined)) {
      case "message":
        message(i);
        return;
      case "function_call":
      case "custom_tool_call":
        fixed += PER_MESSAGE;
        texts.push(
          String(i.name ?? ""),
          typeof i.arguments === "string" ? i.arguments : String(i.input ?? ""),
        );
        return;
      case "function_call_output":
      case "custom_tool_call_output":
        fixed += PER_MESSAGE;
        content(i.output);
        return;
      case "reasoning":
        // The encrypted part is opaque; its summary is what can be counted.
        content(i.summary);
        return;
      case "item_reference":
        return;
      default:
        // Codex's `additional_tools`, shell and computer calls, types to come: their JSON is the text.
        texts.push(JSON.stringify(i));
    }
  };

  content(body.system);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const m of messages) if (m && typeof m === "object") message(m as Record<string, unknown>);
  if (messages.length) fixed += PER_REQUEST;
  for (const field of ["tools", "functions", "response_format"]) {
    if (body[field] && typeof body[field] === "object") texts.push(JSON.stringify(body[field]));
  }

  const input = body.input;
  let output = 0;
  const responses = input !== undefined && !messages.length && isResponses(body);
  if (responses) {
    content(body.instructions);
    if (typeof input === "string") message({ content: input });
    else if (Array.isArray(input))
      for (const i of input) if (i && typeof i === "object") item(i as Record<string, unknown>);
    if ((body.text as { format?: unknown } | undefined)?.format) texts.push(JSON.stringify(body.text));
    fixed += PER_REQUEST;
  }
  if (input !== undefined && !messages.length && !responses) {
    // Embeddings: a string, strings, or token arrays; no output.
    for (const one of Array.isArray(input) ? input : [input]) {
      if (typeof one === "string") texts.push(one);
      else if (typeof one === "number") fixed += 1;
      else if (Array.isArray(one)) fixed += one.length;
    }
  } else {
    const max = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].find(
      (v): v is number => typeof v === "number" && v > 0,
    );
    const choices = typeof body.n === "number" && body.n > 1 ? Math.floor(body.n) : 1;
    output = (max ?? defaultOutput) * choices;
  }
  return fixed + countTextTokens(texts.join("\n")) + output;
}
