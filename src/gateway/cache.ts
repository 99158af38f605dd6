import { GatewayError } from "../errors.js";
import { assembleChat, assembleMessage, chatToFrames, messageToFrames } from "../providers/assemble.js";
import type { SseFrame } from "../providers/sse.js";
import { assembleResponse, responseToFrames } from "../providers/translate/responses-replay.js";
import type { Route, WireFormat } from "../providers/types.js";
import type { TokenUsage } from "../providers/usage.js";
import type { CacheEntry, ResponseCache } from "../store/response-cache.js";
import { cacheKey, uncacheableReason } from "./cache-key.js";
import { globMatch } from "./glob.js";
import { SWEEP_BITE } from "./housekeeping.js";
import type { Plan } from "./router.js";

/** What a client asked of the cache for one request (headers), already parsed by the server. */
export interface CacheHints {
  /** `Cache-Control: no-cache`: skip the lookup, still store. */
  noCache: boolean;
  /** `Cache-Control: no-store`: neither look up nor store. */
  noStore: boolean;
  /** `x-aigw-cache-ttl` in ms. */
  ttlMs: number | null;
  /** `x-aigw-cache-namespace`. */
  namespace: string;
  /** `x-aigw-cache-mode`. */
  mode: "replay" | "record" | null;
}

export const noCacheHints: CacheHints = {
  noCache: false,
  noStore: false,
  ttlMs: null,
  namespace: "",
  mode: null,
};

export interface CacheConfig {
  enabled: boolean;
  ttl: number;
  mode: "normal" | "replay" | "record";
  scope: "shared" | "client";
  exclude: string[];
}

/** The cache's plan for one request: its key, and whether to look up and to store. */
export interface CacheTicket {
  key: string;
  lookup: boolean;
  store: boolean;
  replayOnly: boolean;
  ttlMs: number;
  namespace: string;
  format: WireFormat;
  route: Route;
  model: string;
}

/** Collects a stream's frames beside the pipe, up to a size, to store the whole answer when it ends. */
export class FrameRecorder {
  readonly frames: SseFrame[] = [];
  private bytes = 0;
  overflow = false;

  constructor(private readonly limit: number) {}

  add(frame: SseFrame): void {
    if (this.overflow) return;
    this.bytes += frame.data.length;
    if (this.bytes > this.limit) {
      this.overflow = true;
      this.frames.length = 0;
      return;
    }
    this.frames.push(frame);
  }

  /** The complete answer in `format`, or null when the stream was cut short, errored or too big. */
  assemble(format: WireFormat): Record<string, unknown> | null {
    if (this.overflow) return null;
    if (format === "responses") return assembleResponse(this.frames);
    return format === "anthropic" ? assembleMessage(this.frames) : assembleChat(this.frames);
  }
}

/** Identical requests in flight on other gateways of a fleet (shared hot state). */
export interface RemoteFlights {
  /** The answer another gateway leading `key` will store (null if it fails); null when none leads it. */
  follow(key: string, deadline: number): Promise<CacheEntry | null> | null;
  /** Marks this gateway as the one calling upstream for `key`; the function ends the lead. */
  lead(key: string): () => void;
}

/**
 * The response cache around the pipeline: canonical keys, lookups, single-flight for identical
 * requests in flight, and replay of a stored answer as JSON or as a stream in the client's format.
 */
export class CachePolicy {
  /** Leaders of identical in-flight requests: followers wait for what the leader stores. */
  private readonly inFlight = new Map<string, Promise<CacheEntry | null>>();
  private remote: RemoteFlights | null = null;

  constructor(
    private readonly store: ResponseCache,
    private readonly config: CacheConfig,
    private readonly clock: { now(): number },
  ) {}

  /** The configured mode (a request's x-aigw-cache-mode overrides it). */
  get mode(): CacheConfig["mode"] {
    return this.config.mode;
  }

