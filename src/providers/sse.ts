/** One Server-Sent Events frame: its raw text (to forward unchanged) and its parsed fields. */
export interface SseFrame {
  raw: string;
  event: string | undefined;
  data: string;
  /** Only comment lines (`: keep-alive`): forwarded on pass-through, meaningless to parsers. */
  comment?: boolean;
}

/**
 * Incremental SSE parser: feed it text as it arrives, get back each frame once its terminating blank
 * line has arrived. A partial frame is held only until its end comes (a client can't use half a frame).
 * Linear in the input: each byte is scanned once, and the buffer is cut once per push.
 */
export class SseParser {
  private buffer = "";
  /** Where the search for the next frame end resumes (all before it has no blank line). */
  private scanned = 0;

  push(text: string): SseFrame[] {
    this.buffer += text;
    const frames: SseFrame[] = [];
    let start = 0;
    for (;;) {
      const end = frameEnd(this.buffer, Math.max(start, this.scanned - 3));
      if (end === null) break;
      const raw = this.buffer.slice(start, end.next);
      const frame = parseFrame(this.buffer.slice(start, end.at));
      frames.push(frame ? { raw, ...frame } : { raw, event: undefined, data: "", comment: true });
      start = end.next;
      this.scanned = start;
    }
    if (start > 0) this.buffer = this.buffer.slice(start);
    this.scanned = Math.max(0, this.buffer.length);
    return frames;
  }

  /** Whatever is left when the stream ends (a frame with no terminating blank line). */
  flush(): SseFrame[] {
    const rest = this.buffer;
    this.buffer = "";
    this.scanned = 0;
    if (!rest.trim()) return [];
    const frame = parseFrame(rest);
    return frame ? [{ raw: `${rest}\n\n`, ...frame }] : [];
  }
}

function frameEnd(buffer: string, from: number): { at: number; next: number } | null {
  const lf = buffer.indexOf("\n\n", from);
  const crlf = buffer.indexOf("\r\n\r\n", from);
  if (lf === -1 && crlf === -1) return null;
  if (crlf !== -1 && (lf === -1 || crlf < lf)) return { at: crlf, next: crlf + 4 };
  return { at: lf, next: lf + 2 };
}

function parseFrame(text: string): { event: string | undefined; data: string } | null {
  let event: string | undefined;
  const data: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("data:")) data.push(line.slice(line.charCodeAt(5) === 32 ? 6 : 5));
    else if (line.startsWith("event:")) event = line.slice(6).trim();
  }
  if (event === undefined && data.length === 0) return null;
  return { event, data: data.join("\n") };
}
