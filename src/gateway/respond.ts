import { performance } from "node:perf_hooks";
import { GatewayError } from "../errors.js";
import { upstreamFailure } from "../providers/http.js";
import { SseParser } from "../providers/sse.js";
import type { Bridge } from "../providers/translate/bridge.js";
import { responseIdFor } from "../providers/translate/responses-bridge.js";
import type { StreamTranslator } from "../providers/translate/types.js";
import {
  type HeaderDialect,
  routeFormat,
  type UpstreamResponse,
  type WireFormat,
} from "../providers/types.js";
import { createStreamWatcher, type TokenUsage, usageFromBody } from "../providers/usage.js";
import type { UsageRecord } from "../store/usage-log.js";
import { FrameRecorder } from "./cache.js";
import { errorFrame } from "./error-shape.js";
import type { RequestLedger } from "./ledger.js";
import type { GatewayRequest } from "./pipeline.js";
import type { Leg } from "./request.js";

/** What the server sends back: a JSON body, or a stream whose usage row lands when it ends. */
export interface GatewayResponse {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | null;
  stream: AsyncIterable<Uint8Array> | null;
}

/** One upstream answer on its way to the client: formats on each side, and the ledger it settles into. */
export interface Delivery {
  requestId: string;
  upstream: UpstreamResponse;
  headers: Record<string, string>;
  /** The client's format and the provider's; a bridge when they differ. */
  clientFormat: WireFormat;
  upstreamFormat: WireFormat;
  bridge: Bridge | null;
  /** Model name reported in translated answers. */
  model: string;
  label: string;
  clientWantsUsage: boolean;
  /** Where usage, the outcome and the answer for the cache go; the pipeline closes it. */
  ledger: RequestLedger;
  signal: AbortSignal;
}

/** Response headers of an upstream that must not be copied to the client. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "content-encoding",
  "upgrade",
  "te",
  "trailer",
  "proxy-authenticate",
  "proxy-authorization",
  "set-cookie",
  "date",
  "server",
  "alt-svc",
  "via",
  "cf-ray",
]);

/**
 * The upstream's headers a client may see. Its rate-limit family (its dialect's) is one key's counts,
 * not the client's: hidden when `hideRateHeaders` (aigw limits the client, or the formats differ).
 */
