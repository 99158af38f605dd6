/** Numbered schema migrations: entry N (1-based) moves user_version from N-1 to N. Append only. */
export const migrations: readonly string[] = [
  // A rowid table appended in time order, with one index: a random TEXT primary key doubled the
  // cost of the per-request INSERT (a random B-tree page each time).
  `CREATE TABLE usage (
     id TEXT NOT NULL,                     -- the request id (x-aigw-request-id)
     started_at INTEGER NOT NULL,          -- ms since epoch
     client TEXT,
     route TEXT NOT NULL,                  -- chat | messages | embeddings
     requested_model TEXT,
     provider TEXT,
     upstream_model TEXT,
     key_id TEXT,
     status INTEGER NOT NULL,
     error_type TEXT,
     stream INTEGER NOT NULL DEFAULT 0,
     cache TEXT NOT NULL DEFAULT 'BYPASS', -- HIT | MISS | BYPASS
     attempts INTEGER NOT NULL DEFAULT 0,
     fallback_from TEXT,
     queue_wait_ms REAL,
     ttfb_ms REAL,
     latency_ms REAL NOT NULL,
     input_tokens INTEGER,
     cached_input_tokens INTEGER,
     cache_write_tokens INTEGER,
     output_tokens INTEGER,
     cost_usd REAL,
     saved_usd REAL,
     tags TEXT,
     aborted INTEGER NOT NULL DEFAULT 0,
     coalesced INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX usage_started_at ON usage (started_at);`,
  `CREATE TABLE upstream_keys (
     id TEXT PRIMARY KEY,                  -- key_xxxxxxxx, shown to people and in the usage log
     provider TEXT NOT NULL,
     label TEXT,
     secret BLOB NOT NULL,                 -- AES-256-GCM: 12-byte iv | 16-byte tag | ciphertext
     masked TEXT NOT NULL,                 -- sk-…a1b2, safe to show
     rpm INTEGER,
     tpm INTEGER,
     disabled INTEGER NOT NULL DEFAULT 0,
     invalid INTEGER NOT NULL DEFAULT 0,   -- the upstream said 401/403
     cooldown_until INTEGER,               -- ms since epoch; survives restarts
     last_used_at INTEGER,
     last_error TEXT,
     created_at INTEGER NOT NULL
   );
   CREATE INDEX upstream_keys_provider ON upstream_keys (provider);
   CREATE TABLE clients (
     name TEXT PRIMARY KEY,
     key_hash BLOB NOT NULL,               -- SHA-256 of the client key; the key itself is never stored
     key_prefix TEXT NOT NULL,             -- aigw_…, safe to show
     previous_key_hash BLOB,               -- the rotated-out key, valid until previous_expires_at
     previous_expires_at INTEGER,
     rpm INTEGER,
     tpm INTEGER,
     daily_budget_usd REAL,
     monthly_budget_usd REAL,
     models TEXT,                          -- JSON array of allowed model names/globs, NULL = all
     created_at INTEGER NOT NULL,
     revoked_at INTEGER
   );
   CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  `CREATE TABLE cache_entries (
     key TEXT PRIMARY KEY,                 -- SHA-256 hex of the answer-deciding request fields (gateway/cache-key.ts)
     namespace TEXT NOT NULL DEFAULT '',   -- x-aigw-cache-namespace; '' = default
     format TEXT NOT NULL,                 -- openai | anthropic: the wire format of body
     route TEXT NOT NULL,                  -- chat | messages | embeddings
     model TEXT NOT NULL,                  -- provider/model that produced the answer
     usage TEXT,                           -- JSON {input, cachedInput, cacheWrite, output} tokens
     cost_usd REAL,                        -- what the answer cost when made (a hit saves it); NULL = unpriced
     created_at INTEGER NOT NULL,          -- ms since epoch
     expires_at INTEGER NOT NULL,
     last_hit_at INTEGER NOT NULL,         -- last use, storing included: the LRU order
     hits INTEGER NOT NULL DEFAULT 0,
     size INTEGER NOT NULL,                -- bytes counted against cache.max_size
     body BLOB NOT NULL                    -- the complete answer, UTF-8 JSON; last, so scans of the columns above skip it
   );
   CREATE INDEX cache_entries_expires ON cache_entries (expires_at);
   CREATE INDEX cache_entries_lru ON cache_entries (last_hit_at, size);
   CREATE INDEX cache_entries_model ON cache_entries (model);`,
  // Hourly rollups of the usage log, one row per hour and dimension value (dim: all, model, client,
  // provider, key), so `aigw stats` over a million rows reads a few thousand. Filled incrementally
  // by rowid: by the gateway in the background, and by `stats` for the last moments.
  `CREATE TABLE usage_hourly (
     hour INTEGER NOT NULL,                -- ms since epoch of the UTC hour
     dim TEXT NOT NULL,
     value TEXT NOT NULL,
     requests INTEGER NOT NULL,
     errors INTEGER NOT NULL,
     cache_hits INTEGER NOT NULL,
     input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     cost_usd REAL,
     unpriced INTEGER NOT NULL,
     saved_usd REAL NOT NULL,
     latency_hist TEXT NOT NULL,           -- log-scale buckets of latency_ms: a BLOB (usage-stats.ts), JSON {bucket: count} before
     PRIMARY KEY (dim, hour, value)
   ) WITHOUT ROWID;`,
  // Responses aigw made by translation (store not false), so previous_response_id and GET/DELETE
  // /v1/responses/{id} work on providers that keep no state; swept after responses.retention.
  `CREATE TABLE stored_responses (
     id TEXT PRIMARY KEY,                  -- resp_…, the id the client got
     client TEXT,                          -- owner; another client cannot read or chain it
     model TEXT NOT NULL,                  -- provider/model that answered
     created_at INTEGER NOT NULL,          -- ms since epoch
     expires_at INTEGER NOT NULL,
     input TEXT NOT NULL,                  -- JSON: the whole conversation sent (previous turns expanded)
     response TEXT NOT NULL                -- JSON: the response object as the client got it
   );
   CREATE INDEX stored_responses_expires ON stored_responses (expires_at);`,
  // Demo answers priced as the real model they imitate: spend that was never paid.
  "ALTER TABLE usage ADD COLUMN simulated INTEGER NOT NULL DEFAULT 0;",
  // The id a provider gave a passed-through response, so `/v1/responses/{id}` reaches the provider and
  // key that made it. Written by the row's own INSERT; the partial index skips every other route's rows.
  `ALTER TABLE usage ADD COLUMN response_id TEXT;
   CREATE INDEX usage_response_id ON usage (response_id) WHERE response_id IS NOT NULL;`,
  // Daily rollups (UTC days), the same rows as usage_hourly a day at a time, so `aigw stats` over a
  // month by model reads ~200 rollups instead of ~4,000. Summed from usage_hourly by the first
  // catch-up after this migration (usage-stats.ts; meta 'rollup_daily' marks it done).
  `CREATE TABLE usage_daily (
     day INTEGER NOT NULL,                 -- ms since epoch of the UTC midnight
     dim TEXT NOT NULL,
     value TEXT NOT NULL,
     requests INTEGER NOT NULL,
     errors INTEGER NOT NULL,
     cache_hits INTEGER NOT NULL,
     input_tokens INTEGER NOT NULL,
     output_tokens INTEGER NOT NULL,
     cost_usd REAL,
     unpriced INTEGER NOT NULL,
     saved_usd REAL NOT NULL,
     latency_hist BLOB NOT NULL,           -- as usage_hourly's (usage-stats.ts)
     PRIMARY KEY (dim, day, value)
   ) WITHOUT ROWID;`,
];
