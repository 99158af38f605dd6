/** The real `bin/aigw` as a user runs it: start, stop, bad input, stats, tail, and a hard kill. */

import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { type CliServer, runCli, startCli, tempHome, waitFor } from "./helpers.js";

let fake: FakeUpstream;
const homes: (() => void)[] = [];
const servers: CliServer[] = [];

beforeAll(async () => {
  fake = await startFakeUpstream({ chunks: 5 });
});

afterEach(async () => {
  for (const s of servers.splice(0)) if (s.child.exitCode === null) s.child.kill("SIGKILL");
});

afterAll(async () => {
  await fake.close();
  for (const cleanup of homes) cleanup();
});

function home(config?: string): string {
  const h = tempHome();
  homes.push(h.cleanup);
  if (config) writeFileSync(join(h.dir, "aigw.yaml"), config);
  return h.dir;
}

const fakeConfig = () => `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\n`;

async function start(dir: string, args: string[] = ["--port", "0"]): Promise<CliServer> {
  const server = await startCli(args, { home: dir });
  servers.push(server);
  return server;
}

const ask = (url: string, content = "hi") =>
  new OpenAI({ apiKey: "x", baseURL: `${url}/v1`, maxRetries: 0 }).chat.completions.create({
    model: "fake/gpt-test",
    messages: [{ role: "user", content }],
  });

describe("aigw start", () => {
  it("serves, writes run.json 0600, and on SIGTERM finishes, removes it and exits 0", async () => {
    const dir = home(fakeConfig());
    const server = await start(dir);
    expect(server.output().stdout).toMatch(/providers[\s\S]*fake\s+openai-compatible/);
    expect(server.output().stdout).toContain(`curl ${server.url}/v1/chat/completions`);
    const run = JSON.parse(readFileSync(join(dir, "run.json"), "utf8"));
    expect(run).toMatchObject({ pid: server.child.pid, url: server.url });
    expect(statSync(join(dir, "run.json")).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, "aigw.db")).mode & 0o777).toBe(0o600);
    expect(statSync(dir).mode & 0o777).toBe(0o700);

    const answer = await ask(server.url);
    expect(answer.choices[0]?.message.content).toBe("Echo: hi");
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(existsSync(join(dir, "run.json"))).toBe(false);
  });

  it("lets an in-flight stream finish on SIGTERM", async () => {
    const slow = await startFakeUpstream({ chunks: 10, chunkDelayMs: 40 });
    try {
      const dir = home(`providers:\n  slow: { type: openai-compatible, base_url: ${slow.openaiBaseUrl} }\n`);
      const server = await start(dir);
      const client = new OpenAI({ apiKey: "x", baseURL: `${server.url}/v1`, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: "slow/m",
        messages: [{ role: "user", content: "a b" }],
        stream: true,
      });
      server.child.kill("SIGTERM");
      let text = "";
      for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? "";
      expect(text).toBe("Echo: a b");
      expect(await server.exited).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it("starts over a stale run.json left by a killed gateway", async () => {
    const dir = home();
    writeFileSync(
      join(dir, "run.json"),
      JSON.stringify({ pid: 2 ** 22 + 12345, url: "http://127.0.0.1:1", admin_token: "x" }),
    );
    const server = await start(dir);
    expect(JSON.parse(readFileSync(join(dir, "run.json"), "utf8")).pid).toBe(server.child.pid);
  });

  it("refuses a second gateway on the same home", async () => {
    const dir = home();
    const first = await start(dir);
    const second = await runCli(["start", "--port", "0"], { home: dir });
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`already running for ${dir} (pid ${first.child.pid}`);
  });

  it("stops with file, field and expectation on a bad config, starting nothing", async () => {
    const dir = home("port: eighty\nproviders:\n  openai: { limts: { rpm: 5 } }\n");
    const res = await runCli(["start"], { home: dir });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(join(dir, "aigw.yaml"));
    expect(res.stderr).toMatch(/port: expected number/);
    expect(res.stderr).toMatch(/providers\.openai\.limts: unknown field/);
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(existsSync(join(dir, "run.json"))).toBe(false);
  });

  it("says so in one line when the port is taken", async () => {
    const blocker = createServer().listen(0, "127.0.0.1");
    await new Promise((r) => blocker.once("listening", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const res = await runCli(["start", "--port", String(port)], { home: home() });
      expect(res.code).toBe(1);
      expect(res.stderr.trim()).toBe(
        `aigw: port ${port} on 127.0.0.1 is already in use (another aigw, or another program): pick one with --port`,
      );
    } finally {
      blocker.close();
    }
  });

  it("refuses a non-loopback host while no client keys exist", async () => {
    const res = await runCli(["start", "--host", "0.0.0.0", "--port", "0"], { home: home() });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/refusing to listen on 0\.0\.0\.0/);
    expect(res.stderr).toMatch(/aigw clients add/);
  });

  it("answers with no keys at all in --demo mode", async () => {
    const server = await start(home(), ["--demo", "--port", "0"]);
    const answer = await new OpenAI({
      apiKey: "x",
      baseURL: `${server.url}/v1`,
      maxRetries: 0,
    }).chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "Hello!" }],
    });
    expect(answer.choices[0]?.message.content).toMatch(/^Mock answer to "Hello!"/);
  });

  it("exits 2 on a usage error and 0 on --help", async () => {
    const dir = home();
    expect((await runCli(["start", "--port", "x"], { home: dir })).code).toBe(2);
    expect((await runCli(["frobnicate"], { home: dir })).code).toBe(2);
    const help = await runCli(["start", "--help"], { home: dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--demo/);
  });
});

