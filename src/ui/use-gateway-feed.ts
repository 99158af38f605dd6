import { useEffect, useReducer, useState } from "react";
import { type FeedAction, type FeedInput, feedReducer, initialFeedState } from "./feed-state.js";
import { parseHistory, parseStatus } from "./wire.js";

/**
 * Where the feed comes from. The real one follows a running gateway (`gatewayTransport`); tests hand
 * in a recorded event stream and a canned status.
 */
export interface FeedTransport {
  /** Events and connection changes until `signal` aborts; throwing ends the feed with that error. */
  events(signal: AbortSignal): AsyncIterable<FeedInput>;
  /** The body of `GET /aigw/status`. */
  status(signal: AbortSignal): Promise<unknown>;
  /**
   * The body of `GET /aigw/history?limit=N`, asked each time the event stream connects; without
   * it the view starts empty.
   */
  history?(signal: AbortSignal, limit: number): Promise<unknown>;
}

export interface FeedOptions {
  clock?: () => number;
  /** How often to poll the status and advance the clock. */
  pollMs?: number;
  /** Events are applied in batches at most this often, so a burst costs one render. */
  flushMs?: number;
  historyLimit?: number;
}

/** The dashboard's one data hook: owns the connection and the status poll, exposes state and "now". */
export function useGatewayFeed(transport: FeedTransport, opts: FeedOptions = {}) {
  const { clock = Date.now, pollMs = 1000, flushMs = 100, historyLimit = 500 } = opts;
  const [state, dispatch] = useReducer(feedReducer, undefined, () => initialFeedState(clock(), historyLimit));
  const [now, setNow] = useState(clock);

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    let pending: FeedAction[] = [];
    let flushTimer: NodeJS.Timeout | undefined;
    const flush = () => {
      flushTimer = undefined;
      const actions = pending;
      pending = [];
      if (actions.length) dispatch({ type: "batch", actions });
    };
    const push = (action: FeedAction) => {
      pending.push(action);
      flushTimer ??= setTimeout(flush, flushMs);
    };

    // Asked once connected, so nothing finishes unseen between the log's answer and the stream.
    const seed = async () => {
      try {
        const history = parseHistory(await transport.history?.(signal, historyLimit));
        if (!signal.aborted) push({ type: "history", history, at: clock() });
      } catch {
        // A gateway without history (or one that just went away): the view fills from events.
      }
    };

    void (async () => {
      try {
        for await (const input of transport.events(signal)) {
          push(input.type === "event" ? { ...input, at: clock() } : input);
          if (input.type === "connection" && input.state === "connected" && transport.history) void seed();
        }
      } catch (err) {
        if (!signal.aborted)
          push({ type: "failed", message: err instanceof Error ? err.message : String(err) });
      }
    })();

    let polling = false;
    const poll = async () => {
      setNow(clock());
      if (polling) return;
      polling = true;
      try {
        const status = parseStatus(await transport.status(signal));
        if (!signal.aborted) dispatch({ type: "status", status, at: clock() });
      } catch (err) {
        if (!signal.aborted) {
          dispatch({
            type: "status-failed",
            message: err instanceof Error ? err.message : String(err),
            at: clock(),
          });
        }
      } finally {
        polling = false;
      }
    };
    void poll();
    const interval = setInterval(poll, pollMs);
    return () => {
      controller.abort();
      clearInterval(interval);
      clearTimeout(flushTimer);
    };
  }, [transport, clock, pollMs, flushMs, historyLimit]);

  return { state, now };
}