  /** Decides for one request; null means BYPASS (cache off, excluded, uncacheable or no-store). */
  ticket(opts: {
    route: Route;
    format: WireFormat;
    body: Record<string, unknown>;
    plan: Plan;
    client: string | null;
    hints: CacheHints;
    headers: Record<string, string>;
  }): CacheTicket | null {
    const { config } = this;
    const { hints, plan } = opts;
    const mode = hints.mode ?? config.mode;
    if (!config.enabled || hints.noStore) return null;
    if (this.excluded(plan)) return null;
    if (uncacheableReason(opts.route, opts.body) !== null) return null;
    const model = plan.targets
      .map((t) => (t.params ? `${t.label}${JSON.stringify(t.params)}` : t.label))
      .join("|");
    const key = cacheKey({
      format: opts.format,
      route: opts.route,
      model,
      body: opts.body,
      namespace: hints.namespace,
      client: config.scope === "client" ? opts.client : null,
      headers: opts.headers,
    });
    return {
      key,
      lookup: mode !== "record" && !hints.noCache,
      store: mode !== "replay",
      replayOnly: mode === "replay",
      ttlMs: hints.ttlMs ?? config.ttl,
      namespace: hints.namespace,
      format: opts.format,
      route: opts.route,
      model: plan.targets[0]!.label,
    };
  }

  lookup(ticket: CacheTicket): CacheEntry | null {
    return ticket.lookup ? this.store.get(ticket.key, this.clock.now()) : null;
  }

  /** Makes single-flight span every gateway sharing `remote`. */
  shareFlights(remote: RemoteFlights): void {
    this.remote = remote;
  }

  /** The answer an identical request in flight (here, or on another gateway) is about to store. */
  follow(ticket: CacheTicket, deadline: number): Promise<CacheEntry | null> | null {
    if (!ticket.lookup) return null;
    return this.inFlight.get(ticket.key) ?? this.remote?.follow(ticket.key, deadline) ?? null;
  }

  /** Marks this request as the one that calls upstream for its key; returns how to settle it. */
  lead(ticket: CacheTicket): (entry: CacheEntry | null) => void {
    let settle!: (entry: CacheEntry | null) => void;
    const promise = new Promise<CacheEntry | null>((resolve) => (settle = resolve));
    this.inFlight.set(ticket.key, promise);
    const endRemote = this.remote?.lead(ticket.key);
    return (entry) => {
      if (this.inFlight.get(ticket.key) === promise) this.inFlight.delete(ticket.key);
      settle(entry);
      endRemote?.();
    };
  }

  missError(ticket: CacheTicket): GatewayError {
    return new GatewayError(
      404,
      "cache_miss",
      `replay mode: no cached answer for model "${ticket.model}" (cache key ${ticket.key.slice(0, 16)}…); record it first without replay mode`,
      { code: "cache_miss" },
    );
  }

  /** Stores a complete answer (raw JSON bytes or an object) in the client's format. */
  put(
    ticket: CacheTicket,
    body: Uint8Array | Record<string, unknown>,
    usage: TokenUsage,
    cost: number | null,
    model: string,
  ) {
    if (!ticket.store) return null;
    const now = this.clock.now();
    return this.store.put({
      key: ticket.key,
      namespace: ticket.namespace,
      format: ticket.format,
      route: ticket.route,
      model,
      body,
      usage,
      cost_usd: cost,
      created_at: now,
      expires_at: now + ticket.ttlMs,
    });
  }

  /** A stored answer as what the client asked for: JSON bytes, or SSE frames of its own format. */
  replay(
    entry: CacheEntry,
    opts: { stream: boolean; includeUsage: boolean },
  ): { json: Uint8Array } | { frames: string[] } {
    if (!opts.stream) return { json: entry.raw ?? Buffer.from(JSON.stringify(entry.body)) };
    const body = entry.body as Record<string, unknown>;
    if (entry.format === "anthropic") return { frames: messageToFrames(body) };
    if (entry.format === "responses") return { frames: responseToFrames(body) };
    // Embeddings have no stream form; chat answers are replayed as chunks.
    return { frames: chatToFrames(body, { includeUsage: opts.includeUsage }) };
  }

  /** Writes the hit counts of answers served from memory since the last flush. */
  flushHits(): number {
    return this.store.flushHits();
  }

  sweep(): number {
    return this.store.sweepExpired(this.clock.now(), SWEEP_BITE);
  }

  private excluded(plan: Plan): boolean {
    const names = [plan.requested, ...plan.targets.map((t) => t.label)];
    return this.config.exclude.some((pattern) => names.some((name) => globMatch(pattern, name)));
  }
}