describe("the usage log", () => {
  it("keeps every answered request's row when the gateway is killed with SIGKILL", async () => {
    const dir = home(fakeConfig());
    const server = await start(dir);
    // Answers, streams read to their end, and refusals: each answered before the kill has its row.
    // (Rows that end in one turn commit together after it; an answer waits for its row's commit.)
    const client = new OpenAI({ apiKey: "x", baseURL: `${server.url}/v1`, maxRetries: 0 });
    const streamed = async (i: number) => {
      const stream = await client.chat.completions.create({
        model: "fake/gpt-test",
        messages: [{ role: "user", content: `s${i}` }],
        stream: true,
      });
      for await (const _ of stream);
    };
    const refused = () =>
      fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{" }).then((r) => r.text());
    const n = 24;
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        i % 3 === 0 ? ask(server.url, `q${i}`) : i % 3 === 1 ? streamed(i) : refused(),
      ),
    );
    server.child.kill("SIGKILL");
    await server.exited;
    const stats = await runCli(["stats", "--json"], { home: dir });
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout).total).toMatchObject({ requests: n, errors: n / 3 });
  });

  it("aigw stats sums what was served, grouped as asked, as JSON", async () => {
    const dir = home(fakeConfig());
    const server = await start(dir);
    const answers = [await ask(server.url, "one two"), await ask(server.url, "three")];
    await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: "{}" });
    const res = await runCli(["stats", "--json", "--by", "provider"], { home: dir });
    const report = JSON.parse(res.stdout);
    expect(report.by).toBe("provider");
    expect(report.total).toMatchObject({
      requests: 3,
      errors: 1,
      input_tokens: answers.reduce((n, a) => n + a.usage!.prompt_tokens, 0),
      output_tokens: answers.reduce((n, a) => n + a.usage!.completion_tokens, 0),
    });
    expect(report.rows.find((r: { group: string }) => r.group === "fake")).toMatchObject({
      requests: 2,
      errors: 0,
    });
    const table = await runCli(["stats"], { home: dir });
    expect(table.stdout).toMatch(/fake\/gpt-test\s+2\s+0/);
    expect(table.stdout).toMatch(/total\s+3\s+1/);
  });

  it("aigw tail --json prints each finished request as one JSON line", async () => {
    const dir = home(fakeConfig());
    const server = await start(dir);
    const { spawn } = await import("node:child_process");
    const { BIN } = await import("./helpers.js");
    const tail = spawn(process.execPath, [BIN, "tail", "--json"], {
      env: { ...process.env, AIGW_HOME: dir },
    });
    let out = "";
    tail.stdout.on("data", (d) => (out += d));
    try {
      // Wait until tail is subscribed: a request made before that is not shown.
      await waitFor(
        () => {
          void ask(server.url, "ping").catch(() => {});
          return out.includes("\n");
        },
        5000,
        "tail output",
      );
      const record = JSON.parse(out.split("\n")[0]!);
      expect(record).toMatchObject({ requested_model: "fake/gpt-test", provider: "fake", status: 200 });
      expect(Object.keys(record)).toContain("latency_ms");
    } finally {
      tail.kill("SIGINT");
    }
  });
});

describe("the home folder", () => {
  it("treats an empty AIGW_HOME as unset: ~/.aigw, not the current directory", async () => {
    const user = tempHome();
    const cwd = tempHome();
    try {
      const res = await runCli(["clients", "add", "web", "--json"], {
        home: cwd.dir,
        cwd: cwd.dir,
        env: { AIGW_HOME: "", HOME: user.dir },
      });
      expect(res.code).toBe(0);
      expect(existsSync(join(user.dir, ".aigw", "aigw.db"))).toBe(true);
      expect(existsSync(join(cwd.dir, "aigw.db"))).toBe(false);
    } finally {
      user.cleanup();
      cwd.cleanup();
    }
  });
});