export function clientHeaders(
  upstream: UpstreamResponse,
  dialect: HeaderDialect | undefined,
  hideRateHeaders: boolean,
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(upstream.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    if (hideRateHeaders && dialect?.isRateHeader(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return headers;
}

/** Hands an upstream's answer to the client: passed through, or translated when formats differ. */
export function deliver(
  req: GatewayRequest,
  ledger: RequestLedger,
  leg: Leg,
  upstream: UpstreamResponse,
): GatewayResponse | Promise<GatewayResponse> {
  const { target } = leg;
  const hideRateHeaders = leg.bridge !== null || Object.keys(ledger.rateHeaders).length > 0;
  const headers = clientHeaders(upstream, target.provider.dialect, hideRateHeaders);
  headers["x-aigw-provider"] = target.label;
  headers["x-aigw-cache"] = ledger.rec.cache;
  // A translated response's id is aigw's own (a look-up of it never leaves aigw); a passed-through
  // one's is read from the answer below.
  if (req.route === "responses" && leg.bridge) ledger.rec.response_id = responseIdFor(req.id);
  const delivery: Delivery = {
    requestId: req.id,
    upstream,
    headers,
    clientFormat: routeFormat[req.route],
    upstreamFormat: leg.upstreamFormat,
    bridge: leg.bridge,
    model: target.model,
    label: target.label,
    clientWantsUsage:
      (req.body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true,
    ledger,
    signal: req.signal,
  };
  if (req.body.stream === true && upstream.status < 400) return deliverStream(delivery);
  return upstream.status >= 400 ? deliverError(delivery) : deliverJson(delivery);
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** A streamed answer larger than this is not kept for the cache (its frames are not held in memory). */
const RECORD_LIMIT = 8 * 1024 * 1024;

/** An upstream 4xx the request caused: passed through, translated into the client's shape if needed. */
export async function deliverError(d: Delivery): Promise<GatewayResponse> {
  let body = await readAll(d.upstream.body).catch((err: unknown) => {
    throw upstreamFailure(err, d.label);
  });
  if (d.bridge) {
    body = json(d.bridge.error(d.upstream.status, parseJson(body)));
    d.headers["content-type"] = "application/json";
  }
  d.ledger.end(d.upstream.status, "upstream_rejected");
  return { status: d.upstream.status, headers: d.headers, body, stream: null };
}

export async function deliverJson(d: Delivery): Promise<GatewayResponse> {
  let body: Uint8Array;
  try {
    body = await readAll(d.upstream.body);
  } catch (err) {
    throw upstreamFailure(err, d.label);
  }
  const { rec } = d.ledger;
  rec.ttfb_ms = performance.now() - d.ledger.t0;
  const parsed = parseJson(body);
  setUsage(rec, usageFromBody(d.upstreamFormat, parsed));
  // A passed-through response's id, so `/v1/responses/{id}` can be forwarded to whoever made it.
  if (!d.bridge && d.upstreamFormat === "responses") rec.response_id = stringId(parsed);
  if (d.bridge && parsed && typeof parsed === "object") {
    body = json(d.bridge.response(parsed as Record<string, unknown>, d.model));
  }
  d.ledger.end(d.upstream.status, null);
  if (d.upstream.status === 200 && d.ledger.leads) d.ledger.keep(body);
  return { status: d.upstream.status, headers: d.headers, body, stream: null };
}

/**
 * Forwards a stream frame by frame as it arrives; a watcher beside the pipe captures usage and the
 * proper end; a bridge translates frames when formats differ. When it ends, however it ends
 * (completed, upstream failure, or the client leaving), its usage and outcome go to the ledger.
 */
export function deliverStream(d: Delivery): GatewayResponse {
  const watcher = createStreamWatcher(d.upstreamFormat, d.bridge ? true : d.clientWantsUsage);
  const translator =
    d.bridge?.stream(d.model, { includeUsage: d.clientWantsUsage, requestId: d.requestId }) ?? null;
  const { ledger } = d;
  const { rec } = ledger;
  // Until the stream says otherwise: a stream never pulled was left by its client.
  ledger.end(200, "client_aborted");
  rec.aborted = true;
  // Upstream frames, kept beside the pipe only when the cache wants the whole answer.
  const recorder = ledger.leads ? new FrameRecorder(RECORD_LIMIT) : null;
  const render = (frames: ReturnType<SseParser["push"]>): string => {
    let out = "";
    for (const frame of frames) {
      if (frame.comment) {
        if (!translator) out += frame.raw; // keep-alives reach a same-format client
        continue;
      }
      recorder?.add(frame);
      const keep = watcher.observe(frame);
      if (translator) out += translator.push(frame).join("");
      else if (keep) out += frame.raw;
    }
    return out;
  };
  async function* forward(): AsyncGenerator<Uint8Array> {
    const parser = new SseParser();
    const decoder = new TextDecoder();
    let errorType: string | null = null;
    let ended = false;
    try {
      for await (const chunk of d.upstream.body) {
        const out = render(parser.push(decoder.decode(chunk, { stream: true })));
        if (!out) continue;
        rec.ttfb_ms ??= performance.now() - ledger.t0;
        yield Buffer.from(out);
      }
      let rest = render(parser.flush());
      if (watcher.errored) errorType = "upstream_error";
      else if (!watcher.complete) errorType = "upstream_truncated";
      if (errorType === "upstream_truncated") {
        // Cut off before its end: say so, rather than closing it as if the answer were complete.
        const error = new GatewayError(
          502,
          "upstream_error",
          `${d.label} ended the stream before the answer was complete`,
        );
        rest += failFrame(d, translator, error);
      } else if (translator) {
        rest += translator.end().join("");
      }
      if (rest) yield Buffer.from(rest);
      ended = true;
    } catch (err) {
      if (d.signal.aborted) {
        errorType = "client_aborted";
      } else {
        const error = upstreamFailure(err, d.label);
        errorType = error.type;
        ended = true;
        yield Buffer.from(failFrame(d, translator, error));
      }
    } finally {
      setUsage(rec, watcher.usage);
      if (!d.bridge && watcher.responseId) rec.response_id = watcher.responseId;
      rec.aborted = !ended;
      if (!ended) errorType ??= "client_aborted";
      ledger.end(200, errorType);
      if (recorder && ended && !errorType) {
        const whole = recorder.assemble(d.upstreamFormat);
        ledger.keep(whole && d.bridge ? d.bridge.response(whole, d.model) : whole);
      }
    }
  }
  return { status: d.upstream.status, headers: d.headers, body: null, stream: forward() };
}

/** A failure mid-stream: the translator's own closing frames (Responses: `response.failed`), else an error frame. */
function failFrame(d: Delivery, translator: StreamTranslator | null, error: GatewayError): string {
  const own = translator?.fail?.(error.code ?? error.type, error.message);
  return own ? own.join("") : errorFrame(d.clientFormat, error);
}

export function setUsage(rec: UsageRecord, usage: TokenUsage): void {
  rec.input_tokens = usage.input;
  rec.cached_input_tokens = usage.cachedInput;
  rec.cache_write_tokens = usage.cacheWrite;
  rec.output_tokens = usage.output;
}

function stringId(parsed: unknown): string | null {
  const id = parsed && typeof parsed === "object" ? (parsed as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id : null;
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"));
  } catch {
    return null;
  }
}

export async function readAll(body: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}
