/**
 * Minimal wire types for OpenAI Chat Completions and Anthropic Messages: only what the translators
 * read or write. Declared as type aliases (not interfaces) so values of these types are assignable
 * to `Record<string, unknown>`, the translators' public in/out type.
 */

/** One parsed server-sent-events frame: `event:` line (if any) and the joined `data:` text. */
export interface SseEvent {
  event?: string;
  data: string;
}

/** A stateful stream translator: upstream SSE frames in, encoded client SSE frames out. */
export interface StreamTranslator {
  /** Feed one parsed upstream frame; returns zero or more encoded frames for the client. */
  push(ev: SseEvent): string[];
  /** The upstream ended; returns whatever closing frames are still owed to the client. */
  end(): string[];
  /** The upstream failed mid-answer: the closing frames that say so, when the client format has its own. */
  fail?(code: string, message: string): string[];
}

// ---------------------------------------------------------------- OpenAI Chat Completions

export type ChatContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  | { type: "file"; file: { filename?: string; file_data: string } };

export type ChatToolCall = {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
};

export type ChatMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | ChatContentPart[] }
  | { role: "assistant"; content: string | null; tool_calls?: ChatToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export type ChatTool = {
  type: "function";
  function: { name: string; description?: string; parameters: Record<string, unknown> };
};

export type ChatToolChoice = "auto" | "none" | "required" | { type: "function"; function: { name: string } };

export type ChatUsage = {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
};

export type ChatFinishReason = "stop" | "length" | "tool_calls" | "content_filter";

export type ChatCompletion = {
  id: string;
  object: "chat.completion";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: { role: "assistant"; content: string | null; refusal: null; tool_calls?: ChatToolCall[] };
    logprobs: null;
    finish_reason: ChatFinishReason;
  }>;
  usage: ChatUsage;
};

export type ChatChunkDelta = {
  role?: "assistant";
  content?: string;
  tool_calls?: Array<{
    index: number;
    id?: string;
    type?: "function";
    function: { name?: string; arguments: string };
  }>;
};

export type ChatCompletionChunk = {
  id: string;
  object: "chat.completion.chunk";
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: ChatChunkDelta;
    logprobs: null;
    finish_reason: ChatFinishReason | null;
  }>;
  usage?: ChatUsage | null;
};

export type ChatErrorBody = {
  error: { message: string; type: string; param: string | null; code: string | null };
};

// ---------------------------------------------------------------- Anthropic Messages

export type MessagesTextBlock = { type: "text"; text: string };

export type MessagesImageBlock = {
  type: "image";
  source: { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };
};

export type MessagesDocumentBlock = {
  type: "document";
  source: { type: "base64"; media_type: "application/pdf"; data: string };
};

export type MessagesToolUseBlock = {
  type: "tool_use";
  id: string;
  name: string;
  input: Record<string, unknown>;
};

export type MessagesToolResultBlock = {
  type: "tool_result";
  tool_use_id: string;
  content?: string | MessagesTextBlock[];
};

export type MessagesContentBlock =
  | MessagesTextBlock
  | MessagesImageBlock
  | MessagesDocumentBlock
  | MessagesToolUseBlock
  | MessagesToolResultBlock;

export type MessagesMessage = { role: "user" | "assistant"; content: string | MessagesContentBlock[] };

export type MessagesTool = { name: string; description?: string; input_schema: Record<string, unknown> };

export type MessagesToolChoice =
  | { type: "auto" | "any"; disable_parallel_tool_use?: boolean }
  | { type: "tool"; name: string; disable_parallel_tool_use?: boolean }
  | { type: "none" };

export type MessagesUsage = {
  input_tokens: number;
  output_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
};

export type MessagesStopReason =
  | "end_turn"
  | "max_tokens"
  | "stop_sequence"
  | "tool_use"
  | "pause_turn"
  | "refusal"
  | "model_context_window_exceeded";

export type MessagesResponse = {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: Array<MessagesTextBlock | MessagesToolUseBlock>;
  stop_reason: MessagesStopReason | null;
  stop_sequence: string | null;
  usage: MessagesUsage;
};

/** `usage` of a `message_delta` event: output is required, the other counters are cumulative totals. */
export type MessagesDeltaUsage = { output_tokens: number } & Partial<MessagesUsage>;

export type MessagesStreamEvent =
  | { type: "message_start"; message: MessagesResponse }
  | {
      type: "content_block_start";
      index: number;
      content_block: MessagesTextBlock | MessagesToolUseBlock;
    }
  | {
      type: "content_block_delta";
      index: number;
      delta: { type: "text_delta"; text: string } | { type: "input_json_delta"; partial_json: string };
    }
  | { type: "content_block_stop"; index: number }
  | {
      type: "message_delta";
      delta: { stop_reason: MessagesStopReason | null; stop_sequence: string | null };
      usage: MessagesDeltaUsage;
    }
  | { type: "message_stop" }
  | MessagesErrorBody;

export type MessagesErrorBody = { type: "error"; error: { type: string; message: string } };
