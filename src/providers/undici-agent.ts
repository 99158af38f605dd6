/**
 * What aigw uses of undici: its Agent, with the request API on every dispatcher as undici's index.js
 * sets it up. index.js also loads fetch, WebSocket, EventSource, the caches, interceptors and mocks:
 * twice the code (735 KB bundled, against 375 KB), compiled at the first proxied request.
 */
// @ts-expect-error: undici ships types for its index only; the classes are the same (see below).

// @ts-expect-error: as above.
import api from "undici/lib/api/index.js";
import AgentClass from "undici/lib/dispatcher/agent.js";
// @ts-expect-error: as above.
import DispatcherClass from "undici/lib/dispatcher/dispatcher.js";

Object.assign((DispatcherClass as { prototype: object }).prototype, api);

export const Agent = AgentClass as typeof import("undici").Agent;
