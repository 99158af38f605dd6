import { timingSafeEqual } from "node:crypto";
import { type ClientStore, hashClientKey } from "../store/clients.js";

/** What the gateway knows about a client: its limits, budgets and model allowlist. */
export interface ClientInfo {
  readonly name: string;
  readonly rpm: number | null;
  readonly tpm: number | null;
  readonly daily_budget_usd: number | null;
  readonly monthly_budget_usd: number | null;
  /** Allowed model names or globs; null allows every model. */
  readonly models: readonly string[] | null;
  readonly revoked: boolean;
}

/** Why a presented key was turned away; the 401's `code`. */
export type ClientKeyRejection = "client_key_invalid" | "client_key_revoked" | "client_key_expired";

export type ClientAuthResult = { client: ClientInfo } | { rejected: ClientKeyRejection };

interface Entry {
  hash: Buffer;
  client: ClientInfo;
  revoked: boolean;
  /** For a rotated-out key: when its grace ends (ms). */
  expiresAt: number | null;
}

/**
 * The client keys a gateway accepts, indexed by SHA-256 hash. Built from the store, rebuilt by
 * `reload()` when the CLI changes it. Revoked clients stay indexed so authentication stays on after
 * the last one is revoked (fail closed) and the 401 can say why.
 */
export class ClientIndex {
  private byHash = new Map<string, Entry>();
  private byName = new Map<string, ClientInfo>();

  constructor(private readonly store: ClientStore | null) {
    this.reload();
  }

  reload(): void {
    const byHash = new Map<string, Entry>();
    const byName = new Map<string, ClientInfo>();
    for (const stored of this.store?.credentials() ?? []) {
      const revoked = stored.revoked_at !== null;
      const client: ClientInfo = Object.freeze({
        name: stored.name,
        rpm: stored.rpm,
        tpm: stored.tpm,
        daily_budget_usd: stored.daily_budget_usd,
        monthly_budget_usd: stored.monthly_budget_usd,
        models: stored.models && Object.freeze([...stored.models]),
        revoked,
      });
      const { key_hash, previous_key_hash, previous_expires_at } = stored;
      byName.set(client.name, client);
      byHash.set(key_hash.toString("hex"), { hash: key_hash, client, revoked, expiresAt: null });
      if (previous_key_hash) {
        byHash.set(previous_key_hash.toString("hex"), {
          hash: previous_key_hash,
          client,
          revoked,
          expiresAt: previous_expires_at ?? 0,
        });
      }
    }
    this.byHash = byHash;
    this.byName = byName;
  }

  /** Whether any client was ever added: from then on every `/v1/*` request needs a key. */
  hasClients(): boolean {
    return this.byName.size > 0;
  }

  /** Every known client (revoked ones included). */
  all(): ClientInfo[] {
    return [...this.byName.values()];
  }

  /** The client by name (revoked ones included), for per-client limits and budgets. */
  get(name: string): ClientInfo | null {
    return this.byName.get(name) ?? null;
  }

  /** The client a presented key belongs to, or why it is refused. */
  authenticate(presented: string, now: number): ClientAuthResult {
    const hash = hashClientKey(presented);
    const entry = this.byHash.get(hash.toString("hex"));
    // The map finds the candidate; the constant-time comparison is what accepts it.
    if (!entry || !timingSafeEqual(entry.hash, hash)) return { rejected: "client_key_invalid" };
    if (entry.revoked) return { rejected: "client_key_revoked" };
    if (entry.expiresAt !== null && now >= entry.expiresAt) return { rejected: "client_key_expired" };
    return { client: entry.client };
  }

  /** The client a presented key belongs to, or null when it is unknown, revoked or past its grace. */
  lookup(presented: string, now: number): ClientInfo | null {
    const result = this.authenticate(presented, now);
    return "client" in result ? result.client : null;
  }
}
