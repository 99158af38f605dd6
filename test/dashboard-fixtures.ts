/** Recorded `/aigw/events` streams and a status body, for the dashboard's tests. */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { GatewayEvent } from "../src/gateway/events.js";
import type { FeedInput } from "../src/ui/feed-state.js";
import type { FeedTransport } from "../src/ui/use-gateway-feed.js";
import { parseEvent } from "../src/ui/wire.js";

const dir = resolve(import.meta.dirname, "fixtures/events");

/** `session.ndjson`: two clients, priced, unpriced, cached and failed requests, one still in flight. */
export const SESSION_T0 = Date.parse("2026-11-22T12:00:00Z");

/** The events of an NDJSON fixture (one `/aigw/events` data payload per line), parsed as the dashboard does. */
export function recordedEvents(name: string): GatewayEvent[] {
  return readFileSync(resolve(dir, name), "utf8")
    .split("\n")
    .filter((line) => line.trim())
    .map((line) => {
      const data = JSON.parse(line) as { type: string };
      const event = parseEvent(data.type, data);
      if (!event) throw new Error(`${name}: unreadable event ${line}`);
      return event;
    });
}

export function recordedStatus(): unknown {
  return JSON.parse(readFileSync(resolve(dir, "status.json"), "utf8"));
}

/** A transport replaying events once connected, then idling until aborted. */
export function replayTransport(events: GatewayEvent[], status: unknown = recordedStatus()): FeedTransport {
  return {
    async *events(signal) {
      const inputs: FeedInput[] = [
        { type: "connection", state: "connected", url: "http://127.0.0.1:4000" },
        ...events.map((event) => ({ type: "event" as const, event })),
      ];
      yield* inputs;
      await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    },
    async status() {
      return status;
    },
  };
}

/** A transport the test drives: `push` events (or connection changes) whenever it likes. */
export function controlledTransport(status: unknown = recordedStatus()) {
  const queue: FeedInput[] = [];
  let wake: (() => void) | null = null;
  const transport: FeedTransport = {
    async *events(signal) {
      signal.addEventListener("abort", () => wake?.(), { once: true });
      while (!signal.aborted) {
        while (queue.length) yield queue.shift()!;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
      }
    },
    async status() {
      return status;
    },
  };
  return {
    transport,
    push(...inputs: (GatewayEvent | FeedInput)[]) {
      for (const input of inputs) {
        queue.push(
          input.type === "event" || input.type === "connection" ? input : { type: "event", event: input },
        );
      }
      wake?.();
    },
  };
}
