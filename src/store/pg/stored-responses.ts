import { globMatch } from "../../gateway/glob.js";
import type { StoredResponse, StoredResponses } from "../stored-responses.js";
import type { SyncPg } from "./sync-pg.js";

interface Row {
  id: string;
  client: string | null;
  model: string;
  created_at: string;
  expires_at: string;
  input: string;
  response: string;
}

/**
 * Stored Responses in PostgreSQL, so `previous_response_id` works whichever gateway of a fleet made the
 * response. The SQLite store's twin; a put is committed before the answer's row, so another gateway's
 * next turn finds it. JSON kept as text: the translator's own shape, read back as written.
 */
export function createPgStoredResponses(db: SyncPg, s: string): StoredResponses {
  const t = `${s}.stored_responses`;
  return {
    put(entry) {
      db.exec(
        `INSERT INTO ${t} (id, client, model, created_at, expires_at, input, response)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET client = EXCLUDED.client, model = EXCLUDED.model,
           created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at,
           input = EXCLUDED.input, response = EXCLUDED.response`,
        [
          entry.id,
          entry.client,
          entry.model,
          entry.created_at,
          entry.expires_at,
          JSON.stringify(entry.input),
          JSON.stringify(entry.response),
        ],
      );
    },
    get(id, client, now) {
      const [row] = db.query<Row>(`SELECT * FROM ${t} WHERE id = $1`, [id]);
      if (!row || Number(row.expires_at) <= now || row.client !== client) return null;
      return {
        id: row.id,
        client: row.client,
        model: row.model,
        created_at: Number(row.created_at),
        expires_at: Number(row.expires_at),
        input: JSON.parse(row.input) as unknown[],
        response: JSON.parse(row.response) as Record<string, unknown>,
      } satisfies StoredResponse;
    },
    delete: (id, client) =>
      db.query(`DELETE FROM ${t} WHERE id = $1 AND client IS NOT DISTINCT FROM $2 RETURNING id`, [id, client])
        .length > 0,
    sweep: (now, limit) =>
      db.query(
        `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${t} WHERE expires_at <= $1 LIMIT $2) RETURNING id`,
        [now, limit],
      ).length,
    clear(before = Number.MAX_SAFE_INTEGER, model) {
      if (model === undefined)
        return db.query(`DELETE FROM ${t} WHERE created_at < $1 RETURNING id`, [before]).length;
      // The model filter as the SQLite store reads it (name, bare name or glob), matched here.
      const ids = db
        .query<{ id: string; model: string }>(`SELECT id, model FROM ${t} WHERE created_at < $1`, [before])
        .filter(
          (r) =>
            r.model === model ||
            globMatch(model, r.model) ||
            r.model.slice(r.model.indexOf("/") + 1) === model,
        )
        .map((r) => r.id);
      let deleted = 0;
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        const marks = chunk.map((_, j) => `$${j + 1}`).join(", ");
        deleted += db.query(`DELETE FROM ${t} WHERE id IN (${marks}) RETURNING id`, chunk).length;
      }
      return deleted;
    },
    count: () => Number(db.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${t}`)[0]?.n ?? 0),
  };
}
