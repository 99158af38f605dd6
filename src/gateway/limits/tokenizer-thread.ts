/**
 * gpt-tokenizer's o200k_base in a worker thread. Importing it costs ~350-600 ms of parsing and table
 * building and ~100 MB; on the gateway's own thread that stalled every request for that long. The worker
 * loads it while requests keep flowing; once it is in, a count is a synchronous round trip through shared
 * memory (the main thread waits on an Atomics cell, at most WAIT_MS, while the worker counts).
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** Bytes of UTF-8 a request can carry (SAMPLE_CHARS of text is at most 48 KB). */
const CAPACITY = 64 * 1024;
/**
 * A count that takes longer than this gives up and the caller falls back to its heuristic: a guard
 * against a stuck worker, far above a count's usual cost (≤ 16 ms for SAMPLE_CHARS of new text, which
 * the gateway's own thread would have spent anyway) so that a busy machine still gets exact counts.
 */
const WAIT_MS = 200;
/** Cell 0: IDLE, ASKED (text in the buffer, length in cell 1) or DONE (count in cell 2). */
const IDLE = 0;
const ASKED = 1;
const DONE = 2;

// Plain CommonJS run with `eval`, so it needs no file of its own in dist/ or a TypeScript loader in tests.
const WORKER = `(() => {
const { workerData, parentPort } = require("node:worker_threads");
const ctl = new Int32Array(workerData.sab, 0, 4);
let api;
try {
  api = require(workerData.module);
} catch (err) {
  parentPort.postMessage({ ready: false, error: String(err) });
  return;
}
// Special-token text such as "<|endoftext|>" in a prompt is plain text here, not an error.
const opts = { disallowedSpecial: new Set() };
// The first count builds the encoder's tables (tens of ms): done here, before "ready", so that no
// request's count waits for it on the gateway's thread.
try {
  api.countTokens("Warm up: hello, world! 123 ünïcödé 漢字 <|endoftext|>", opts);
} catch {}
parentPort.postMessage({ ready: true });
for (;;) {
  Atomics.wait(ctl, 0, ${IDLE});
  if (Atomics.load(ctl, 0) !== ${ASKED}) continue;
  let n = -1;
  try {
    n = api.countTokens(Buffer.from(workerData.sab, 16, ctl[1]).toString("utf8"), opts);
  } catch {}
  ctl[2] = n;
  Atomics.store(ctl, 0, ${DONE});
  Atomics.notify(ctl, 0);
}
})();
`;

export interface TokenizerThread {
  /** Resolves true once counts are exact, false if the tokenizer could not load. */
  ready: Promise<boolean>;
  /** Tokens in `text`, or null (not loaded yet, too long, busy or slow): the caller estimates instead. */
  count(text: string): number | null;
}

/** Starts the worker once `gate` resolves (tests hold it to observe the gateway before the load). */
export function startTokenizerThread(gate: Promise<unknown> = Promise.resolve()): TokenizerThread {
  const sab = new SharedArrayBuffer(16 + CAPACITY);
  const ctl = new Int32Array(sab, 0, 4);
  const bytes = new Uint8Array(sab, 16);
  const encoder = new TextEncoder();
  let loaded = false;
  const ready = gate.then(
    () =>
      new Promise<boolean>((resolve) => {
        let worker: Worker;
        try {
          const module = createRequire(import.meta.url).resolve("gpt-tokenizer/encoding/o200k_base");
          worker = new Worker(WORKER, { eval: true, workerData: { sab, module } });
        } catch {
          resolve(false);
          return;
        }
        worker.unref(); // a gateway that is stopping must not wait for it
        worker.once("message", (msg: { ready: boolean }) => {
          loaded = msg.ready;
          resolve(msg.ready);
        });
        worker.once("error", () => resolve(false));
        worker.once("exit", () => {
          loaded = false;
          resolve(false);
        });
      }),
  );
  return {
    ready,
    count(text) {
      if (!loaded) return null;
      const state = Atomics.load(ctl, 0);
      if (state === DONE)
        Atomics.store(ctl, 0, IDLE); // a late answer to a count that gave up
      else if (state === ASKED) return null; // still busy with it
      const { read, written } = encoder.encodeInto(text, bytes);
      if (read < text.length) return null;
      ctl[1] = written;
      Atomics.store(ctl, 0, ASKED);
      Atomics.notify(ctl, 0);
      if (Atomics.wait(ctl, 0, ASKED, WAIT_MS) === "timed-out" && Atomics.load(ctl, 0) !== DONE) return null;
      const n = ctl[2]!;
      Atomics.store(ctl, 0, IDLE);
      return n >= 0 ? n : null;
    },
  };
}
