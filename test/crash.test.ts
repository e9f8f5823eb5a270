/**
 * Crash recovery with real processes: `akts run` is SIGKILLed after k activities, for every k, then
 * `akts resume` finishes the session.
 */
import { describe, expect, test, beforeAll } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, killWhen, killWhenLines, lines, ROOT, RUN_STARTED, sessionIn, tempDir } from "./helpers";
import { crashThenResume, CRASH_MANIFEST, lastJson, STEPS_LOG, stepsEvent } from "./crash-steps";
import { sessionEntries } from "./segments";

const DURABLE = CRASH_MANIFEST;
const NONDURABLE = path.join(ROOT, "fixtures/crash/nondurable.yaml");
const event = stepsEvent;

beforeAll(() => {
  // Compile once, so the crash runs below measure recovery, not the first compile.
  const dir = tempDir("warm");
  const r = akts(["run", DURABLE, "--trigger", "steps", "--event", event(dir), "--store", path.join(dir, "store")]);
  expect(r.stderr).toMatch(RUN_STARTED);
  expect(r.code).toBe(0);
});

describe("durable: SIGKILL after k activities, then resume", () => {
  test.each(Array.from({ length: STEPS_LOG.length - 1 }, (_, i) => i + 1))("k = %i", async (k) => {
    const dir = tempDir(`durable-${k}`);
    await crashThenResume(dir, path.join(dir, "store"), k);
  });
});

describe("non-durable", () => {
  test("a crashed session reruns from the start", async () => {
    const dir = tempDir("nondurable");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const { killed } = await killWhenLines(["run", NONDURABLE, "--trigger", "steps", "--event", event(dir), "--store", store], log, 3);
    expect(killed).toBe(true);
    const before = lines(log);
    const resumed = akts(["resume", "--manifest", NONDURABLE, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout).result.values).toEqual([10, 20, 30]);
    expect(lines(log)).toEqual([...before, ...STEPS_LOG]);
  });

  test("a session that keeps crashing stops after max_attempts with a clear status", () => {
    const dir = tempDir("giveup");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const ev = event(dir);
    const first = akts(["run", NONDURABLE, "--trigger", "suicide", "--event", ev, "--store", store]);
    expect(first.code).toBe(null);
    for (let i = 0; i < 2; i++) expect(akts(["resume", "--manifest", NONDURABLE, "--store", store]).code).toBe(null);
    const last = akts(["resume", "--manifest", NONDURABLE, "--store", store]);
    expect(last.code).toBe(1);
    const outcome = lastJson(last.stdout);
    expect(outcome.status).toBe("failed");
    expect(outcome.error.code).toBe("AKTS6002");
    expect(lines(log)).toEqual(["attempt", "attempt", "attempt"]);
    const summary = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)[0];
    expect(summary).toMatchObject({ status: "failed", attempts: 3, errorCode: "AKTS6002" });
    // Nothing left to resume, and it says so.
    const none = akts(["resume", "--manifest", NONDURABLE, "--store", store]);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, "", "akts resume: 0 unfinished: 0 resumed (0 failed), 0 finished elsewhere, 0 skipped\n"]);
  });
});

test("a handler changed between crash and resume fails with both sites", async () => {
  const dir = tempDir("diverge");
  const manifest = path.join(copyFixture("crash", dir), "autokitteh.yaml");
  const store = path.join(dir, "store");
  const log = path.join(dir, "log");
  await killWhenLines(["run", manifest, "--trigger", "steps", "--event", event(dir), "--store", store], log, 3);
  const program = path.join(dir, "project", "program.ts");
  fs.writeFileSync(program, fs.readFileSync(program, "utf8").replace("values.push(await record(event.log, step));", "values.push(step);\n    appendFileSync(event.log, `changed ${step}\\n`);"));
  const resumed = akts(["resume", "--manifest", manifest, "--store", store]);
  expect(resumed.code).toBe(1);
  const outcome = lastJson(resumed.stdout);
  expect(outcome.error.code).toBe("AKTS5001");
  expect(outcome.error.message).toMatch(
    /^entry #4: journal has record at program\.ts:\d+:23, code called appendFileSync at program\.ts:\d+:\d+ \(the code changed since this session started: hash [0-9a-f]{16} → [0-9a-f]{16}\)$/,
  );
  const [, before, after] = outcome.error.message.match(/hash (\w+) → (\w+)/);
  expect(before).not.toBe(after);
  const summary = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)[0];
  expect(summary.status).toBe("failed");
  expect(sessionEntries(store, summary.session_id).length).toBeGreaterThan(2);
});

