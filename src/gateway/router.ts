import { ConfigError } from "../config/error.js";
import type { Config } from "../config/schema.js";
import { GatewayError } from "../errors.js";
import { claimBareModel } from "../providers/registry.js";
import type { Provider } from "../providers/types.js";

export interface Target {
  provider: Provider;
  /** Model name as the provider knows it. */
  model: string;
  /** `provider/model`, for headers, logs and messages. */
  label: string;
  /** Body fields forced on this target (a group's per-target params). */
  params?: Record<string, unknown>;
  weight: number;
}

export type Strategy = "fallback" | "round-robin" | "least-busy";

/** What a requested model name resolves to: targets in the order to try them. */
export interface Plan {
  requested: string;
  targets: Target[];
  strategy: Strategy;
}

export interface RouteEntry {
  id: string;
  kind: "provider" | "alias" | "group";
  targets: string[];
}

export interface Router {
  resolve(model: string): Plan;
  /** Everything a client can name: aliases, groups, and `provider/*`. */
  routable(): RouteEntry[];
}

/**
 * Resolves `model` in this order: a config alias or group, `provider/model`, a bare well-known name
 * (`gpt-4o-mini` → openai). In demo mode any other name goes to the mock provider.
 */
export function createRouter(opts: {
  providers: Map<string, Provider>;
  models: Config["models"];
  demo?: boolean;
}): Router {
  const { providers, models } = opts;
  const mock = [...providers.values()].find((p) => p.type === "mock");

  const direct = (name: string): Omit<Target, "params" | "weight"> | null => {
    const slash = name.indexOf("/");
    if (slash > 0) {
      const provider = providers.get(name.slice(0, slash));
      const model = name.slice(slash + 1);
      if (provider && model) return { provider, model, label: name };
    }
    const claimed = opts.demo ? mock : claimBareModel(providers, name);
    if (claimed) return { provider: claimed, model: name, label: `${claimed.name}/${name}` };
    return null;
  };

  const aliases = new Map<string, Plan>();
  for (const [name, entry] of Object.entries(models)) {
    const specs = typeof entry === "string" ? [entry] : entry.targets;
    const targets = specs.map((spec) => {
      const model = typeof spec === "string" ? spec : spec.model;
      const target = direct(model);
      if (!target) {
        throw new ConfigError(
          `models.${name}: target "${model}" is not routable (expected provider/model or a well-known model name)`,
        );
      }
      return typeof spec === "string"
        ? { ...target, weight: 1 }
        : { ...target, weight: spec.weight ?? 1, ...(spec.params ? { params: spec.params } : {}) };
    });
    aliases.set(name, {
      requested: name,
      targets,
      strategy: typeof entry === "string" ? "fallback" : entry.strategy,
    });
  }

  const routable = (): RouteEntry[] => [
    ...[...aliases].map(([id, plan]) => ({
      id,
      kind: plan.targets.length > 1 ? ("group" as const) : ("alias" as const),
      targets: plan.targets.map((t) => t.label),
    })),
    ...[...providers.keys()].map((name) => ({ id: `${name}/*`, kind: "provider" as const, targets: [] })),
  ];

  return {
    resolve(model) {
      const alias = aliases.get(model);
      if (alias) return alias;
      const target = direct(model);
      if (target) return { requested: model, targets: [{ ...target, weight: 1 }], strategy: "fallback" };
      const names = routable().map((r) => r.id);
      throw new GatewayError(
        404,
        "not_found_error",
        `The model "${model}" is not routable. Name it as provider/model, a well-known model name, or one of: ${names.join(", ")}.`,
        { code: "model_not_found" },
      );
    },
    routable,
  };
}
