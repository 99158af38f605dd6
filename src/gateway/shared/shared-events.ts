import type { RedisClientType } from "redis";
import { EventBus, type GatewayEvent } from "../events.js";
import type { RedisLink } from "./redis-link.js";

/** An event as it travels between instances: which one served it. */
export type FleetEvent = GatewayEvent & { instance: string };

/**
 * The event bus of a fleet: what happens here is published on a Redis channel, and what other
 * instances publish is emitted here too (so `/aigw/events` of any instance shows every instance's
 * requests, each with its `instance`). Remote limiter events (cooldowns, invalid keys, open circuits)
 * are also handed to `onRemote`, so every instance skips what one has learned.
 */
export class SharedEventBus extends EventBus {
  private sub: RedisClientType | null = null;
  private readonly remote = new Set<(event: FleetEvent) => void>();
  private subscribed: Promise<void> | null = null;
  /** How this instance's own messages begin (`instance` is their first key), so they are dropped unparsed. */
  private readonly own: string;

  constructor(
    private readonly link: RedisLink,
    private readonly channel: string,
    readonly instance: string,
  ) {
    super();
    this.own = `{"instance":${JSON.stringify(instance)},`;
  }

  /** Every request is published (another instance's `tail` may be listening). */
  override get listening(): boolean {
    return true;
  }

  override emit(event: GatewayEvent): void {
    // A usage row carries its instance too, so `tail --json` says which gateway served it.
    const tagged: GatewayEvent =
      event.type === "request"
        ? { ...event, record: Object.assign({}, event.record, { instance: this.instance }) }
        : event;
    const fleet: FleetEvent = { instance: this.instance, ...tagged };
    super.emit(fleet);
    this.link.send((c) => c.publish(this.channel, JSON.stringify(fleet)));
  }

  onRemote(listener: (event: FleetEvent) => void): void {
    this.remote.add(listener);
  }

  /** Subscribes (once) on a second connection; resubscribes by itself after a Redis restart. */
  ready(): Promise<void> {
    this.subscribed ??= (async () => {
      const sub = this.link.client.duplicate() as RedisClientType;
      sub.on("error", () => {}); // the main link reports outages
      this.sub = sub;
      await sub.connect();
      await sub.subscribe(this.channel, (message) => this.receive(message));
    })().catch(() => {
      // Not reachable yet: the next "ready" of the main link tries again.
      this.sub?.destroy();
      this.subscribed = null;
    });
    return this.subscribed;
  }

  async close(): Promise<void> {
    this.sub?.destroy();
  }

  private receive(message: string): void {
    // The channel echoes this instance's own events back: skip them before parsing.
    if (message.startsWith(this.own)) return;
    let event: FleetEvent;
    try {
      event = JSON.parse(message) as FleetEvent;
    } catch {
      return;
    }
    if (event.instance === this.instance) return;
    super.emit(event);
    for (const listener of this.remote) {
      try {
        listener(event);
      } catch {
        // A remote event this instance cannot apply is only shown.
      }
    }
  }
}
