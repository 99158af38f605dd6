import { followEvents } from "../commands/gateway-client.js";
import type { HomePaths } from "../config/paths.js";
import { readRunFile } from "../config/run-file.js";
import type { FeedInput } from "./feed-state.js";
import type { FeedTransport } from "./use-gateway-feed.js";
import { parseEvent } from "./wire.js";

const STATUS_TIMEOUT_MS = 2000;

/** The running gateway of a home folder: its event stream (reconnecting across restarts), status and history. */
export function gatewayTransport(paths: HomePaths): FeedTransport {
  return {
    events(signal) {
      return follow(paths, signal);
    },
    status(signal) {
      return getJson(paths, "/aigw/status", signal);
    },
    history(signal, limit) {
      return getJson(paths, `/aigw/history?limit=${limit}`, signal);
    },
  };
}

async function getJson(paths: HomePaths, path: string, signal: AbortSignal): Promise<unknown> {
  // run.json is read each time: a restarted gateway has a new port and admin token.
  const info = readRunFile(paths.runFile);
  if (!info) throw new Error("no gateway running");
  const res = await fetch(`${info.url}${path}`, {
    headers: { authorization: `Bearer ${info.admin_token}` },
    signal: AbortSignal.any([signal, AbortSignal.timeout(STATUS_TIMEOUT_MS)]),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
  return res.json();
}

/** `followEvents` (callbacks) as an async iterable. */
async function* follow(paths: HomePaths, signal: AbortSignal): AsyncGenerator<FeedInput> {
  const queue: FeedInput[] = [];
  let wake: (() => void) | null = null;
  let ended = false;
  let failure: unknown = null;
  const push = (input: FeedInput) => {
    queue.push(input);
    wake?.();
  };
  followEvents(
    paths,
    (type, data) => {
      const event = parseEvent(type, data);
      if (event) push({ type: "event", event });
    },
    { signal, onState: (state, info) => push({ type: "connection", state, url: info?.url ?? null }) },
  )
    .catch((err: unknown) => {
      failure = err;
    })
    .finally(() => {
      ended = true;
      wake?.();
    });
  for (;;) {
    while (queue.length) yield queue.shift()!;
    if (failure) throw failure;
    if (ended) return;
    await new Promise<void>((resolve) => {
      wake = resolve;
    });
    wake = null;
  }
}
