/**
 * Several gateways, one state: three real `aigw start` processes (separate homes and ports) on
 * loopback share one Redis and one PostgreSQL in front of one fake upstream. Then the same traffic
 * without `shared:`, to show what sharing prevents (each instance lets the whole limit through).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { BIN, type CliServer, runCli, startCli, tempHome } from "./helpers.js";
import { type PostgresService, type RedisService, startPostgres, startRedis } from "./services.js";

const RPM = 6;
let redis: RedisService;
let postgres: PostgresService;
let fake: FakeUpstream;
const homes: { dir: string; cleanup: () => void }[] = [];
const servers: CliServer[] = [];
const children: ChildProcess[] = [];

beforeAll(async () => {
  [redis, postgres, fake] = await Promise.all([
    startRedis(),
    startPostgres(),
    startFakeUpstream({ latencyMs: 40 }),
  ]);
}, 60_000);
afterAll(async () => {
  for (const c of children) c.kill("SIGTERM");
  for (const s of servers) s.child.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.exited));
  await Promise.all([redis?.close(), postgres?.close(), fake?.close()]);
  for (const h of homes) h.cleanup();
}, 30_000);

function home(shared: string[]): string {
  const h = tempHome();
  homes.push(h);
  const config = [
    "providers:",
    "  up:",
    "    type: openai-compatible",
    `    base_url: ${fake.openaiBaseUrl}`,
    "    limits:",
    "      concurrency: 2",
    ...shared,
  ];
  writeFileSync(join(h.dir, "config.yaml"), `${config.join("\n")}\n`);
  return h.dir;
}

async function fleet(shared: string[], count = 3): Promise<{ dirs: string[]; urls: string[] }> {
  const dirs = Array.from({ length: count }, () => home(shared));
  // One after another: three cold starts at once can pass the helper's start timeout on a busy machine.
  const started: CliServer[] = [];
  for (const dir of dirs) started.push(await startCli(["--port", "0"], { home: dir }));
  servers.push(...started);
  return { dirs, urls: started.map((s) => s.url) };
}

async function addClient(dir: string, name: string, extra: string[] = []): Promise<string> {
  const added = await runCli(["clients", "add", name, "--json", ...extra], { home: dir });
  expect(added.code, added.stderr).toBe(0);
  return (JSON.parse(added.stdout) as { key: string }).key;
}

const ask = (url: string, key: string, content: string) =>
  new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions
    .create({ model: "up/m", messages: [{ role: "user", content }] })
    .withResponse();

async function status(dir: string): Promise<Record<string, unknown>> {
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { url: string; admin_token: string };
  const res = await fetch(`${run.url}/aigw/status`, {
    headers: { authorization: `Bearer ${run.admin_token}` },
  });
  return (await res.json()) as Record<string, unknown>;
}

/** Sends `total` requests round-robin over the gateways, all at once; returns how many were answered. */
async function burst(urls: string[], key: string, total: number, tag: string): Promise<number[]> {
  const results = await Promise.all(
    Array.from({ length: total }, (_, i) =>
      ask(urls[i % urls.length]!, key, `${tag} ${i}`).then(
        () => i % urls.length,
        (err: unknown) => {
          if (err instanceof OpenAI.RateLimitError) return -1;
          throw err;
        },
      ),
    ),
  );
  return results.filter((r) => r >= 0);
}

