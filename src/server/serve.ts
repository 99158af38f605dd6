import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Hono } from "hono";
import type { AppEnv } from "./app.js";
import { fastPathOf } from "./fast-path.js";

export interface RunningServer {
  url: string;
  port: number;
  /** Requests being served now (event subscribers excluded). */
  inFlight(): number;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops the rest. */
  close(graceMs?: number): Promise<void>;
}

export class PortInUseError extends Error {
  constructor(
    readonly host: string,
    readonly port: number,
  ) {
    super(
      `port ${port} on ${host} is already in use (another aigw, or another program): pick one with --port`,
    );
  }
}

type Listener = (incoming: IncomingMessage, outgoing: ServerResponse) => Promise<void>;

async function head(app: Hono<AppEnv>, req: Request, env: unknown): Promise<Response> {
  const res = await app.fetch(new Request(req.url, { headers: req.headers }), env as AppEnv["Bindings"]);
  await res.body?.cancel();
  return new Response(null, { status: res.status, headers: res.headers });
}

/** Listens on host:port. Resolves once listening; rejects with PortInUseError when taken. */
export function serve(
  app: Hono<AppEnv>,
  opts: { host: string; port: number; requestTimeout: number },
): Promise<RunningServer> {
  // @hono/node-server is loaded by the first request the fast path leaves to the app: loading it reads
  // global.Request and Response, which makes Node compile its own undici (fetch, ~15 ms in one turn),
  // a cost a gateway that only proxies never has to pay.
  let viaApp: Listener | null = null;
  let loading: Promise<Listener> | null = null;
  const toApp: Listener = (incoming, outgoing) => {
    if (viaApp) return viaApp(incoming, outgoing);
    loading ??= import("@hono/node-server").then(({ getRequestListener }) => {
      viaApp = getRequestListener(
        // Hono answers HEAD by wrapping the GET response in a new Response, which @hono/node-server's
        // lightweight Response cannot take (500); answer HEAD here from a GET instead.
        // Not async: every other request goes straight to the app, without a wrapping promise.
        (req: Request, env: unknown) =>
          req.method === "HEAD" ? head(app, req, env) : app.fetch(req, env as AppEnv["Bindings"]),
      );
      return viaApp;
    });
    return loading.then((listener) => listener(incoming, outgoing));
  };
  const fast = fastPathOf(app);
  const server = createServer(
    fast
      ? (incoming, outgoing) => {
          if (!fast(incoming, outgoing)) void toApp(incoming, outgoing);
        }
      : toApp,
  );
  // A client stalled mid-request is cut off; keep-alive outlives typical SDK idle gaps.
  server.requestTimeout = opts.requestTimeout;
  server.headersTimeout = Math.min(opts.requestTimeout, 60_000);
  server.keepAliveTimeout = 65_000;
  let inFlight = 0;
  server.on("request", (req, res) => {
    if (req.url?.startsWith("/aigw/events")) return;
    inFlight++;
    res.once("close", () => inFlight--);
  });

  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(err.code === "EADDRINUSE" ? new PortInUseError(opts.host, opts.port) : err);
    };
    server.once("error", onError);
    server.listen(opts.port, opts.host, () => {
      server.off("error", onError);
      const { port } = server.address() as AddressInfo;
      const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
      resolve({
        url: `http://${host}:${port}`,
        port,
        inFlight: () => inFlight,
        async close(graceMs = 10_000) {
          const closed = new Promise<void>((done) => server.close(() => done()));
          server.closeIdleConnections();
          const deadline = Date.now() + graceMs;
          while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
          server.closeAllConnections();
          await closed;
        },
      });
    });
  });
}
