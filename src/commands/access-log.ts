import type { EventBus } from "../gateway/events.js";
import { tailLine } from "./tail.js";

export const logFormats = ["text", "json"] as const;
export type LogFormat = (typeof logFormats)[number];

/**
 * What `aigw start` prints per finished request: `--quiet` nothing, `--log-format` what was asked,
 * else the `aigw tail` line on a terminal and nothing when stdout is a pipe or file.
 */
export function accessLogFormat(opts: {
  quiet?: boolean;
  logFormat?: LogFormat;
  dashboard?: boolean;
  tty: boolean;
}): LogFormat | null {
  // The dashboard owns the terminal: a stray line would tear its frame.
  if (opts.quiet || opts.dashboard) return null;
  return opts.logFormat ?? (opts.tty ? "text" : null);
}

/** Prints one line per finished request from the in-process event bus; returns the unsubscribe. */
export function followAccessLog(
  events: EventBus,
  format: LogFormat,
  write: (line: string) => void,
): () => void {
  return events.subscribe((event) => {
    if (event.type !== "request") return;
    write(format === "json" ? `${JSON.stringify(event.record)}\n` : `${tailLine(event.record)}\n`);
  });
}
