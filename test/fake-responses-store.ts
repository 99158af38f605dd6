/**
 * The fake upstream's stored responses, as OpenAI keeps them: what `POST /v1/responses` made (store
 * not false), visible only to the key that made it (a key belongs to one project), served by
 * `GET`/`DELETE /v1/responses/{id}`, `/input_items` and `/cancel` with OpenAI's bodies and errors.
 */

type Obj = Record<string, unknown>;

const PATH = /^\/v1\/responses\/([^/]+)(\/input_items|\/cancel)?$/;

export interface FakeAnswer {
  status: number;
  body: unknown;
  /** A resumed stream (`?stream=true`): its events after `starting_after`. */
  frames?: string[];
}

const notFound = (id: string): FakeAnswer => ({
  status: 404,
  body: {
    error: {
      message: `Response with id '${id}' not found.`,
      type: "invalid_request_error",
      param: null,
      code: null,
    },
  },
});

export class FakeResponseStore {
  private readonly byId = new Map<
    string,
    { key: string | undefined; response: Obj; input: unknown[]; frames: string[] }
  >();

  /** Whether `method path` is one of the stored-response resources. */
  static matches(method: string, path: string): boolean {
    const m = PATH.exec(path);
    if (!m) return false;
    if (m[2] === "/cancel") return method === "POST";
    return method === "GET" || (method === "DELETE" && m[2] === undefined);
  }

  keep(response: Obj, body: Obj, key: string | undefined, frames: string[]): void {
    if (body.store === false) return;
    const input = typeof body.input === "string" ? [{ role: "user", content: body.input }] : body.input;
    this.byId.set(String(response.id), { key, response, input: Array.isArray(input) ? input : [], frames });
  }

  clear(): void {
    this.byId.clear();
  }

  answer(method: string, path: string, query: URLSearchParams, key: string | undefined): FakeAnswer {
    const [, rawId = "", sub] = PATH.exec(path) ?? [];
    const id = decodeURIComponent(rawId);
    const entry = this.byId.get(id);
    if (!entry || entry.key !== key) return notFound(id);
    if (sub === "/cancel") {
      const message = "Only responses created with background=true can be cancelled.";
      return {
        status: 400,
        body: { error: { message, type: "invalid_request_error", param: null, code: null } },
      };
    }
    if (sub === "/input_items") {
      const data = entry.input.map((item, i) => ({ id: `msg_in_${i}`, ...(item as Obj) })).reverse();
      return {
        status: 200,
        body: {
          object: "list",
          data,
          first_id: data[0]?.id ?? null,
          last_id: data.at(-1)?.id ?? null,
          has_more: false,
        },
      };
    }
    if (method === "DELETE") {
      this.byId.delete(id);
      return { status: 200, body: { id, object: "response", deleted: true } };
    }
    if (query.get("stream") === "true") {
      // Event i of the stream has sequence_number i.
      const after = Number(query.get("starting_after") ?? -1);
      return { status: 200, body: null, frames: entry.frames.slice(after + 1) };
    }
    return { status: 200, body: entry.response };
  }
}
