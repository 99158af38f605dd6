/**
 * Writes the Responses event sequence for a translated stream: the Chat and Anthropic stream adapters
 * say what happens (text, reasoning, a tool call, the end) and this emits the events, each with `type`
 * and an increasing `sequence_number`, and keeps the output for `response.completed`.
 */

import {
  messageItem,
  type ResponseContext,
  type ResponseStatus,
  type ResponsesUsage,
  reasoningItem,
  responseObject,
} from "./responses-object.js";
import { callItem, type ToolPlan } from "./responses-tools.js";
import { eventFrame, type JsonRecord } from "./util.js";

type Open =
  | { kind: "text"; id: string; text: string }
  | { kind: "reasoning"; id: string; text: string; signature: string | null }
  | { kind: "call"; id: string; callId: string; name: string; args: string; custom: boolean };

export class ResponsesStreamWriter {
  private seq = 0;
  private readonly output: JsonRecord[] = [];
  private open: Open | null = null;
  private started = false;
  /** A terminal event (completed, incomplete, failed) has been written. */
  ended = false;
  private readonly base: string;

  constructor(private readonly ctx: ResponseContext & { plan: ToolPlan }) {
    this.base = ctx.id.replace(/^resp_/, "");
  }

  /** The final response object once ended (for storing), else null. */
  final: JsonRecord | null = null;

  private emit(type: string, payload: JsonRecord): string {
    return eventFrame(type, { type, sequence_number: this.seq++, ...payload });
  }

  start(): string[] {
    if (this.started) return [];
    this.started = true;
    const snapshot = responseObject(this.ctx, "in_progress", [], null);
    return [
      this.emit("response.created", { response: snapshot }),
      this.emit("response.in_progress", { response: snapshot }),
    ];
  }

  private get index(): number {
    return this.output.length;
  }

  text(delta: string): string[] {
    const out = this.start();
    if (this.open?.kind !== "text") {
      out.push(...this.close());
      const id = `msg_${this.base}_${this.index}`;
      this.open = { kind: "text", id, text: "" };
      const item = { ...messageItem(id, "", "in_progress"), content: [] };
      out.push(this.emit("response.output_item.added", { output_index: this.index, item }));
      out.push(
        this.emit("response.content_part.added", {
          item_id: id,
          output_index: this.index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [], logprobs: [] },
        }),
      );
    }
    const open = this.open as Extract<Open, { kind: "text" }>;
    if (!delta) return out;
    open.text += delta;
    out.push(
      this.emit("response.output_text.delta", {
        item_id: open.id,
        output_index: this.index,
        content_index: 0,
        delta,
        logprobs: [],
      }),
    );
    return out;
  }

  reasoning(delta: string, signature?: string): string[] {
    const out = this.start();
    if (this.open?.kind !== "reasoning") {
      out.push(...this.close());
      const id = `rs_${this.base}_${this.index}`;
      this.open = { kind: "reasoning", id, text: "", signature: null };
      out.push(
        this.emit("response.output_item.added", {
          output_index: this.index,
          item: reasoningItem(id, "", null),
        }),
      );
      out.push(
        this.emit("response.reasoning_summary_part.added", {
          item_id: id,
          output_index: this.index,
          summary_index: 0,
          part: { type: "summary_text", text: "" },
        }),
      );
    }
    const open = this.open as Extract<Open, { kind: "reasoning" }>;
    if (signature) open.signature = signature;
    if (delta) {
      open.text += delta;
      out.push(
        this.emit("response.reasoning_summary_text.delta", {
          item_id: open.id,
          output_index: this.index,
          summary_index: 0,
          delta,
        }),
      );
    }
    return out;
  }

  /** A new tool call starts; `name` is the upstream function name. */
  call(callId: string, name: string): string[] {
    const out = [...this.start(), ...this.close()];
    const id = `fc_${this.base}_${this.index}`;
    const probe = callItem(this.ctx.plan, { id, callId, name, arguments: "" });
    const custom = probe.type === "custom_tool_call";
    this.open = { kind: "call", id, callId, name, args: "", custom };
    const item = custom
      ? { ...probe, status: "in_progress", input: "" }
      : { ...probe, status: "in_progress" };
    out.push(this.emit("response.output_item.added", { output_index: this.index, item }));
    return out;
  }

  args(delta: string): string[] {
    if (this.open?.kind !== "call" || !delta) return [];
    this.open.args += delta;
    // A custom tool's input is the string inside `{"input": ...}`: it is sent whole when the call ends.
    if (this.open.custom) return [];
    return [
      this.emit("response.function_call_arguments.delta", {
        item_id: this.open.id,
        output_index: this.index,
        delta,
      }),
    ];
  }

  /** Ends the open item, if any, with its `.done` events. */
  close(): string[] {
    const open = this.open;
    if (!open) return [];
    this.open = null;
    const out: string[] = [];
    const at = { item_id: open.id, output_index: this.index };
    let item: JsonRecord;
    if (open.kind === "text") {
      item = messageItem(open.id, open.text);
      const part = { type: "output_text", text: open.text, annotations: [], logprobs: [] };
      out.push(
        this.emit("response.output_text.done", { ...at, content_index: 0, text: open.text, logprobs: [] }),
      );
      out.push(this.emit("response.content_part.done", { ...at, content_index: 0, part }));
    } else if (open.kind === "reasoning") {
      item = reasoningItem(open.id, open.text, open.signature);
      out.push(
        this.emit("response.reasoning_summary_text.done", { ...at, summary_index: 0, text: open.text }),
      );
      out.push(
        this.emit("response.reasoning_summary_part.done", {
          ...at,
          summary_index: 0,
          part: { type: "summary_text", text: open.text },
        }),
      );
    } else {
      item = callItem(this.ctx.plan, {
        id: open.id,
        callId: open.callId,
        name: open.name,
        arguments: open.args || "{}",
      });
      if (open.custom) {
        const input = String(item.input);
        out.push(this.emit("response.custom_tool_call_input.delta", { ...at, delta: input }));
        out.push(this.emit("response.custom_tool_call_input.done", { ...at, input }));
      } else {
        out.push(
          this.emit("response.function_call_arguments.done", {
            ...at,
            name: item.name,
            arguments: item.arguments,
          }),
        );
      }
    }
    out.push(this.emit("response.output_item.done", { output_index: this.index, item }));
    this.output.push(item);
    return out;
  }

  /** The answer ended: `response.completed`, or `response.incomplete` with the reason. */
  finish(usage: ResponsesUsage, incompleteReason: string | null): string[] {
    if (this.ended) return [];
    const out = [...this.start(), ...this.close()];
    this.ended = true;
    const status: ResponseStatus = incompleteReason ? "incomplete" : "completed";
    this.final = responseObject(
      this.ctx,
      status,
      this.output,
      usage,
      incompleteReason ? { incompleteReason } : {},
    );
    out.push(this.emit(`response.${status}`, { response: this.final }));
    return out;
  }

  /**
   * The upstream failed mid-answer: `response.failed` with an OpenAI error code. The item that was
   * under way gets no `.done` events and is not in the output: a half-received tool call must not
   * look finished, or an agent (Codex acts on `output_item.done`) would run it with cut arguments.
   */
  fail(code: string, message: string): string[] {
    if (this.ended) return [];
    const out = this.start();
    this.open = null;
    this.ended = true;
    const response = responseObject(this.ctx, "failed", this.output, null, { error: { code, message } });
    out.push(this.emit("response.failed", { response }));
    return out;
  }
}
