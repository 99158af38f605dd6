import { wellKnownModels } from "../providers/registry.js";
import type { Provider } from "../providers/types.js";
import type { Router } from "./router.js";

/** One id a client can name as `model`: an alias or group from the config, or `provider/model`. */
export interface ModelEntry {
  id: string;
  kind: "alias" | "group" | "model";
  /** Who serves it: `aigw` for aliases and groups, else the provider's name. */
  owned_by: string;
  /** What an alias or group routes to (`provider/model`); empty for a provider's model. */
  targets: string[];
  /** Where a provider's model came from: its own models endpoint, or the config and built-in defaults. */
  source: "config" | "provider" | "defaults";
}

export interface CatalogTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const realTimers: CatalogTimers = {
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface ModelCatalogOptions {
  providers: Map<string, Provider>;
  router: Router;
  /** In demo only the mock answers: list what it answers, ask no one else. */
  demo: boolean;
  /** The key to list a provider's models with; null for keyless, undefined when it has none. */
  keyFor: (provider: Provider) => string | null | undefined;
  timers?: CatalogTimers;
  refreshMs?: number;
  timeoutMs?: number;
}

/**
 * What `GET /v1/models` lists: aliases and groups, then each provider's models from its own models
 * endpoint, refreshed in the background (never on a request's path). A provider that cannot be
 * reached, or has no key, contributes the models the config names and its well-known defaults.
 */
export class ModelCatalog {
  private readonly fetched = new Map<string, string[]>();
  private timer: unknown = null;
  private refreshing: Promise<void> | null = null;

  constructor(private readonly opts: ModelCatalogOptions) {}

  /** Refreshes now and then every `refreshMs` (default 10 minutes). */
  start(): Promise<void> {
    if (this.timer === null) {
      const timers = this.opts.timers ?? realTimers;
      this.timer = timers.setInterval(() => void this.refresh(), this.opts.refreshMs ?? 600_000);
    }
    return this.refresh();
  }

  stop(): void {
    if (this.timer !== null) (this.opts.timers ?? realTimers).clearInterval(this.timer);
    this.timer = null;
  }

  /** Asks every listable provider for its models at once; one refresh at a time. */
  refresh(): Promise<void> {
    this.refreshing ??= Promise.all(this.listable().map((p) => this.fetchFrom(p))).then(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  list(): ModelEntry[] {
    const aliases: ModelEntry[] = this.opts.router
      .routable()
      .filter((e) => e.kind !== "provider")
      .map((e) => ({
        id: e.id,
        kind: e.kind === "group" ? "group" : "alias",
        owned_by: "aigw",
        targets: e.targets,
        source: "config",
      }));
    const seen = new Set(aliases.map((e) => e.id));
    const out = [...aliases];
    const named = aliases.flatMap((e) => e.targets);
    for (const provider of this.listable()) {
      const fetched = this.fetched.get(provider.name);
      const prefix = `${provider.name}/`;
      const models = fetched ?? [
        ...named.filter((t) => t.startsWith(prefix)).map((t) => t.slice(prefix.length)),
        ...wellKnownModels(provider),
      ];
      for (const model of models) {
        const id = `${prefix}${model}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({
          id,
          kind: "model",
          owned_by: provider.name,
          targets: [],
          source: fetched ? "provider" : "defaults",
        });
      }
    }
    return out;
  }

  /** The entry of any routable id, listed or not (`openai/some-new-model`); null when nothing routes it. */
  find(id: string): ModelEntry | null {
    const listed = this.list().find((e) => e.id === id);
    if (listed) return listed;
    try {
      const plan = this.opts.router.resolve(id);
      const owner = plan.targets[0]?.provider.name ?? "aigw";
      return { id, kind: "model", owned_by: owner, targets: [], source: "defaults" };
    } catch {
      return null;
    }
  }

  private listable(): Provider[] {
    const all = [...this.opts.providers.values()];
    return this.opts.demo ? all.filter((p) => p.imitates) : all;
  }

  private async fetchFrom(provider: Provider): Promise<void> {
    const key = this.opts.keyFor(provider);
    if (key === undefined) return;
    try {
      const res = await provider.probe(key, AbortSignal.timeout(this.opts.timeoutMs ?? 10_000));
      const chunks: Uint8Array[] = [];
      for await (const chunk of res.body) chunks.push(chunk);
      if (res.status !== 200) return;
      const ids = modelIds(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      if (ids.length) this.fetched.set(provider.name, ids);
    } catch {
      // Unreachable or not JSON: keep what the last refresh found, else the config's names.
    }
  }
}

/** `data[].id` of an OpenAI or Anthropic models list. */
function modelIds(body: unknown): string[] {
  const data = (body as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) return [];
  return data
    .map((m) => (m as { id?: unknown } | null)?.id)
    .filter((id): id is string => typeof id === "string" && id.length > 0);
}
