/**
 * The timeline the session page draws (runtime/server/timeline.ts), from journals: attempts and replays, source
 * lines, what a waiting session waits for, and the two sides of a divergence as the replay words them.
 */
import { describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import type { HeaderRecord, JournalRecord } from "../runtime/journal";
import { NondeterminismError } from "../runtime/errors";
import { Replay } from "../runtime/replay";
import type { SessionSummary } from "../runtime/store/store";
import { divergenceOf, timeline } from "../runtime/server/timeline";
import { tempDir } from "./helpers";

function project(): string {
  const dir = tempDir("timeline");
  fs.writeFileSync(path.join(dir, "autokitteh.yaml"), "version: v2\n");
  fs.writeFileSync(path.join(dir, "program.ts"), "export async function handler() {\n  const a = await api.get(1);\n  const b = await   api.put(a);   \n}\n");
  fs.writeFileSync(path.join(dir, "..", `${path.basename(dir)}-outside.ts`), "secret\n");
  return dir;
}

const header = (manifest: string | undefined, mode: "durable" | "nondurable" = "durable"): HeaderRecord => ({
  t: "header", v: 1, sessionId: "ses_1", project: "p", trigger: "t", handler: "program.ts:handler", mode, codeHash: "h", event: { n: 1 }, createdAt: 1000, ...(manifest ? { manifest } : {}),
});

const summary = (extra: Partial<SessionSummary> = {}): SessionSummary => ({
  id: "ses_1", project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", status: "running", attempts: 1, createdAt: 1000, updatedAt: 1000, ...extra,
});

const act = (seq: number, site: string, start: number, end: number, extra: Partial<Extract<JournalRecord, { t: "activity" }>> = {}): JournalRecord => ({
  t: "activity", seq, site, callee: "api.get", ok: true, value: seq * 10, async: true, start, end, ...extra,
});

describe("timeline", () => {
  test("activities keep their times, callee, place and source line; a second attempt of a durable session is a replay", () => {
    const dir = project();
    const records: JournalRecord[] = [
      header(path.join(dir, "autokitteh.yaml")),
      { t: "attempt", attempt: 1, at: 1001 },
      act(1, "program.ts:2:19", 1002, 1050),
      { t: "attempt", attempt: 2, at: 2000 },
      act(2, "program.ts:3:21", 2001, 2100, { callee: "api.put", ok: false, value: undefined, error: { message: "boom" } }),
      act(3, `../${path.basename(dir)}-outside.ts:1:1`, 2101, 2101, { async: false }),
      { t: "end", ok: false, error: { message: "boom", code: "AKTS6001" }, at: 2200 },
    ];
    const t = timeline(summary({ status: "failed", attempts: 2 }), records, 5000);
    const { id, ...rest } = summary({ status: "failed", attempts: 2 });
    // Shown as every answer outside the process names a session: session_id, not id.
    expect(t.session).toEqual({ session_id: id, ...rest });
    expect(t.attempts).toEqual([{ attempt: 1, at: 1001, replayed: 0 }, { attempt: 2, at: 2000, replayed: 1 }]);
    expect(t.items[0]).toEqual({
      kind: "activity", seq: 1, callee: "api.get", site: "program.ts:2:19", start: 1002, end: 1050, ok: true, async: true, attempt: 1, value: 10,
      place: { file: "program.ts", line: 2, column: 19, source: "const a = await api.get(1);" },
    });
    expect(t.items[1]).toMatchObject({ callee: "api.put", ok: false, error: { message: "boom" }, attempt: 2, place: { source: "const b = await   api.put(a);" } });
    expect(t.items[1]).not.toHaveProperty("value");
    // A site outside the project's folder gets no source line.
    expect(t.items[2]).toMatchObject({ place: { file: `../${path.basename(dir)}-outside.ts`, line: 1 } });
    expect((t.items[2] as { place: object }).place).not.toHaveProperty("source");
    expect(t.end).toEqual({ ok: false, at: 2200, error: { message: "boom", code: "AKTS6001" } });
    expect(t.waiting).toBeUndefined();
    expect(t.event).toEqual({ n: 1 });
  });

  test("a non-durable rerun replays nothing; without a manifest there are places but no source lines", () => {
    const t = timeline(summary({ mode: "nondurable" }), [header(undefined, "nondurable"), { t: "attempt", attempt: 1, at: 1 }, act(1, "program.ts:2:19", 2, 3), { t: "attempt", attempt: 2, at: 9 }], 10);
    expect(t.attempts.map((a) => a.replayed)).toEqual([0, 0]);
    expect(t.items[0]).toMatchObject({ place: { file: "program.ts", line: 2, column: 19 } });
    expect((t.items[0] as { place: object }).place).not.toHaveProperty("source");
  });

  test("what a waiting session waits for: the event nextEvent journaled a timeout for, a sleep, or an event not yet named", () => {
    const base: JournalRecord[] = [header(undefined), { t: "attempt", attempt: 1, at: 1001 }, act(1, "program.ts:2:19", 1002, 1010)];
    const waiting = summary({ status: "waiting" });
    const forEvent = timeline(waiting, [...base, { t: "timer", seq: 2, site: "<akts>:nextEvent:approval", deadline: 90_000 }], 5000);
    expect(forEvent.items[1]).toEqual({ kind: "timer", seq: 2, site: "<akts>:nextEvent:approval", event: "approval", after: 1010, deadline: 90_000, attempt: 1 });
    expect(forEvent.waiting).toEqual({ kind: "event", name: "approval", deadline: 90_000 });
    expect(timeline(waiting, [...base, { t: "timer", seq: 2, site: "<akts>:sleep", deadline: 90_000 }], 5000).waiting).toEqual({ kind: "timer", deadline: 90_000 });
    expect(timeline(waiting, base, 5000).waiting).toEqual({ kind: "event" });
    const received: JournalRecord = { t: "event", seq: 3, name: "approval", value: { ok: 1 }, at: 6000, id: "evt_1" };
    expect(timeline(summary(), [...base, { t: "timer", seq: 2, site: "<akts>:nextEvent:approval", deadline: 90_000 }, received], 7000).items[2]).toEqual({
      kind: "event", seq: 3, name: "approval", at: 6000, value: { ok: 1 }, timedOut: false, attempt: 1,
    });
  });
});

describe("divergence", () => {
  /** The message the replay throws when the code calls `called` where the journal has `journaled`. */
  function diverge(journaled: JournalRecord[], call: (r: Replay) => void): string {
    try {
      call(new Replay(journaled, () => {}));
    } catch (err) {
      if (err instanceof NondeterminismError) return err.message;
      throw err;
    }
    throw new Error("no divergence");
  }

  test("another call: both sites, with or without the code-hash remark", () => {
    const message = diverge([act(1, "program.ts:2:19", 1, 2)], (r) => r.entry(1, "activity", { id: "program.ts:7:5", callee: "slack.post" }));
    expect(divergenceOf(message)).toEqual({ entry: 1, journal: "api.get at program.ts:2:19", code: "called slack.post at program.ts:7:5" });
    const hashed = new NondeterminismError(message).withCodeHashes("aaaa", "bbbb").message;
    expect(divergenceOf(`NondeterminismError: ${hashed}`)).toEqual({ entry: 1, journal: "api.get at program.ts:2:19", code: "called slack.post at program.ts:7:5" });
    const event = diverge([act(1, "program.ts:2:19", 1, 2)], (r) => r.entry(1, "event", { id: "<akts>", callee: 'nextEvent("approval")' }));
    expect(divergenceOf(event)).toEqual({ entry: 1, journal: "api.get at program.ts:2:19", code: 'called nextEvent("approval")' });
  });

  test("a journaled call the code never made", () => {
    const message = diverge([act(1, "program.ts:2:19", 1, 2)], (r) => r.assertConsumed(0));
    expect(divergenceOf(message)).toEqual({ entry: 1, journal: "api.get at program.ts:2:19", code: "returned without calling it" });
    expect(divergenceOf("something else went wrong")).toBeUndefined();
  });

  test("a failed session's timeline carries it", () => {
    const error = "entry #2: journal has api.get at program.ts:2:19, code called api.put at program.ts:3:21";
    expect(timeline(summary({ status: "failed", error, errorCode: "AKTS5001" }), [header(undefined)], 1).divergence).toEqual({
      entry: 2, journal: "api.get at program.ts:2:19", code: "called api.put at program.ts:3:21",
    });
    expect(timeline(summary({ status: "failed", error, errorCode: "AKTS6001" }), [header(undefined)], 1).divergence).toBeUndefined();
  });
});
