/**
 * Several gateways, one state: three real `aigw start` processes (separate homes and ports) on
 * loopback share one Redis and one PostgreSQL in front of one fake upstream. Then the same traffic
 * without `shared:`, to show what sharing prevents (each instance lets the whole limit through).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { BIN, type CliServer, runCli, startCli, tempHome } from "./helpers.js";
import { type PostgresService, type RedisService, startPostgres, startRedis } from "./services.js";

const RPM = 6;
/** Every instance of a fleet must share the master key that encrypts upstream keys in PostgreSQL. */
const MASTER = { AIGW_MASTER_KEY: randomBytes(32).toString("base64") };
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
    "  lim:", // an upstream allowing 4 requests a minute, however many gateways call it
    "    type: openai-compatible",
    `    base_url: ${fake.openaiBaseUrl}`,
    "    limits: { rpm: 4 }",
    "  hdr:", // no limits of its own: only what its rate-limit headers teach
    "    type: openai-compatible",
    `    base_url: ${fake.openaiBaseUrl}`,
    "queue: { max_wait: 2s }",
    "pricing:",
    '  "up/*": { input: 100000, output: 100000 }',
    ...shared,
  ];
  writeFileSync(join(h.dir, "config.yaml"), `${config.join("\n")}\n`);
  return h.dir;
}

async function fleet(shared: string[], count = 3): Promise<{ dirs: string[]; urls: string[] }> {
  const dirs = Array.from({ length: count }, () => home(shared));
  // One after another: three cold starts at once can pass the helper's start timeout on a busy machine.
  const started: CliServer[] = [];
  for (const dir of dirs) started.push(await startCli(["--port", "0"], { home: dir, env: MASTER }));
  servers.push(...started);
  return { dirs, urls: started.map((s) => s.url) };
}

async function addClient(dir: string, name: string, extra: string[] = []): Promise<string> {
  const added = await runCli(["clients", "add", name, "--json", ...extra], { home: dir, env: MASTER });
  expect(added.code, added.stderr).toBe(0);
  return (JSON.parse(added.stdout) as { key: string }).key;
}

const ask = (url: string, key: string, content: string, model = "up/m") =>
  new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions
    .create({ model, messages: [{ role: "user", content }] })
    .withResponse();

async function adminHeaders(dir: string): Promise<Record<string, string>> {
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { admin_token: string };
  return { authorization: `Bearer ${run.admin_token}` };
}

async function status(dir: string): Promise<Record<string, unknown>> {
  const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8")) as { url: string };
  const res = await fetch(`${run.url}/aigw/status`, { headers: await adminHeaders(dir) });
  return (await res.json()) as Record<string, unknown>;
}

