/**
 * What aigw uses of undici: its Agent, with the request API on every dispatcher as undici's index.js
 * sets it up. index.js also loads fetch, WebSocket, EventSource, the caches, interceptors and mocks:
 * twice the code (735 KB bundled, against 375 KB), compiled at the first proxied request.
 * (Types: undici-lib.d.ts.)
 */

import api from "undici/lib/api/index.js";
import Agent from "undici/lib/dispatcher/agent.js";
import Dispatcher from "undici/lib/dispatcher/dispatcher.js";

Object.assign(Dispatcher.prototype, api);

export { Agent };
