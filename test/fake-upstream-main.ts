/**
 * CLI entry for the fake upstream, used by the benchmark as a separate process:
 *   npx tsx test/fake-upstream-main.ts --port 0 --chunks 20 --chunk-delay 0 [--latency 0] [--keys k1,k2] [--record]
 * Prints exactly one line `{"url":"http://127.0.0.1:PORT"}` on stdout once listening; exits on SIGTERM/SIGINT.
 */
import { parseArgs } from "node:util";
import { startFakeUpstream } from "./fake-upstream.js";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    chunks: { type: "string" },
    "chunk-delay": { type: "string" },
    latency: { type: "string" },
    keys: { type: "string" },
    record: { type: "boolean", default: false },
  },
  strict: true,
});

function int(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`invalid --${name}: ${v}\n`);
    process.exit(2);
  }
  return n;
}

const fake = await startFakeUpstream({
  port: int("port", values.port),
  chunks: int("chunks", values.chunks),
  chunkDelayMs: int("chunk-delay", values["chunk-delay"]),
  latencyMs: int("latency", values.latency),
  keys: values.keys ? values.keys.split(",").filter(Boolean) : undefined,
  record: values.record, // off by default: nothing reads `requests` in a separate process
});

process.stdout.write(`${JSON.stringify({ url: fake.url })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
