/** One Server-Sent Events frame: its raw text (to forward unchanged) and its parsed fields. */
export interface SseFrame {
  raw: string;
  event: string | undefined;
  data: string;
}

/**
 * Incremental SSE parser: feed it text as it arrives, get back each frame once its terminating blank
 * line has arrived. A partial frame is held only until its end comes (a client can't use half a frame).
 */
export class SseParser {
  private buffer = "";

  push(text: string): SseFrame[] {
    this.buffer += text;
    const frames: SseFrame[] = [];
    for (;;) {
      const end = frameEnd(this.buffer);
      if (end === null) break;
      const raw = this.buffer.slice(0, end.next);
      this.buffer = this.buffer.slice(end.next);
      const frame = parseFrame(raw.slice(0, end.at));
      if (frame) frames.push({ raw, ...frame });
    }
    return frames;
  }

  /** Whatever is left when the stream ends (a frame with no terminating blank line). */
  flush(): SseFrame[] {
    const rest = this.buffer;
    this.buffer = "";
    if (!rest.trim()) return [];
    const frame = parseFrame(rest);
    return frame ? [{ raw: `${rest}\n\n`, ...frame }] : [];
  }
}

function frameEnd(buffer: string): { at: number; next: number } | null {
  const lf = buffer.indexOf("\n\n");
  const crlf = buffer.indexOf("\r\n\r\n");
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
