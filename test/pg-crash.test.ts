/**
 * Crash recovery and events through the CLI on a PostgreSQL store (`--store postgres://…`): `akts run` is
 * SIGKILLed mid-session, `akts resume` finishes it; `akts event` reaches a waiting session. Each test has its own
 * database on a private server (pg-server.ts).
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawn } from "node:child_process";
import { akts, CLI, killWhenLines, lines, ROOT, RUN_STARTED, tempDir } from "./helpers";
import { startPgServer, type PgServer } from "./pg-server";
import { crashThenResume, CRASH_MANIFEST, lastJson, stepsEvent } from "./crash-steps";

const MANIFEST = CRASH_MANIFEST;

let pg: PgServer;
let databases = 0;
beforeAll(async () => {
  pg = await startPgServer();
  // Compile once, so the crash runs below measure recovery, not the first compile.
  const dir = tempDir("pg-warm");
  const r = akts(["run", MANIFEST, "--trigger", "steps", "--event", stepsEvent(dir), "--store", await pg.createDatabase("warm")]);
  expect(r.stderr).toMatch(RUN_STARTED);
  expect(r.code).toBe(0);
});
afterAll(() => pg?.stop());

function waitsEvent(dir: string): string {
  const file = path.join(dir, "event.json");
  fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), steps: 0, pauseMs: 100, sleepMs: 1 }));
  return file;
}

function sessions(store: string, status?: string): any[] {
  const r = akts(["sessions", "--store", store, "--json", ...(status ? ["--status", status] : [])]);
  expect(r.stderr).toBe("");
  return JSON.parse(r.stdout).map((s: { session_id: string }) => ({ ...s, id: s.session_id }));
}

async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (const end = Date.now() + 30_000; Date.now() < end; ) {
    const got = probe();
    if (got !== undefined) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("durable on PostgreSQL: SIGKILL after k side effects, then resume", () => {
  test.each([1, 2, 3, 4, 5])("k = %i", async (k) => {
    await crashThenResume(tempDir(`pg-durable-${k}`), await pg.createDatabase(`crash_${k}_${++databases}`), k);
  });
});

describe("events on PostgreSQL", () => {
  test("akts event wakes a session waiting in nextEvent", async () => {
    const dir = tempDir("pg-event-live");
    const store = await pg.createDatabase(`event_live_${++databases}`);
    const run = startCli(["run", MANIFEST, "--trigger", "waits", "--event", waitsEvent(dir), "--store", store]);
    const waiting = await until("a waiting session", () => sessions(store, "waiting")[0]);
    await until("the sleep to end", () => (lines(path.join(dir, "log")).includes("after sleep") ? true : undefined));
    const delivered = akts(["event", waiting.id, "approval", "--data", '{"by":"ada"}', "--store", store]);
    expect(delivered.stderr).toBe("");
    expect(JSON.parse(delivered.stdout)).toMatchObject({ session_id: waiting.id, event_id: expect.stringMatching(/^evt_/) });
    const { code, stdout, stderr } = await run;
    expect(code, stderr).toBe(0);
    expect(lastJson(stdout)).toMatchObject({ session_id: waiting.id, status: "completed", result: { approvedBy: "ada" } });
    expect(lines(path.join(dir, "log"))).toEqual(["before sleep", "after sleep", "approved by ada"]);
  });

  test("an event delivered while no runner is up reaches the resumed session", async () => {
    const dir = tempDir("pg-event-after");
    const store = await pg.createDatabase(`event_after_${++databases}`);
    const { killed } = await killWhenLines(["run", MANIFEST, "--trigger", "waits", "--event", waitsEvent(dir), "--store", store], path.join(dir, "log"), 2);
    expect(killed).toBe(true);
    const [summary] = sessions(store);
    expect(akts(["event", summary.id, "approval", "--data", '{"by":"linus"}', "--store", store]).code).toBe(0);
    const resumed = akts(["resume", "--manifest", MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout).result).toEqual({ approvedBy: "linus" });
    const records = JSON.parse(akts(["journal", summary.id, "--store", store, "--json"]).stdout);
    expect(records.filter((r: any) => r.t === "event" && r.name === "approval")).toEqual([expect.objectContaining({ value: { by: "linus" } })]);
  });
});

/** Runs the CLI without blocking this process; resolves when it exits. */
function startCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("replay on PostgreSQL", () => {
  test("akts replay reads a session from the database, runs nothing live and writes nothing", async () => {
    const store = await pg.createDatabase("replay");
    const dir = tempDir("pg-replay");
    const r = akts(["run", MANIFEST, "--trigger", "steps", "--event", stepsEvent(dir), "--store", store]);
    expect(r.code).toBe(0);
    const id = lastJson(r.stdout).session_id;
    const logged = lines(path.join(dir, "log"));
    const before = akts(["journal", id, "--store", store, "--json"]).stdout;
    const replay = akts(["replay", id, "--store", store, "--manifest", MANIFEST]);
    expect(replay.stderr).toBe("");
    expect(replay.stdout).toMatch(new RegExp(`^${id}: replays cleanly \\(\\d+ activities, result matches\\)\\n$`));
    expect(replay.code).toBe(0);
    expect(lines(path.join(dir, "log"))).toEqual(logged);
    expect(akts(["journal", id, "--store", store, "--json"]).stdout).toBe(before);
  });
});
