import { createClient } from "redis";
import { redactUrl } from "../../config/shared.js";
import { globMatch } from "../../gateway/glob.js";
import { CliError } from "../cli-error.js";

/** What `aigw cache clear` matches: a model (name, bare name or glob) and/or entries older than a time. */
export interface CacheFilter {
  model?: string;
  before?: number;
}

function matches(entry: { model?: unknown; created_at?: unknown }, filter: CacheFilter): boolean {
  const model = typeof entry.model === "string" ? entry.model : "";
  const m = filter.model;
  if (m !== undefined && model !== m && !globMatch(m, model) && model.slice(model.indexOf("/") + 1) !== m)
    return false;
  return (
    filter.before === undefined || (typeof entry.created_at === "number" && entry.created_at < filter.before)
  );
}

/**
 * The response cache the fleet shares in Redis (`shared.redis`): counted and cleared along with this
 * home's SQLite copy, so no gateway keeps answering from an entry `aigw cache clear` removed.
 */
export async function withSharedCache<T>(
  url: string,
  prefix: string,
  run: (cache: { count(): Promise<number>; clear(filter: CacheFilter): Promise<number> }) => Promise<T>,
): Promise<T> {
  const client = createClient({
    url,
    disableOfflineQueue: true,
    socket: { connectTimeout: 2000, reconnectStrategy: false },
  });
  client.on("error", () => {});
  try {
    await client.connect();
  } catch (err) {
    throw new CliError(
      `cannot reach Redis at ${redactUrl(url)}: ${(err as Error).message}`,
      "check shared.redis",
    );
  }
  const match = `${prefix}:cache:*`;
  try {
    return await run({
      async count() {
        let n = 0;
        for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) n += keys.length;
        return n;
      },
      async clear(filter) {
        let deleted = 0;
        for await (const keys of client.scanIterator({ MATCH: match, COUNT: 500 })) {
          if (!keys.length) continue;
          const values = await client.mGet(keys);
          const gone = keys.filter((_, i) => {
            try {
              return matches(JSON.parse(values[i] ?? "null") ?? {}, filter);
            } catch {
              return true; // unreadable: never served, so never kept
            }
          });
          if (gone.length) deleted += await client.del(gone);
        }
        return deleted;
      },
    });
  } finally {
    client.destroy();
  }
}
