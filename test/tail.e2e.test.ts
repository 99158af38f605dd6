/** `aigw tail -n`: the real CLI against a real gateway process, history first, then live, like tail -f. */
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeUpstream, startFakeUpstream } from "./fake-upstream.js";
import { BIN, type CliServer, runCli, startCli, tempHome, waitFor } from "./helpers.js";

let fake: FakeUpstream;
let home: ReturnType<typeof tempHome>;
let server: CliServer;
/** Request ids in the order their requests finished (they are sent one at a time). */
const sent: { id: string; ok: boolean }[] = [];
const tails: ChildProcess[] = [];

async function ask(model: string): Promise<string> {
  const res = await fetch(`${server.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model, messages: [{ role: "user", content: "hi" }] }),
  });
  await res.text();
  const id = res.headers.get("x-aigw-request-id")!;
  sent.push({ id, ok: res.ok });
  return id;
}

function tail(args: string[]) {
  const child = spawn(process.execPath, [BIN, "tail", ...args], {
    env: { ...process.env, AIGW_HOME: home.dir, NO_COLOR: "1" },
  });
  tails.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const lines = () => stdout.split("\n").filter(Boolean);
  return { lines, stderr: () => stderr, ids: () => lines().map((l) => (JSON.parse(l) as { id: string }).id) };
}

beforeAll(async () => {
  fake = await startFakeUpstream({ chunks: 2 });
  home = tempHome();
  writeFileSync(
    join(home.dir, "aigw.yaml"),
    `providers:\n  fake: { type: openai-compatible, base_url: ${fake.openaiBaseUrl} }\n`,
  );
  server = await startCli(["--port", "0"], { home: home.dir });
  for (let i = 0; i < 12; i++) await ask(i % 4 === 3 ? "nope/unknown" : "fake/gpt-test");
});

afterAll(async () => {
  for (const t of tails) if (t.exitCode === null) t.kill("SIGINT");
  server.child.kill("SIGTERM");
  await server.exited;
  await fake.close();
  home.cleanup();
});

describe("aigw tail -n", () => {
  it("prints the last 10 finished requests oldest first, then follows without repeating one", async () => {
    const t = tail(["--json"]);
    await waitFor(() => t.lines().length >= 10, 8000, "the last 10 requests");
    expect(t.ids()).toEqual(sent.slice(-10).map((s) => s.id));
    const live = await ask("fake/gpt-test");
    await waitFor(() => t.lines().length >= 11, 5000, "the live request");
    expect(t.ids().slice(10)).toEqual([live]);
    expect(new Set(t.ids()).size).toBe(t.ids().length);
  });

  it("applies --errors and --model to the history as to live lines", async () => {
    const errors = tail(["-n", "2", "--errors", "--json"]);
    await waitFor(() => errors.lines().length >= 2, 8000, "two failed requests");
    const failed = sent.filter((s) => !s.ok).map((s) => s.id);
    expect(errors.ids()).toEqual(failed.slice(-2));
    expect(errors.lines().map((l) => (JSON.parse(l) as { status: number }).status)).toEqual([404, 404]);

    const model = tail(["-n", "50", "--model", "fake/gpt-test", "--json"]);
    const okCount = sent.filter((s) => s.ok).length;
    await waitFor(() => model.lines().length >= okCount, 8000, "every answered request");
    expect(model.ids()).toEqual(sent.filter((s) => s.ok).map((s) => s.id));
  });

  it("-n 0 prints nothing from before, and a person's lines say what happened", async () => {
    const none = tail(["-n", "0"]);
    const some = tail(["-n", "1"]);
    await waitFor(() => none.stderr().includes("connected to"), 8000, "tail -n 0 to connect");
    await waitFor(() => some.lines().length >= 1, 8000, "tail -n 1");
    expect(some.lines()[0]).toMatch(/ 200 +anonymous +fake\/gpt-test → fake\/gpt-test/);
    expect(none.lines()).toEqual([]);
    await ask("nope/unknown");
    await waitFor(() => none.lines().length >= 1, 5000, "the live line");
    expect(none.lines()).toHaveLength(1);
    expect(none.lines()[0]).toMatch(/ 404 +anonymous +nope\/unknown → - .*not_found_error/);
  });

  it("refuses a count that is not a whole number from 0 to 1000, with exit code 2", async () => {
    for (const bad of ["-1", "ten", "1001"]) {
      const result = await runCli(["tail", "-n", bad], { home: home.dir });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("-n: expected a whole number from 0 to 1000");
    }
  });
});