describe("three gateways sharing Redis and PostgreSQL", () => {
  const shared = () => ["shared:", `  redis: ${redis.url}`, `  postgres: ${postgres.url}`, "  prefix: fleet"];
  let dirs: string[];
  let urls: string[];
  let open: string;
  let sent = 0;

  beforeAll(async () => {
    ({ dirs, urls } = await fleet(shared()));
    open = await addClient(dirs[0]!, "open");
  }, 60_000);

  it("lets exactly rpm requests of a client through, from traffic spread over all three", async () => {
    const limited = await addClient(dirs[1]!, "limited", ["--rpm", String(RPM)]);
    await new Promise((r) => setTimeout(r, 700)); // the new client reaches every gateway (polled every 500 ms)
    const answered = await burst(urls, limited, RPM * 3, "rpm");
    sent += RPM * 3;
    expect(answered).toHaveLength(RPM);
    // Each gateway answered some: the limit is the fleet's, not one instance's.
    expect(new Set(answered).size).toBeGreaterThan(1);
  }, 30_000);

  it("never exceeds the upstream's concurrency of 2 across the three", async () => {
    fake.reset();
    const answered = await burst(urls, open, 12, "conc");
    sent += 12;
    expect(answered).toHaveLength(12);
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxConcurrent).toBe(2);
  }, 30_000);

  it("answers from the cache of another instance: one upstream call", async () => {
    fake.reset();
    const first = await ask(urls[0]!, open, "cached question");
    const second = await ask(urls[2]!, open, "cached question");
    sent += 2;
    expect(first.response.headers.get("x-aigw-cache")).toBe("MISS");
    expect(second.response.headers.get("x-aigw-cache")).toBe("HIT");
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(fake.requests.map((r) => r.path)).toHaveLength(1);
  });

  it("shows on one instance's tail the requests another served", async () => {
    const tail = spawn(process.execPath, [BIN, "tail", "--json"], {
      env: { ...process.env, AIGW_HOME: dirs[0]!, NO_COLOR: "1" },
    });
    children.push(tail);
    let out = "";
    let err = "";
    tail.stdout.on("data", (d) => (out += d));
    tail.stderr.on("data", (d) => (err += d));
    // Until tail has subscribed, a request goes unseen: ask again (bounded) until one shows up.
    let id = "";
    for (let i = 0; i < 30 && !(id && out.includes(id)); i++) {
      const served = await ask(urls[1]!, open, `seen by tail ${i}`);
      sent += 1;
      id = served.response.headers.get("x-aigw-request-id")!;
      await new Promise((r) => setTimeout(r, 200));
    }
    tail.kill("SIGTERM");
    expect(out, err).toContain(id);
    const line = out.split("\n").find((l) => l.includes(id))!;
    expect(line).toContain('"instance"');
  }, 20_000);

  it("counts every instance's rows in aigw stats", async () => {
    let total = 0;
    for (let i = 0; i < 25 && total < sent; i++) {
      const stats = await runCli(["stats", "--json"], { home: dirs[2]! });
      expect(stats.code, stats.stderr).toBe(0);
      total = (JSON.parse(stats.stdout) as { total: { requests: number } }).total.requests;
      if (total < sent) await new Promise((r) => setTimeout(r, 200));
    }
    expect(total).toBe(sent);
  }, 30_000);

  it("keeps answering when Redis stops (status degraded), and is shared again once it is back", async () => {
    await redis.stop();
    const during = await ask(urls[0]!, open, "while redis is down");
    expect(during.response.status).toBe(200);
    expect((await status(dirs[0]!)).shared).toBe("degraded");
    await redis.start();
    let state: unknown = "degraded";
    for (let i = 0; i < 50 && state !== "shared"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      state = (await status(dirs[0]!)).shared;
    }
    expect(state).toBe("shared");
    const after = await ask(urls[0]!, open, "after redis is back");
    expect(after.response.status).toBe(200);
    const stderr = servers[0]!.output().stderr;
    expect(stderr.match(/Redis at .* is unreachable/g), stderr).toHaveLength(1);
  }, 30_000);
});

describe("three gateways without shared:", () => {
  it("let the limit through once per instance (the overshoot sharing prevents)", async () => {
    const { dirs, urls } = await fleet([]);
    const keys = await Promise.all(dirs.map((dir) => addClient(dir, "limited", ["--rpm", String(RPM)])));
    await new Promise((r) => setTimeout(r, 700));
    // The same client name in each home; each key works on its own gateway only.
    const answered = await Promise.all(urls.map((url, i) => burst([url], keys[i]!, RPM * 3, `solo${i}`)));
    expect(answered.flat()).toHaveLength(RPM * 3);
  }, 60_000);
});