describe("timers and events across a crash", () => {
  function waitsEvent(dir: string, sleepMs: number): string {
    const file = path.join(dir, "event.json");
    fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), steps: 0, pauseMs: 1500, sleepMs }));
    return file;
  }

  test("a durable sleep cut by a crash waits only the remainder after resume", async () => {
    const dir = tempDir("sleep");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const sleepMs = 4000;
    const downMs = 2000;
    // Killed once the sleep's deadline is journaled: the session is then waiting.
    const waiting = () => lines(log).length === 1 && akts(["sessions", "--store", store, "--json", "--status", "waiting"]).stdout.includes('"session_id"');
    await killWhen(["run", DURABLE, "--trigger", "waits", "--event", waitsEvent(dir, sleepMs), "--store", store], waiting);
    const summary = await sessionIn(store);
    // Let part of the sleep pass while no runner is up; the event is waiting when the session resumes.
    await new Promise((r) => setTimeout(r, downMs));
    akts(["event", summary.session_id, "approval", "--data", '{"by":"ada"}', "--store", store]);
    const resumed = akts(["resume", "--manifest", DURABLE, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout).result).toEqual({ approvedBy: "ada" });
    const records = JSON.parse(akts(["journal", summary.session_id, "--store", store, "--json"]).stdout);
    const timers = records.filter((r: any) => r.t === "timer" && r.site === "<akts>:sleep");
    expect(timers).toHaveLength(2);
    const sleepDeadline = timers[0].deadline;
    const resumedAt = records.filter((r: any) => r.t === "attempt")[1].at;
    // The event was taken (and journaled) as soon as the sleep ended, which is at its first deadline, or at once
    // if that had passed when the resumed attempt reached it. A sleep that restarted its clock on replay ends at
    // least downMs later than that, since the replay reached it no earlier than downMs after it was first set.
    const sleepEnded = records.find((r: any) => r.t === "event" && r.name === "approval").at;
    expect(sleepEnded).toBeGreaterThanOrEqual(sleepDeadline);
    expect(sleepEnded - Math.max(sleepDeadline, resumedAt)).toBeLessThan(downMs / 2);
    expect(lines(log).filter((l) => l === "before sleep")).toHaveLength(1);
  });

  test("an event delivered and journaled before a crash is replayed, not awaited again", async () => {
    const dir = tempDir("event-before");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const ev = waitsEvent(dir, 1);
    const run = killWhenLines(["run", DURABLE, "--trigger", "waits", "--event", ev, "--store", store], log, 3);
    const summary = await sessionIn(store, "waiting");
    akts(["event", summary.session_id, "approval", "--data", '{"by":"grace"}', "--store", store]);
    expect((await run).killed).toBe(true);
    expect(lines(log)).toContain("approved by grace");
    const resumed = akts(["resume", "--manifest", DURABLE, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout).result).toEqual({ approvedBy: "grace" });
    // The event came from the journal: one event record, and the inbox was not waited on again.
    const records = JSON.parse(akts(["journal", summary.session_id, "--store", store, "--json"]).stdout);
    expect(records.filter((r: any) => r.t === "event" && r.name === "approval")).toHaveLength(1);
  });

  test("an event delivered while no runner is up reaches the resumed session", async () => {
    const dir = tempDir("event-after");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    await killWhenLines(["run", DURABLE, "--trigger", "waits", "--event", waitsEvent(dir, 1), "--store", store], log, 2);
    const [summary] = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout);
    akts(["event", summary.session_id, "approval", "--data", '{"by":"linus"}', "--store", store]);
    const resumed = akts(["resume", "--manifest", DURABLE, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout).result).toEqual({ approvedBy: "linus" });
  });
});

test("a journal damaged before its tail fails the session with the offset and deletes nothing", async () => {
  const dir = tempDir("corrupt");
  const store = path.join(dir, "store");
  const log = path.join(dir, "log");
  await killWhenLines(["run", DURABLE, "--trigger", "steps", "--event", event(dir), "--store", store], log, 4);
  const [summary] = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout);
  // Flip a byte inside the body of the session's second entry (its first attempt), in the killed runner's segment.
  const second = sessionEntries(store, summary.session_id)[1];
  const file = second.file;
  const bytes = fs.readFileSync(file);
  bytes[second.bodyAt + 12] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const resumed = akts(["resume", "--manifest", DURABLE, "--store", store]);
  expect(resumed.code).toBe(1);
  expect(resumed.stderr).not.toMatch(/\n\s+at /);
  const outcome = lastJson(resumed.stdout);
  expect(outcome.status).toBe("failed");
  expect(outcome.error.code).toBe("AKTS4001");
  expect(outcome.error.message).toContain(`at byte ${second.frameAt}`);
  expect(fs.readFileSync(file).equals(bytes)).toBe(true);
  expect(JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)[0]).toMatchObject({ status: "failed", errorCode: "AKTS4001" });
});

test("concurrent activities killed mid-flight replay in their recorded completion order", async () => {
  const dir = tempDir("fanout");
  const store = path.join(dir, "store");
  const log = path.join(dir, "log");
  const ev = path.join(dir, "event.json");
  // w1 finishes first, then w0; w2 is still running when the runner is killed.
  fs.writeFileSync(ev, JSON.stringify({ log, delays: [150, 10, 900] }));
  const { killed } = await killWhenLines(["run", DURABLE, "--trigger", "fanout", "--event", ev, "--store", store], log, 2);
  expect(killed).toBe(true);
  expect(lines(log)).toEqual(["done w1", "done w0"]);
  const resumed = akts(["resume", "--manifest", DURABLE, "--store", store]);
  expect(resumed.code, resumed.stderr).toBe(0);
  // Handed back in call order, w0 would come first.
  expect(lastJson(resumed.stdout).result).toEqual(["w1", "w0", "w2"]);
  const counts = lines(log).filter((l) => l === "done w1");
  expect(counts).toHaveLength(1);
  const [summary] = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout);
  const records = JSON.parse(akts(["journal", summary.session_id, "--store", store, "--json"]).stdout);
  expect(records.filter((r: any) => r.t === "activity").map((r: any) => r.value)).toEqual(["w1", "w0", "w2"]);
});

test("manifest vars reach the handler's environment", () => {
  const dir = tempDir("vars");
  const r = akts(["run", DURABLE, "--trigger", "env", "--store", path.join(dir, "store")]);
  expect(r.code, r.stderr).toBe(0);
  expect(lastJson(r.stdout).result).toEqual({ token: "s3cret" });
});
