import { upstreamFailure } from "../providers/http.js";
import type { Provider } from "../providers/types.js";
import type { UsageLog } from "../store/usage-log.js";
import type { KeyPool } from "./key-pool.js";
import { clientHeaders, type GatewayResponse, readAll } from "./respond.js";

/** A look-up of a response aigw does not hold: `GET`/`DELETE /v1/responses/{id}`, `/input_items`, `/cancel`. */
export interface ResponseLookup {
  responseId: string;
  method: "GET" | "DELETE" | "POST";
  /** The sub-resource after `/v1/responses/{id}`: "", "/input_items" or "/cancel". */
  subpath: "" | "/input_items" | "/cancel";
  client: string | null;
  /** Client headers some provider honours (`openai-organization`, ...). */
  headers: Record<string, string>;
  query: string;
  signal: AbortSignal;
}

export interface ResponseOriginDeps {
  usage: UsageLog;
  providers: Map<string, Provider>;
  keys: KeyPool;
}

/**
 * Where a response id lives. A passed-through response's usage row names its provider, key and
 * client: only that client may reach it, with that key (a key belongs to one OpenAI project). A
 * translated one's row names a provider without the Responses API: it was aigw's own, and is gone.
 * An id aigw never saw goes to the default Responses provider, but only when there are no clients
 * (the caller is the gateway's owner), since nobody's ownership of it can be checked.
 */
export function responseOrigin(
  deps: ResponseOriginDeps,
  responseId: string,
  client: string | null,
): { provider: Provider; keyId: string | null } | null {
  const origin = deps.usage.responseOrigin(responseId);
  if (origin) {
    const provider = deps.providers.get(origin.provider);
    if (origin.client !== client || !provider?.formats.includes("responses")) return null;
    return { provider, keyId: origin.key_id };
  }
  if (client !== null) return null;
  const native = [...deps.providers.values()].filter((p) => p.formats.includes("responses"));
  const provider = native.length === 1 ? native[0] : native.find((p) => p.type === "openai");
  return provider ? { provider, keyId: null } : null;
}

/**
 * Forwards a look-up to the provider that made the response, with the key it used; its answer (an
 * error included, already in OpenAI's shape) goes back as it came, a resumed stream chunk by chunk.
 * Null when no provider can be named: the caller answers 404.
 */
export async function forwardResponseLookup(
  deps: ResponseOriginDeps,
  req: ResponseLookup,
): Promise<GatewayResponse | null> {
  const origin = responseOrigin(deps, req.responseId, req.client);
  if (!origin) return null;
  const { provider } = origin;
  const got = deps.keys.leaseFor(provider, origin.keyId);
  const what = `${provider.name} (${req.method} /v1/responses/{id}${req.subpath})`;
  let upstream: Awaited<ReturnType<Provider["send"]>>;
  try {
    upstream = await provider.send({
      route: "responses",
      method: req.method,
      subpath: `/${encodeURIComponent(req.responseId)}${req.subpath}`,
      body: {},
      stream: false,
      key: got.secret,
      headers: req.headers,
      query: req.query,
      signal: req.signal,
    });
  } catch (err) {
    throw upstreamFailure(err, what);
  }
  const headers = clientHeaders(upstream, provider.dialect, req.client !== null);
  headers["x-aigw-provider"] = provider.name;
  headers["x-aigw-attempts"] = "1";
  if (String(headers["content-type"]).includes("text/event-stream"))
    return { status: upstream.status, headers, body: null, stream: upstream.body };
  const body = await readAll(upstream.body).catch((err: unknown) => {
    throw upstreamFailure(err, what);
  });
  return { status: upstream.status, headers, body, stream: null };
}
