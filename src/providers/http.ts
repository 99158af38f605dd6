import type { Agent } from "undici";
import { isLoopbackHost } from "../config/net.js";
import { GatewayError } from "../errors.js";
import type { UpstreamResponse } from "./types.js";

export interface HttpTimeouts {
  connect: number;
  first_byte: number;
  idle: number;
}

/** A keep-alive connection pool to one provider's origin, with its timeouts. */
export interface UpstreamHttp {
  request(opts: {
    method: "GET" | "POST" | "DELETE";
    path: string;
    headers: Record<string, string>;
    body?: string;
    signal: AbortSignal;
  }): Promise<UpstreamResponse>;
  close(): Promise<void>;
}

let undici: Promise<typeof Agent> | null = null;

/**
 * Loads undici's Agent (undici-agent.ts: its compile and evaluation spread over turns of the event
 * loop) off the start-up path: `aigw start` listens first and calls this right after, so the first
 * request normally finds it loaded.
 */
export function preloadHttp(): Promise<typeof Agent> {
  undici ??= import("./undici-agent.js").then((m) => m.loadAgent());
  return undici;
}

export function createUpstreamHttp(baseUrl: string, timeouts: HttpTimeouts): UpstreamHttp {
  const url = new URL(baseUrl);
  const origin = url.origin;
  const basePath = url.pathname.replace(/\/+$/, "");
  let agent: Agent | null = null;
  const createAgent = async (): Promise<Agent> => {
    const AgentClass = await preloadHttp();
    agent ??= new AgentClass({
      connect: { timeout: timeouts.connect },
      headersTimeout: timeouts.first_byte,
      bodyTimeout: timeouts.idle,
      keepAliveTimeout: 30_000,
      keepAliveMaxTimeout: 600_000,
    });
    return agent;
  };
  return {
    async request({ method, path, headers, body, signal }) {
      const pool = agent ?? (await createAgent());
      const res = await pool.request({ origin, path: basePath + path, method, headers, body, signal });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    },
    close: async () => {
      await agent?.close();
    },
  };
}

const TIMEOUT_PHASES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: "connecting",
  UND_ERR_HEADERS_TIMEOUT: "waiting for the first byte",
  UND_ERR_BODY_TIMEOUT: "waiting for more of the stream",
};

/**
 * Turns a failure to reach an upstream (or a stall) into the gateway's error: timeouts are 504,
 * anything else 502. `what` names the target, `host` where it was sought.
 */
export function upstreamFailure(err: unknown, what: string, host: string | null = null): GatewayError {
  if (err instanceof GatewayError) return err;
  const code = (err as { code?: string } | null)?.code;
  const phase = code ? TIMEOUT_PHASES[code] : undefined;
  const at = host ? ` at ${host}` : "";
  if (phase)
    return new GatewayError(504, "upstream_timeout", `${what} timed out ${phase}${at}`, { cause: err });
  const detail = code ?? (err instanceof Error ? err.message : String(err));
  return new GatewayError(502, "upstream_error", `${what} could not be reached${at} (${detail})`, {
    cause: err,
  });
}

/** Codes of undici's and Node's that mean a bad argument: our bug, not the network's. */
const OUR_CODES = new Set(["UND_ERR_INVALID_ARG", "UND_ERR_INVALID_RETURN_VALUE", "UND_ERR_NOT_SUPPORTED"]);

/**
 * Whether a thrown error is the network's (refused, reset, DNS, TLS, timeouts), as opposed to a bug of
 * ours (a RangeError from a body too deep to serialize, a TypeError): only the network's counts
 * against an upstream.
 */
export function isTransportError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || OUR_CODES.has(code)) return false;
  return !code.startsWith("ERR_") || code.startsWith("ERR_TLS") || code.startsWith("ERR_SSL");
}

/** The host:port a provider is reached at, for messages; null for one with no URL (the mock). */
export function hostOf(baseUrl: string | null): string | null {
  if (!baseUrl) return null;
  try {
    return new URL(baseUrl).host;
  } catch {
    return null;
  }
}

/** Whether a provider's base URL is on this machine (a local server: no key, no price, by default). */
export function isLoopbackUrl(baseUrl: string | null): boolean {
  if (!baseUrl) return true;
  return isLoopbackHost(new URL(baseUrl).hostname);
}
