import { redactUrl } from "../../config/shared.js";
import { rollupDdl } from "./rollup.js";
import { PgError, SyncPg } from "./sync-pg.js";

/** The tables aigw keeps in PostgreSQL, all inside the schema named by `shared.prefix`. */
function ddl(s: string): string {
  return `
  CREATE SCHEMA IF NOT EXISTS ${s};
  CREATE TABLE IF NOT EXISTS ${s}.meta (name text PRIMARY KEY, value text NOT NULL);
  CREATE TABLE IF NOT EXISTS ${s}.changes (id int PRIMARY KEY, version bigint NOT NULL);
  INSERT INTO ${s}.changes VALUES (1, 0) ON CONFLICT DO NOTHING;
  CREATE TABLE IF NOT EXISTS ${s}.usage (
    id text PRIMARY KEY, instance text, started_at bigint NOT NULL, client text, route text NOT NULL,
    requested_model text, provider text, upstream_model text, key_id text, status int NOT NULL,
    error_type text, stream boolean NOT NULL, cache text NOT NULL, attempts int NOT NULL,
    fallback_from text, queue_wait_ms double precision, ttfb_ms double precision,
    latency_ms double precision NOT NULL, input_tokens bigint, cached_input_tokens bigint,
    cache_write_tokens bigint, output_tokens bigint, cost_usd double precision, saved_usd double precision,
    tags text, aborted boolean NOT NULL, coalesced boolean NOT NULL,
    simulated boolean NOT NULL DEFAULT false);
  ALTER TABLE ${s}.usage ADD COLUMN IF NOT EXISTS simulated boolean NOT NULL DEFAULT false;
  ALTER TABLE ${s}.usage ADD COLUMN IF NOT EXISTS response_id text;
  CREATE INDEX IF NOT EXISTS usage_started_at ON ${s}.usage (started_at);${rollupDdl(s)}
  CREATE TABLE IF NOT EXISTS ${s}.upstream_keys (
    id text PRIMARY KEY, provider text NOT NULL, label text, secret bytea NOT NULL, masked text NOT NULL,
    rpm int, tpm int, disabled boolean NOT NULL DEFAULT false, invalid boolean NOT NULL DEFAULT false,
    cooldown_until bigint, last_error text, created_at bigint NOT NULL);
  CREATE TABLE IF NOT EXISTS ${s}.clients (
    name text PRIMARY KEY, key_hash bytea NOT NULL, key_prefix text NOT NULL, rpm int, tpm int,
    daily_budget_usd double precision, monthly_budget_usd double precision, models text,
    created_at bigint NOT NULL, revoked_at bigint, previous_key_hash bytea, previous_expires_at bigint);
  CREATE TABLE IF NOT EXISTS ${s}.stored_responses (
    id text PRIMARY KEY, client text, model text NOT NULL, created_at bigint NOT NULL,
    expires_at bigint NOT NULL, input text NOT NULL, response text NOT NULL);
  CREATE INDEX IF NOT EXISTS stored_responses_expires_at ON ${s}.stored_responses (expires_at);
  -- Every change to keys or clients bumps one version, which running gateways poll.
  CREATE OR REPLACE FUNCTION ${s}.bump() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN UPDATE ${s}.changes SET version = version + 1 WHERE id = 1; RETURN NULL; END';
  CREATE OR REPLACE TRIGGER keys_changed AFTER INSERT OR UPDATE OR DELETE ON ${s}.upstream_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.bump();
  CREATE OR REPLACE TRIGGER clients_changed AFTER INSERT OR UPDATE OR DELETE ON ${s}.clients
    FOR EACH STATEMENT EXECUTE FUNCTION ${s}.bump();`;
}

/** A schema name is the validated prefix, quoted so it can never be read as SQL. */
export function schemaName(prefix: string): string {
  if (!/^[a-z][a-z0-9_]{0,39}$/.test(prefix)) throw new Error(`invalid shared.prefix "${prefix}"`);
  return `"${prefix}"`;
}

/**
 * Connects (synchronously) and creates the schema if needed. Several gateways starting at once take
 * turns through an advisory lock. PostgreSQL unreachable is a clear error naming the (redacted) URL.
 */
export function openPg(url: string, prefix: string): { db: SyncPg; schema: string } {
  const db = new SyncPg(url);
  const schema = schemaName(prefix);
  try {
    db.exec(`BEGIN; SELECT pg_advisory_xact_lock(7242737); ${ddl(schema)} COMMIT;`);
  } catch (err) {
    db.close();
    const reason = err instanceof PgError ? err.message : String(err);
    throw new PgError(`cannot use PostgreSQL at ${redactUrl(url)}: ${reason}`, (err as PgError).code ?? null);
  }
  return { db, schema };
}
