/** Numbered schema migrations: entry N (1-based) moves user_version from N-1 to N. Append only. */
export const migrations: readonly string[] = [
  `CREATE TABLE usage (
     id TEXT PRIMARY KEY,
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
     aborted INTEGER NOT NULL DEFAULT 0
   );
   CREATE INDEX usage_started_at ON usage (started_at);`,
];