/** Sends `total` requests round-robin over the gateways, all at once; returns how many were answered. */
async function burst(
  urls: string[],
  key: string,
  total: number,
  tag: string,
  model?: string,
): Promise<number[]> {
  const results = await Promise.all(
    Array.from({ length: total }, (_, i) =>
      ask(urls[i % urls.length]!, key, `${tag} ${i}`, model).then(
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
    // One after another, round-robin: each instance alone would answer all RPM of its share.
    const answered: number[] = [];
    for (let i = 0; i < RPM * 3; i++) {
      await ask(urls[i % 3]!, limited, `rpm ${i}`).then(
        () => answered.push(i % 3),
        (err: unknown) => expect(err).toBeInstanceOf(OpenAI.RateLimitError),
      );
    }
    sent += RPM * 3;
    expect(answered).toHaveLength(RPM);
    expect(new Set(answered).size).toBe(3);
  }, 30_000);

  it("never exceeds the upstream's concurrency of 2 across the three", async () => {
    fake.reset();
    const answered = await burst(urls, open, 12, "conc");
    sent += 12;
    expect(answered).toHaveLength(12);
    expect(fake.requests).toHaveLength(12);
    expect(fake.maxConcurrent).toBe(2);
  }, 30_000);

  it("holds an upstream's rpm across the three: the rest wait, then time out", async () => {
    fake.reset();
    const answered = await burst(urls, open, 9, "upstream rpm", "lim/m");
    sent += 9;
    expect(answered).toHaveLength(4);
    expect(fake.requests).toHaveLength(4);
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

  it("clears the fleet's cache with aigw cache clear on any home", async () => {
    const stats = await runCli(["cache", "stats", "--json"], { home: dirs[1]!, env: MASTER });
    expect(stats.code, stats.stderr).toBe(0);
    expect((JSON.parse(stats.stdout) as { shared_entries: number }).shared_entries).toBeGreaterThan(0);
    const cleared = await runCli(["cache", "clear", "--model", "up/*"], { home: dirs[1]!, env: MASTER });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/in the fleet's shared cache/);
    fake.reset();
    const again = await ask(urls[2]!, open, "cached question");
    sent += 1;
    expect(again.response.headers.get("x-aigw-cache")).toBe("MISS");
    expect(fake.requests).toHaveLength(1);
  });

  it("has identical requests in flight on two instances wait for one upstream call", async () => {
    fake.reset();
    fake.script({ match: "/v1/chat", delayMs: 400 });
    const answers = await Promise.all([
      ask(urls[0]!, open, "one flight"),
      ask(urls[1]!, open, "one flight"),
      ask(urls[1]!, open, "one flight"),
    ]);
    sent += 3;
    expect(fake.requests).toHaveLength(1);
    expect(answers.map((a) => a.response.headers.get("x-aigw-cache")).sort()).toEqual(["HIT", "HIT", "MISS"]);
    expect(new Set(answers.map((a) => a.data.choices[0]!.message.content)).size).toBe(1);
  }, 20_000);

  it("avoids on every instance a key that was 429'd through one", async () => {
    for (const label of ["a", "b"]) {
      const added = await runCli(["keys", "add", "up", "--label", label], {
        home: dirs[2]!,
        input: `sk-up-${label}`,
        env: MASTER,
      });
      expect(added.code, added.stderr).toBe(0);
    }
    await new Promise((r) => setTimeout(r, 1000)); // the keys reach every gateway (polled)
    fake.reset();
    fake.script({ match: "/v1/chat", status: 429, headers: { "retry-after": "30" } });
    const first = await ask(urls[0]!, open, "key 429");
    sent += 1;
    expect(first.response.headers.get("x-aigw-attempts")).toBe("2");
    const auth = () => fake.requests.map((r) => String(r.headers.authorization));
    const [cooled, other] = auth();
    expect(cooled).not.toBe(other);
    fake.reset();
    for (let i = 0; i < 6; i++) await ask(urls[1 + (i % 2)]!, open, `after 429 ${i}`);
    sent += 6;
    expect(auth()).toEqual(Array(6).fill(other));
  }, 30_000);

  it("stops a client whose budget was spent through the others on every instance", async () => {
    const probe = await ask(urls[0]!, open, "budget probe"); // as many tokens as each below, not cached for them
    sent += 1;
    const cost = Number(probe.response.headers.get("x-aigw-cost-usd"));
    expect(cost).toBeGreaterThan(0);
    const budget = 2;
    const spender = await addClient(dirs[0]!, "spender", ["--daily-budget", String(budget)]);
    await new Promise((r) => setTimeout(r, 700));
    let answered = 0;
    let refused: unknown = null;
    // One at a time, round-robin: spend is known after each answer, so no request is in flight at the
    // cap. The spend goes to Redis just after the answer; a health check on the same instance waits
    // that moment out (a process descheduled on a busy machine could otherwise send it late).
    for (let i = 0; i < 12 && !refused; i++) {
      sent += 1;
      await ask(urls[i % 3]!, spender, `budget ${i}`).then(
        () => answered++,
        (err: unknown) => (refused = err),
      );
      await fetch(`${urls[i % 3]}/aigw/health`);
    }
    expect(answered).toBe(Math.ceil(budget / cost));
    expect((refused as { type?: string } | null)?.type).toBe("budget_exceeded");
    for (const url of urls) {
      sent += 1;
      await expect(ask(url, spender, "budget again")).rejects.toMatchObject({ status: 429 });
    }
  }, 30_000);

  it("pauses every instance when one learns from upstream headers that requests are spent", async () => {
    fake.reset();
    const spent = { "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "30s" };
    fake.script({ match: "/v1/chat", headers: spent });
    await ask(urls[0]!, open, "spent", "hdr/m");
    sent += 1;
    const paused = async (dir: string) =>
      ((await status(dir)).limiters as { provider: string; pausedUntil: number | null }[]).some(
        (l) => l.provider === "hdr" && l.pausedUntil,
      );
    let learned = false;
    for (let i = 0; i < 40 && !learned; i++) {
      learned = await paused(dirs[1]!);
      if (!learned) await new Promise((r) => setTimeout(r, 50));
    }
    expect(learned).toBe(true);
    sent += 1;
    await expect(ask(urls[1]!, open, "after the pause", "hdr/m")).rejects.toMatchObject({ status: 429 });
    expect(fake.requests).toHaveLength(1);
  }, 20_000);

  it("shows on one instance's tail the requests another served", async () => {
    const tail = spawn(process.execPath, [BIN, "tail", "--json"], {
      env: { ...process.env, ...MASTER, AIGW_HOME: dirs[0]!, NO_COLOR: "1" },
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
      const stats = await runCli(["stats", "--json"], { home: dirs[2]!, env: MASTER });
      expect(stats.code, stats.stderr).toBe(0);
      total = (JSON.parse(stats.stdout) as { total: { requests: number } }).total.requests;
      if (total < sent) await new Promise((r) => setTimeout(r, 200));
    }
    expect(total).toBe(sent);
  }, 30_000);

  it("keeps answering when Redis stops, each instance its share of a limit, and is shared again once it is back", async () => {
    const quota = await addClient(dirs[0]!, "quota", ["--rpm", String(RPM)]);
    await new Promise((r) => setTimeout(r, 700));
    await redis.stop();
    const during = await ask(urls[0]!, open, "while redis is down");
    expect(during.response.status).toBe(200);
    for (const dir of dirs) expect((await status(dir)).shared).toBe("degraded");
    const metrics = await fetch(`${urls[0]}/aigw/metrics`, { headers: await adminHeaders(dirs[0]!) });
    expect(await metrics.text()).toMatch(/^aigw_shared_degraded 1$/m);
    // Three instances were alive: each lets a third of the rpm through on its own.
    const answered = await burst(urls, quota, RPM * 3, "share");
    expect(answered).toHaveLength(RPM);
    expect(new Set(answered).size).toBe(3);
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
    // And an upstream's rpm of 4 lets 3 through each (the client key has its own rpm: a fresh client).
    const open = await Promise.all(dirs.map((dir) => addClient(dir, "open")));
    await new Promise((r) => setTimeout(r, 700));
    const upstream = await Promise.all(urls.map((url, i) => burst([url], open[i]!, 3, `lim${i}`, "lim/m")));
    expect(upstream.flat()).toHaveLength(9);
  }, 60_000);
});
