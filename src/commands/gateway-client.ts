import type { HomePaths } from "../config/paths.js";
import { type RunInfo, readRunFile } from "../config/run-file.js";
import { SseParser } from "../providers/sse.js";
import { CliError } from "./cli-error.js";

/** The running gateway of a home folder, found through run.json. */
export function findGateway(paths: HomePaths): RunInfo {
  const info = readRunFile(paths.runFile);
  if (!info) throw new CliError(`no gateway is running for ${paths.home}`, "start one with: aigw start");
  return info;
}

/**
 * Follows `/aigw/events` of the running gateway, calling `onEvent` with each parsed event. When the
 * gateway goes away it waits for one to come back (run.json again) and reconnects, telling `onState`.
 */
export async function followEvents(
  paths: HomePaths,
  onEvent: (type: string, data: unknown) => void,
  opts: {
    signal: AbortSignal;
    onState?: (state: "connected" | "waiting", info: RunInfo | null) => void;
    once?: boolean;
  },
): Promise<void> {
  let first = true;
  while (!opts.signal.aborted) {
    const info = first ? findGateway(paths) : readRunFile(paths.runFile);
    first = false;
    if (info) {
      try {
        const res = await fetch(`${info.url}/aigw/events`, {
          headers: { authorization: `Bearer ${info.admin_token}` },
          signal: opts.signal,
        });
        if (res.status === 401) throw new CliError("the gateway refused the admin token in run.json");
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        opts.onState?.("connected", info);
        const parser = new SseParser();
        const decoder = new TextDecoder();
        for await (const chunk of res.body) {
          for (const frame of parser.push(decoder.decode(chunk, { stream: true }))) {
            if (frame.event) onEvent(frame.event, JSON.parse(frame.data));
          }
        }
      } catch (err) {
        if (err instanceof CliError || opts.signal.aborted) {
          if (opts.signal.aborted) return;
          throw err;
        }
      }
    }
    if (opts.once) return;
    opts.onState?.("waiting", null);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}
