/**
 * The crash scenario every store is held to: `akts run` of fixtures/crash's `steps` trigger is SIGKILLed after k
 * side effects, then `akts resume` finishes the session. Every activity ran; a journaled one exactly once; only the
 * one in flight at the kill may have run twice; the journaled Math.random token is the one the result carries; the
 * session completed on its second attempt.
 */
import { expect } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, aktsInProcess, killWhenLines, lines, ROOT } from "./helpers";

export const CRASH_MANIFEST = path.join(ROOT, "fixtures/crash/autokitteh.yaml");
export const STEPS_LOG = ["step 1", "marked 1", "step 2", "marked 2", "step 3", "marked 3"];

export function lastJson(stdout: string): any {
  return JSON.parse(stdout.trim().split("\n").at(-1)!);
}

/** The `steps` trigger's event: three steps writing to `<dir>/log`. */
export function stepsEvent(dir: string): string {
  const file = path.join(dir, "event.json");
  // Each pause is long enough that a loaded machine still kills the runner before the session ends.
  fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), steps: 3, pauseMs: 150 }));
  return file;
}

/**
 * `afterKill` looks at the store as the killed runner left it, before any command opens it again. The runner and
 * the resume are processes of their own; the listings between them run in this process (`aktsInProcess`).
 */
export async function crashThenResume(dir: string, store: string, k: number, afterKill: () => void = () => {}): Promise<void> {
  const log = path.join(dir, "log");
  const { killed } = await killWhenLines(["run", CRASH_MANIFEST, "--trigger", "steps", "--event", stepsEvent(dir), "--store", store], log, k);
  expect(killed).toBe(true);
  afterKill();
  const before = lines(log);
  const sessions = JSON.parse((await aktsInProcess(["sessions", "--store", store, "--json"])).stdout);
  expect(sessions).toHaveLength(1);
  expect(["running", "waiting"]).toContain(sessions[0].status);
  const journalBefore = JSON.parse((await aktsInProcess(["journal", sessions[0].session_id, "--store", store, "--json"])).stdout);
  // Drawn and journaled before the first step's line, so every kill leaves it in the journal.
  const token = journalBefore.find((r: any) => r.t === "activity" && r.callee === "Math.random")?.value;
  expect(token).toEqual(expect.any(Number));

  const resumed = akts(["resume", "--manifest", CRASH_MANIFEST, "--store", store]);
  expect(resumed.code, resumed.stderr).toBe(0);
  const outcome = lastJson(resumed.stdout);
  expect(outcome.status).toBe("completed");
  expect(outcome.result.values).toEqual([10, 20, 30]);
  expect(outcome.result.token).toBe(token);

  const after = lines(log);
  expect(after.slice(0, before.length)).toEqual(before);
  const counts = new Map<string, number>();
  for (const l of after) counts.set(l, (counts.get(l) ?? 0) + 1);
  expect([...counts.keys()].sort()).toEqual([...STEPS_LOG].sort());
  const twice = [...counts].filter(([, n]) => n > 1);
  expect(twice.length).toBeLessThanOrEqual(1);
  for (const [, n] of twice) expect(n).toBe(2);
  const journaled = journalBefore.filter((r: any) => r.t === "activity" && r.callee !== "Math.random").length;
  for (const line of STEPS_LOG.slice(0, journaled)) expect(counts.get(line)).toBe(1);

  expect(JSON.parse((await aktsInProcess(["sessions", "--store", store, "--json"])).stdout)[0]).toMatchObject({ status: "completed", attempts: 2 });
  expect(akts(["resume", "--manifest", CRASH_MANIFEST, "--store", store]).stdout).toBe("");
}
