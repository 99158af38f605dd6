import { isLoopbackHost } from "../../config/net.js";
import type { Config } from "../../config/schema.js";
import type { Provider } from "../../providers/types.js";
import type { ClientStore } from "../../store/clients.js";
import type { KeyStore } from "../../store/keys.js";
import { type Check, fail, ok, plural, warn } from "./check.js";
import { answers } from "./gateway.js";

/** Checks of the providers (a key for each that needs one, local servers answering) and clients. */
export async function providerChecks(
  providers: Map<string, Provider>,
  config: Config,
  keys: KeyStore | null,
  env: NodeJS.ProcessEnv,
): Promise<Check[]> {
  const { keySource } = await import("../../gateway/key-pool.js");
  const stored = keys?.list() ?? [];
  const one = async (p: Provider): Promise<Check> => {
    const name = `provider ${p.name}`;
    const mine = stored.filter((k) => k.provider === p.name);
    const enabled = mine.filter((k) => !k.disabled);
    const disabled = mine.length - enabled.length;
    const local = p.baseUrl !== null && isLoopbackHost(new URL(p.baseUrl).hostname);
    const reach = p.baseUrl === null ? null : local ? await answers(p.baseUrl) : null;
    const where =
      p.baseUrl === null
        ? "in-process"
        : `${p.baseUrl} (${local ? (reach ? "answers" : "not answering") : "remote, not probed"})`;
    const hasKey = enabled.length > 0 || Boolean(env[p.keyEnv]);
    // keySource says "no key needed" for any openai-compatible server; a remote one usually does.
    const remoteNoKey = !hasKey && p.baseUrl !== null && !local;
    const source =
      (remoteNoKey ? "no key" : keySource(p, env, enabled.length)) +
      (disabled ? ` (+${disabled} disabled)` : "");
    const detail = `${p.type} · ${where} · ${source}`;
    const addKey = `aigw keys add ${p.name}, or set ${p.keyEnv}`;
    if (!hasKey && p.needsKey) return warn(name, detail, `requests to it fail until it has one: ${addKey}`);
    if (remoteNoKey) return warn(name, detail, `remote servers usually need a key: ${addKey}`);
    if (enabled.length && enabled.every((k) => k.invalid) && !env[p.keyEnv])
      return warn(
        name,
        `${detail}, all marked invalid by the upstream`,
        `check them with aigw keys test ${p.name}; or ${addKey}`,
      );
    if (local && !reach) {
      const hint = `start the server at ${p.baseUrl}, or ignore this if you don't use ${p.name}`;
      // A built-in entry nobody configured is not worth a warning.
      return config.providers[p.name] ? warn(name, detail, hint) : ok(name, `${detail}; fine if unused`);
    }
    return ok(name, detail);
  };
  const checks = await Promise.all([...providers.values()].map(one));
  // Keys of a provider removed from the config are never used.
  const orphans = [...new Set(stored.map((k) => k.provider))].filter((p) => !providers.has(p));
  for (const p of orphans) {
    const n = stored.filter((k) => k.provider === p).length;
    checks.push(
      warn(
        `provider ${p}`,
        `${plural(n, "stored key")}, but the config has no provider ${p}`,
        `add providers.${p} to the config, or remove them: aigw keys list, aigw keys rm <id>`,
      ),
    );
  }
  return checks;
}

export function clientsCheck(config: Config, clients: ClientStore | null): Check {
  const active = clients?.activeCount() ?? 0;
  if (!active && !isLoopbackHost(config.host))
    return fail(
      "clients",
      `none, and host ${config.host} is not loopback: aigw start refuses to listen there without client keys`,
      "aigw clients add <name>, or set host: 127.0.0.1",
    );
  if (!active) return ok("clients", "none: /v1 is open to callers on this machine, no key needed");
  return ok("clients", `${active} active: every /v1 request needs a client key`);
}
