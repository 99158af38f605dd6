import type { Db } from "./db.js";

/** A response aigw made by translation and keeps, so later requests can continue from it. */
export interface StoredResponse {
  id: string;
  client: string | null;
  model: string;
  created_at: number;
  expires_at: number;
  /** The conversation's input items up to this response (earlier turns already expanded). */
  input: unknown[];
  response: Record<string, unknown>;
}

export interface StoredResponses {
  put(entry: StoredResponse): void;
  /** The entry, or null when unknown, expired or another client's. */
  get(id: string, client: string | null, now: number): StoredResponse | null;
  delete(id: string, client: string | null): boolean;
  /** Deletes up to `limit` expired entries; returns how many. */
  sweep(now: number, limit: number): number;
  /**
   * Deletes every entry, or those created before `before` and/or made by `model` (`provider/model`, a
   * bare model name, or a glob), as `aigw cache clear` filters; returns how many.
   */
  clear(before?: number, model?: string): number;
  count(): number;
}

interface Row {
  id: string;
  client: string | null;
  model: string;
  created_at: number;
  expires_at: number;
  input: string;
  response: string;
}

export function createStoredResponses(db: Db): StoredResponses {
  const insert = db.prepare(
    `INSERT OR REPLACE INTO stored_responses (id, client, model, created_at, expires_at, input, response)
     VALUES (@id, @client, @model, @created_at, @expires_at, @input, @response)`,
  );
  const select = db.prepare<[string], Row>("SELECT * FROM stored_responses WHERE id = ?");
  const remove = db.prepare("DELETE FROM stored_responses WHERE id = ? AND client IS ?");
  const sweep = db.prepare(
    "DELETE FROM stored_responses WHERE rowid IN (SELECT rowid FROM stored_responses WHERE expires_at <= ? LIMIT ?)",
  );
  const clear = db.prepare(
    `DELETE FROM stored_responses
     WHERE created_at < @before
       AND (@model IS NULL OR model = @model OR model GLOB @model OR substr(model, instr(model, '/') + 1) = @model)`,
  );
  const count = db.prepare("SELECT COUNT(*) FROM stored_responses").pluck();
  return {
    put(entry) {
      insert.run({ ...entry, input: JSON.stringify(entry.input), response: JSON.stringify(entry.response) });
    },
    get(id, client, now) {
      const row = select.get(id);
      if (!row || row.expires_at <= now || row.client !== client) return null;
      return {
        ...row,
        input: JSON.parse(row.input) as unknown[],
        response: JSON.parse(row.response) as Record<string, unknown>,
      };
    },
    delete: (id, client) => remove.run(id, client).changes > 0,
    sweep: (now, limit) => sweep.run(now, limit).changes,
    clear: (before = Number.MAX_SAFE_INTEGER, model) => clear.run({ before, model: model ?? null }).changes,
    count: () => count.get() as number,
  };
}
