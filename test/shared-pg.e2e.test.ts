/**
 * `shared.postgres`: two real `aigw start` processes with separate homes share one PostgreSQL: a client
 * added through one home's CLI is accepted by the other gateway, a revoke reaches both within a second,
 * and `aigw stats` counts the rows of both. Unreachable PostgreSQL at start is a clear error.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type CliServer, runCli, startCli, tempHome } from "./helpers.js";
import { freePort, type PostgresService, startPostgres } from "./services.js";

let postgres: PostgresService;
let fake: FakeUpstream;
const homes: { dir: string; cleanup: () => void }[] = [];
const servers: CliServer[] = [];

function home(postgresUrl: string, prefix = "pgtest", extra: string[] = []): string {
  const h = tempHome();
  homes.push(h);
  const config = [
    "providers:",
    "  up:",
    "    type: openai-compatible",
    `    base_url: ${fake.openaiBaseUrl}`,
    "cache:",
    "  enabled: false",
    "shared:",
    `  postgres: ${postgresUrl}`,
    `  prefix: ${prefix}`,
    ...extra,
  ].join("\n");
  writeFileSync(join(h.dir, "config.yaml"), `${config}\n`);
  return h.dir;
}

beforeAll(async () => {
  [postgres, fake] = await Promise.all([startPostgres(), startFakeUpstream()]);
}, 60_000);
afterAll(async () => {
  for (const s of servers) s.child.kill("SIGTERM");
  await Promise.all(servers.map((s) => s.exited));
  await Promise.all([postgres?.close(), fake?.close()]);
  for (const h of homes) h.cleanup();
}, 30_000);

const ask = (url: string, key: string) =>
  new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions.create({
    model: "up/m",
    messages: [{ role: "user", content: "hi" }],
  });

describe("shared.postgres", () => {
  it("shares clients and the usage log between two gateways", async () => {
    const [a, b] = [home(postgres.url), home(postgres.url)];
    const added = await runCli(["clients", "add", "team", "--json"], { home: a });
    expect(added.code, added.stderr).toBe(0);
    const { key } = JSON.parse(added.stdout) as { key: string };
    servers.push(await startCli(["--port", "0"], { home: a }), await startCli(["--port", "0"], { home: b }));
    const [ga, gb] = servers as [CliServer, CliServer];
    // Home b never saw `clients add`: the client comes from PostgreSQL.
    await ask(ga.url, key);
    await ask(gb.url, key);
    await ask(gb.url, key);

    let total = 0;
    const deadline = Date.now() + 5000;
    while (total < 3 && Date.now() < deadline) {
      const stats = await runCli(["stats", "--json", "--by", "client"], { home: a });
      expect(stats.code, stats.stderr).toBe(0);
      total = (JSON.parse(stats.stdout) as { total: { requests: number } }).total.requests;
    }
    expect(total).toBe(3);
    const list = await runCli(["clients", "list", "--json"], { home: b });
    expect(list.stdout).toContain('"team"');

    const revoked = await runCli(["clients", "revoke", "team"], { home: b });
    expect(revoked.code, revoked.stderr).toBe(0);
    let refused = false;
    // Bounded: 30 tries 100 ms apart; the change is polled every 500 ms.
    for (let i = 0; i < 30 && !refused; i++) {
      refused = await ask(ga.url, key).then(
        () => false,
        (err: unknown) => err instanceof OpenAI.AuthenticationError,
      );
      if (!refused) await new Promise((r) => setTimeout(r, 100));
    }
    expect(refused).toBe(true);
  }, 90_000);

  it("continues on one gateway a Responses conversation another one stored", async () => {
    const [a, b] = [home(postgres.url, "pgresp"), home(postgres.url, "pgresp")];
    const [ga, gb] = [
      await startCli(["--port", "0"], { home: a }),
      await startCli(["--port", "0"], { home: b }),
    ];
    servers.push(ga, gb);
    const client = (url: string) => new OpenAI({ apiKey: "none", baseURL: `${url}/v1`, maxRetries: 0 });
    const first = await client(ga.url).responses.create({ model: "up/m", input: "remember the word teal" });
    fake.reset();
    const second = await client(gb.url).responses.create({
      model: "up/m",
      input: "which word?",
      previous_response_id: first.id,
    });
    expect(second.output_text).toContain("which word?");
    // Gateway b sent the whole conversation upstream: the turn gateway a answered included.
    const sent = JSON.stringify(fake.requests.at(-1)?.body.messages);
    expect(sent).toContain("remember the word teal");
    expect(sent).toContain(first.output_text);
    await expect(
      client(ga.url).responses.create({ model: "up/m", input: "x", previous_response_id: "resp_unknown" }),
    ).rejects.toMatchObject({ status: 400 });
    // `aigw cache clear` in another home clears the fleet's stored responses in PostgreSQL.
    const other = home(postgres.url, "pgresp");
    const missed = await runCli(["cache", "clear", "--only", "responses", "--model", "nope/*", "--yes"], {
      home: other,
    });
    expect(missed.stdout).toContain("deleted 0 stored responses");
    const cleared = await runCli(["cache", "clear", "--only", "responses", "--model", "m", "--yes"], {
      home: other,
    });
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toContain("deleted 2 stored responses");
    await expect(client(gb.url).responses.retrieve(second.id)).rejects.toMatchObject({ status: 404 });
  }, 60_000);

  it("starts a new gateway's budgets from the spend every gateway logged", async () => {
    const priced = ["pricing:", '  "up/*": { input: 100000, output: 100000 }'];
    const [a, c] = [home(postgres.url, "pgbudget", priced), home(postgres.url, "pgbudget", priced)];
    const added = await runCli(["clients", "add", "payer", "--json", "--daily-budget", "1"], { home: a });
    const { key } = JSON.parse(added.stdout) as { key: string };
    const ga = await startCli(["--port", "0"], { home: a });
    servers.push(ga);
    await ask(ga.url, key); // more than half of $1 each
    await ask(ga.url, key); // spent
    await expect(ask(ga.url, key)).rejects.toMatchObject({ status: 429 });
    // Once a's rows are in PostgreSQL, a gateway started from another home refuses the client too.
    for (let i = 0, total = 0; i < 50 && total < 3; i++) {
      const stats = await runCli(["stats", "--json"], { home: c });
      total = (JSON.parse(stats.stdout) as { total: { requests: number } }).total.requests;
      if (total < 3) await new Promise((r) => setTimeout(r, 100));
    }
    const gc = await startCli(["--port", "0"], { home: c });
    servers.push(gc);
    await expect(ask(gc.url, key)).rejects.toMatchObject({ status: 429, type: "budget_exceeded" });
  }, 60_000);

  it("refuses to start when PostgreSQL cannot be reached, naming it without the password", async () => {
    const port = await freePort();
    const dir = home(`postgres://aigw:hunter2@127.0.0.1:${port}/aigw`);
    const result = await runCli(["start", "--port", "0"], { home: dir, timeoutMs: 20_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot use PostgreSQL at postgres://aigw:***@127.0.0.1:${port}/aigw`);
    expect(result.stderr).not.toContain("hunter2");
  }, 30_000);
});
