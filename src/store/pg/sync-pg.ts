import { createRequire } from "node:module";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import { redactUrl } from "../../config/shared.js";

/** A query that failed in PostgreSQL (or could not reach it); `code` is PostgreSQL's SQLSTATE. */
export class PgError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = "PgError";
  }
}

export type PgValue = string | number | boolean | null | Buffer | Uint8Array;
export type PgRow = Record<string, unknown>;

// The worker runs `pg` on its own event loop and answers one query at a time; int8 and numeric come
// back as numbers (our int8 columns are ms timestamps and counts, well inside 2^53).
const WORKER = `
const { workerData } = require("node:worker_threads");
const pg = require(workerData.pgPath);
pg.types.setTypeParser(20, Number);
pg.types.setTypeParser(1700, Number);
const { port, signal, url, timeoutMs } = workerData;
let client = null;
async function connected() {
  if (client) return client;
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
  c.on("error", () => { if (client === c) client = null; });
  c.on("end", () => { if (client === c) client = null; });
  await c.connect();
  return (client = c);
}
port.on("message", async ({ seq, sql, params }) => {
  let reply;
  try {
    const r = await (await connected()).query(sql, params);
    reply = { seq, rows: r.rows ?? [], rowCount: r.rowCount ?? 0 };
  } catch (e) {
    reply = { seq, error: { message: String((e && e.message) || e), code: (e && e.code) || null } };
  }
  port.postMessage(reply);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

interface Reply {
  seq: number;
  rows?: PgRow[];
  rowCount?: number;
  error?: { message: string; code: string | null };
}

/**
 * A synchronous PostgreSQL connection: the store interfaces are synchronous (they were written for
 * SQLite), so each call posts its query to a worker thread and blocks on an Atomics wait for the
 * answer. Used for reads at start and on reload and by the CLI; nothing on the request path calls it.
 */
export class SyncPg {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private seq = 0;

  constructor(
    readonly url: string,
    private readonly timeoutMs = 5000,
  ) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const pgPath = createRequire(import.meta.url).resolve("pg");
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { pgPath, url, timeoutMs, port: port2, signal: this.signal },
      transferList: [port2],
    });
    this.worker.unref();
  }

  query<T extends object = PgRow>(sql: string, params: PgValue[] = []): T[] {
    return this.run(sql, params).rows as T[];
  }

  /** Runs a statement; returns the number of rows it changed. */
  exec(sql: string, params: PgValue[] = []): number {
    return this.run(sql, params).rowCount ?? 0;
  }

  close(): void {
    void this.worker.terminate();
    this.port.close();
  }

  private run(sql: string, params: PgValue[]): Reply {
    const seq = ++this.seq;
    this.port.postMessage({ seq, sql, params });
    const deadline = Date.now() + this.timeoutMs * 2 + 1000;
    for (;;) {
      // Read the counter before draining: a reply landing in between changes it, so the wait returns.
      const seen = Atomics.load(this.signal, 0);
      for (let m = receiveMessageOnPort(this.port); m; m = receiveMessageOnPort(this.port)) {
        const reply = m.message as Reply;
        // An answer to an earlier call that timed out is dropped.
        if (reply.seq !== seq) continue;
        if (reply.error) throw new PgError(reply.error.message, reply.error.code);
        return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0 || Atomics.wait(this.signal, 0, seen, left) === "timed-out")
        throw new PgError(`PostgreSQL at ${redactUrl(this.url)} did not answer in time`, null);
    }
  }
}
