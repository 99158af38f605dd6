/**
 * Token estimates for tpm limits, taken before a request is sent and corrected by the real usage after.
 *
 * The tokenizer is gpt-tokenizer's o200k_base (GPT-4o and later; close enough for other models' tpm).
 * Importing it costs ~350-600 ms and ~100 MB, so it loads lazily: the first estimate starts the import
 * (or the gateway calls `loadTokenizer()` at start-up, off the request path) and, until it is in,
 * estimates fall back to chars / 4. It costs ~1 µs per char of new text (less for text seen before),
 * so text beyond SAMPLE_CHARS is not tokenized: its head and tail are, and the rest is scaled from them.
 */

type Counter = (text: string) => number;

/** Expected output when the request sets no max_tokens / max_completion_tokens. */
export const DEFAULT_OUTPUT_TOKENS = 256;
/** Chat framing per message (role, separators) and per request (the reply's priming), as OpenAI counts. */
const PER_MESSAGE = 4;
const PER_REQUEST = 3;
/** An image, audio clip or document: its real cost depends on size and model; this is a middle guess. */
const PER_ATTACHMENT = 1000;
/** Text up to this length is tokenized exactly; longer text by a head + tail sample of this size. */
export const SAMPLE_CHARS = 16_000;

let counter: Counter | null = null;
let loading: Promise<boolean> | null = null;

/** Loads the tokenizer once; resolves false (and estimates stay approximate) if it cannot load. */
export function loadTokenizer(): Promise<boolean> {
  loading ??= import("gpt-tokenizer/encoding/o200k_base").then(
    (m) => {
      // Special-token text such as "<|endoftext|>" in a prompt is plain text here, not an error.
      const opts = { disallowedSpecial: new Set<string>() };
      counter = (text) => m.countTokens(text, opts);
      return true;
    },
    () => false,
  );
  return loading;
}

export function tokenizerLoaded(): boolean {
  return counter !== null;
}

/** Tokens in a text: exact up to SAMPLE_CHARS, sampled beyond, chars / 4 until the tokenizer is in. */
export function countTextTokens(text: string): number {
  if (!text) return 0;
  if (!counter) {
    void loadTokenizer();
    return Math.ceil(text.length / 4);
  }
  if (text.length <= SAMPLE_CHARS) return counter(text);
  const half = SAMPLE_CHARS / 2;
  const sampled = counter(text.slice(0, half)) + counter(text.slice(-half));
  return Math.ceil((sampled * text.length) / SAMPLE_CHARS);
}

/**
 * What a chat completions, messages or embeddings request will count against tpm: the text of the
 * messages, system prompt and tool definitions, a small framing overhead, and the expected output.
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
    }
    content(part.text);
    return 0;
  };

  content(body.system);
  const messages = Array.isArray(body.messages) ? body.messages : [];
  for (const message of messages) {
    if (!message || typeof message !== "object") continue;
    const m = message as Record<string, unknown>;
    fixed += PER_MESSAGE;
    content(m.content);
    if (typeof m.name === "string") texts.push(m.name);
    if (Array.isArray(m.tool_calls)) texts.push(JSON.stringify(m.tool_calls));
    if (m.function_call) texts.push(JSON.stringify(m.function_call));
  }
  if (messages.length) fixed += PER_REQUEST;
  for (const field of ["tools", "functions", "response_format"]) {
    if (body[field] && typeof body[field] === "object") texts.push(JSON.stringify(body[field]));
  }

  const input = body.input;
  let output = 0;
  if (input !== undefined && !messages.length) {
    // Embeddings: a string, strings, or token arrays; no output.
    for (const item of Array.isArray(input) ? input : [input]) {
      if (typeof item === "string") texts.push(item);
      else if (typeof item === "number") fixed += 1;
      else if (Array.isArray(item)) fixed += item.length;
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
