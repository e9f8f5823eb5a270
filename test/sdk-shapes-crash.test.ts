/**
 * Handlers over clients shaped like real SDKs, with real processes (fixtures/sdk-shapes): `akts run` is SIGKILLed
 * early, in the middle of and after each handler's loop, then `akts resume` finishes the session. The package logs
 * every I/O, so the test counts them: a resume gives a clean run's result and repeats no side effect but those of
 * the activity in flight at the kill. Before the fixes, Linear's Promise-typed getter read `undefined` from the
 * journal's copy of the client on resume, and calls through promisify(execFile), redis.get.bind(redis) and a destructured
 * `send` ran again.
 */
import { beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, killWhenLines, lines, ROOT, tempDir } from "./helpers";
import { lastJson } from "./crash-steps";

const DIR = path.join(ROOT, "fixtures/sdk-shapes");
const MANIFEST = path.join(DIR, "autokitteh.yaml");
const IDS = ["i1", "i2", "i3"];

/** Each trigger's clean result, its number of log lines, and which lines one activity writes together. */
const TRIGGERS: Record<string, { result: unknown; lines: number; kills: number[]; unit?: RegExp }> = {
  // Each issue is read with its assignee by one activity.
  assignees: { result: { names: IDS.map((i) => `user-${i}`) }, lines: 12, kills: [3, 6, 12], unit: /^read (issue|assignee) / },
  aliases: { result: { out: IDS.map((i) => `${i.toUpperCase()} value-${i} value-${i}:fresh`) }, lines: 12, kills: [2, 6, 12] },
  // The customer ids are collected by one activity that reads both pages.
  collect: { result: { ids: ["c1", "c2", "c3", "c4"] }, lines: 6, kills: [1, 4, 6], unit: /^list page / },
};

/** Runs `run` with the package logging to `log` (a child process reads the variable when it starts). */
function withLog<T>(log: string, run: () => T): T {
  process.env.SHAPED_SDK_LOG = log;
  try {
    return run();
  } finally {
    delete process.env.SHAPED_SDK_LOG;
  }
}

function start(trigger: string, dir: string): string[] {
  const event = path.join(dir, "event.json");
  fs.writeFileSync(event, JSON.stringify({ ids: IDS, pauseMs: 150, script: path.join(DIR, "exec-step.mjs") }));
  return ["run", MANIFEST, "--trigger", trigger, "--event", event, "--store", path.join(dir, "store")];
}

const clean: Record<string, string[]> = {};

beforeAll(() => {
  // A clean run of each trigger, which also compiles the project once.
  for (const [trigger, expected] of Object.entries(TRIGGERS)) {
    const dir = tempDir(`sdk-shapes-${trigger}`);
    const log = path.join(dir, "log");
    const r = withLog(log, () => akts(start(trigger, dir)));
    expect(lastJson(r.stdout), r.stderr).toMatchObject({ status: "completed", result: expected.result });
    clean[trigger] = lines(log);
    expect(clean[trigger]).toHaveLength(expected.lines);
  }
});

describe.each(Object.entries(TRIGGERS))("%s: SIGKILL, then resume", (trigger, expected) => {
  test.each(expected.kills)("after %i lines", async (k) => {
    const dir = tempDir(`sdk-shapes-${trigger}-${k}`);
    const log = path.join(dir, "log");
    const args = start(trigger, dir);
    const { killed } = await withLog(log, () => killWhenLines(args, log, k));
    expect(killed).toBe(true);
    const before = lines(log);

    const resumed = akts(["resume", "--manifest", MANIFEST, "--store", path.join(dir, "store")], { env: { SHAPED_SDK_LOG: log } });
    expect(resumed.code, resumed.stderr).toBe(0);
    // Read from the store, not resume's output: a kill after the last side effect may land after the session ended,
    // and then resume has nothing to run.
    const listed = akts(["sessions", "--store", path.join(dir, "store"), "--json"]);
    expect(JSON.parse(listed.stdout)).toMatchObject([{ status: "completed", result: expected.result }]);

    const after = lines(log);
    expect(after.slice(0, before.length)).toEqual(before);
    // Every side effect of a clean run happened; only those of the activity in flight at the kill happened again.
    const count = (list: string[], line: string) => list.filter((l) => l === line).length;
    expect(clean[trigger].filter((line) => count(after, line) < count(clean[trigger], line))).toEqual([]);
    const extra = [...new Set(after)].flatMap((line) => Array<string>(Math.max(0, count(after, line) - count(clean[trigger], line))).fill(line));
    const last = before.at(-1)!;
    const inFlight = (line: string) => line === last || (expected.unit !== undefined && expected.unit.test(line) && expected.unit.test(last));
    expect(extra.filter((line) => !inFlight(line))).toEqual([]);
    expect(extra.length).toBeLessThanOrEqual(expected.unit?.test(last) ? 2 : 1);
  });
});
