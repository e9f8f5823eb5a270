/**
 * The Replay class (runtime/replay.ts) on its own: matching calls with journal entries, the order in which async
 * outcomes are handed back, a replay that can never finish, and entries the code never asked for. In memory, so
 * mutation testing runs it for every mutant of the module; runtime-replay.test.ts runs the same through the engine.
 */
import { expect, test } from "vitest";
import { describeCall, eventSite, historyRead, outcomeSite, Replay, SLEEP_SITE, timeoutSite } from "../runtime/replay";
import { NondeterminismError } from "../runtime/errors";
import { storage, type Frame } from "../runtime/context";
import { decodeFrames, encodeFrame, fileHeader, type JournalRecord } from "../runtime/journal";

const act = (seq: number, end: number, async = true, site = `p.ts:${seq}:1`, callee = "api.get"): JournalRecord => ({
  t: "activity", seq, async, end, site, callee, ok: true, start: 0, value: seq,
});
const ev = (seq: number, at: number, name = "go"): JournalRecord => ({ t: "event", seq, name, value: seq, at });
const sleepRec = (seq: number, deadline: number): JournalRecord => ({ t: "timer", seq, site: SLEEP_SITE.id, deadline });
const siteOf = (seq: number, callee = "api.get") => ({ id: `p.ts:${seq}:1`, callee });
const tick = () => new Promise<void>((r) => setImmediate(r));

/** The journal read lazily, as the file store reads it for a replay: activities left undecoded. */
const lazily = (records: JournalRecord[]) => decodeFrames(Buffer.concat([fileHeader(), ...records.map(encodeFrame)]), "j", { lazy: true });

function stuckErrors(): { errors: NondeterminismError[]; onStuck: (e: NondeterminismError) => void } {
  const errors: NondeterminismError[] = [];
  return { errors, onStuck: (e) => errors.push(e) };
}

/** Asks for every seq's turn at once and returns the seqs in the order their turns came. */
async function handBackOrder(replay: Replay, seqs: number[]): Promise<number[]> {
  const order: number[] = [];
  await Promise.all(seqs.map((s) => replay.turn(s).then(() => void order.push(s))));
  return order;
}

test("an entry is matched by kind, callee and file; past the journal there is none", () => {
  for (const history of [[act(1, 5), sleepRec(2, 9), ev(3, 7)], lazily([act(1, 5), sleepRec(2, 9), ev(3, 7)])]) {
    const replay = new Replay(history, () => {});
    expect(replay.lastSeq).toBe(3);
    expect(replay.entry(1, "activity", siteOf(1))).toMatchObject({ seq: 1, value: 1 });
    // Moved within its file (another line and column): the same activity.
    expect(replay.entry(1, "activity", { id: "p.ts:40:7", callee: "api.get" })).toMatchObject({ seq: 1 });
    expect(replay.entry(2, "timer", SLEEP_SITE)).toMatchObject({ deadline: 9 });
    expect(replay.entry(3, "event", eventSite("go"))).toMatchObject({ value: 3 });
    expect(replay.entry(4, "activity", siteOf(4))).toBeUndefined();
    expect(replay.peek(1)).toMatchObject({ seq: 1 });
    expect(replay.peek(4)).toBeUndefined();
  }
});

test("another callee, another file, or another kind of call is a divergence naming both", () => {
  const records = [act(1, 5, true, "p.ts:3:1"), sleepRec(2, 9), ev(3, 7, "approve")];
  for (const history of [records, lazily(records)]) divergences(new Replay(history, () => {}));
});

function divergences(replay: Replay): void {
  const diverges = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(NondeterminismError);
      return (err as Error).message;
    }
    throw new Error("no divergence");
  };
  expect(diverges(() => replay.entry(1, "activity", { id: "p.ts:3:1", callee: "api.put" }))).toContain("entry #1: journal has api.get at p.ts:3:1, code called api.put at p.ts:3:1");
  expect(diverges(() => replay.entry(1, "activity", { id: "q.ts:3:1", callee: "api.get" }))).toContain("code called api.get at q.ts:3:1");
  // A file whose name ends as the other's, or a site with no line: not the same file.
  expect(diverges(() => replay.entry(1, "activity", { id: "xp.ts:3:1", callee: "api.get" }))).toContain("xp.ts");
  expect(diverges(() => replay.entry(1, "activity", { id: "p.tsx:3:1", callee: "api.get" }))).toContain("p.tsx");
  expect(diverges(() => replay.entry(1, "activity", { id: "p.ts", callee: "api.get" }))).toContain("entry #1");
  expect(diverges(() => replay.entry(1, "timer", SLEEP_SITE))).toContain("journal has api.get at p.ts:3:1, code called sleep()");
  expect(diverges(() => replay.entry(2, "activity", siteOf(2)))).toContain("entry #2: journal has sleep(), code called api.get at p.ts:2:1");
  expect(diverges(() => replay.entry(2, "timer", timeoutSite("x")))).toContain('journal has sleep(), code called timeout of nextEvent("x")');
  expect(diverges(() => replay.entry(3, "event", eventSite("reject")))).toContain('entry #3: journal has nextEvent("approve"), code called nextEvent("reject")');
  expect(diverges(() => replay.entry(3, "timer", timeoutSite("approve")))).toContain('journal has nextEvent("approve"), code called timeout of nextEvent("approve")');
}

test("a site whose id has no line, or no file, is only the same as itself", () => {
  const replay = new Replay([act(1, 5, false, "<activity>:0:0", "add"), act(2, 5, false, "main", "f"), act(3, 5, false, ":3:1", "g")], () => {});
  expect(replay.entry(1, "activity", { id: "<activity>:0:0", callee: "add" })).toMatchObject({ seq: 1 });
  expect(replay.entry(2, "activity", { id: "main", callee: "f" })).toMatchObject({ seq: 2 });
  expect(() => replay.entry(2, "activity", { id: "other", callee: "f" })).toThrow(NondeterminismError);
  // An id that starts as the other does, or an empty file part, is still another site.
  expect(() => replay.entry(2, "activity", { id: "mainx", callee: "f" })).toThrow(NondeterminismError);
  expect(replay.entry(3, "activity", { id: ":3:1", callee: "g" })).toMatchObject({ seq: 3 });
  expect(() => replay.entry(3, "activity", { id: ":4:2", callee: "g" })).toThrow(NondeterminismError);
});

test("outcome and timeout entries are matched and described by their own names", () => {
  const replay = new Replay([{ t: "outcome", seq: 1, fn: "httpOutcome", value: 1, at: 1 } as JournalRecord, { t: "timer", seq: 2, site: timeoutSite("x").id, deadline: 5 }], () => {});
  expect(replay.entry(1, "outcome", outcomeSite("httpOutcome"))).toMatchObject({ seq: 1 });
  expect(() => replay.entry(1, "outcome", outcomeSite("outcome"))).toThrow("entry #1: journal has httpOutcome(), code called outcome()");
  expect(replay.entry(2, "timer", timeoutSite("x"))).toMatchObject({ deadline: 5 });
  expect(() => replay.entry(2, "timer", SLEEP_SITE)).toThrow('journal has timeout of nextEvent("x"), code called sleep()');
  expect(describeCall("outcome", outcomeSite("httpOutcome"))).toBe("httpOutcome()");
  expect(describeCall("event", eventSite("a"))).toBe('nextEvent("a")');
  expect(describeCall("timer", SLEEP_SITE)).toBe("sleep()");
  expect(describeCall("activity", siteOf(3))).toBe("api.get at p.ts:3:1");
});

test("a journal entry whose seq is no call number is refused", () => {
  for (const seq of [0, -1, 1.5, Number.MAX_SAFE_INTEGER + 1]) {
    expect(() => new Replay([act(seq, 1)], () => {})).toThrow(`journal entry with seq ${seq}: not a call number`);
  }
  // Records that are not calls are not checked.
  expect(new Replay([{ t: "attempt", attempt: 1, at: 1 }, { t: "end", ok: true, result: 1, at: 2 }], () => {}).lastSeq).toBe(0);
});

test("async outcomes are handed back in their recorded completion order, whatever order they are asked for", async () => {
  // Journaled as they completed: 3, 1, 5, 4, 2; the sync activity 5 takes no turn (read lazily too: the completion
  // order holds the async ones only, so the last, 2, keeps its place).
  const records = [ev(3, 10), act(1, 20), act(5, 1, false), act(4, 30), act(2, 40)];
  for (const history of [records, lazily(records)]) {
    const replay = new Replay(history, () => {});
    const order = await handBackOrder(replay, [1, 2, 3, 4, 5]);
    expect(order.filter((seq) => seq !== 5)).toEqual([3, 1, 4, 2]);
    // 5 is handed back as soon as it is asked for, before 4 and 2, which wait for their turns.
    expect(order.indexOf(5)).toBeLessThan(order.indexOf(4));
    expect(replay.replaying(5)).toBe(false);
  }
});

test("a sleep fires at its deadline: before the completions recorded after it, and it goes last when due after every completion", async () => {
  const records = [act(1, 20), sleepRec(2, 15), act(3, 30), sleepRec(4, 100), sleepRec(5, 20)];
  for (const history of [records, lazily(records)]) {
    // 2 (15) before 1 (20); 5 fires at 20, as 1 completes: the sleep first. 4 (100) is due after every completion: it
    // goes last, as it fired live.
    expect(await handBackOrder(new Replay(history, () => {}), [1, 2, 3, 4, 5])).toEqual([2, 5, 1, 3, 4]);
  }
  // An event completes when it was received: a sleep due before that fires first; every sleep fired, the rest follow.
  const withEvent = [sleepRec(1, 5), ev(2, 10), act(3, 20)];
  expect(await handBackOrder(new Replay(withEvent, () => {}), [3, 2, 1])).toEqual([1, 2, 3]);
});

test("each outcome's continuation runs before the next outcome is handed back", async () => {
  const replay = new Replay([act(1, 10), act(2, 20), act(3, 30)], () => {});
  const log: string[] = [];
  await Promise.all([
    replay.turn(3).then(() => log.push("3")),
    replay.turn(2).then(async () => {
      log.push("2");
      await Promise.resolve();
      log.push("2 continued");
    }),
    replay.turn(1).then(() => log.push("1")),
  ]);
  expect(log).toEqual(["1", "2", "2 continued", "3"]);
});

test("calls awaited one by one are handed back at once, without waiting", () =>
  // In a session's context, as handlers call: there each continuation runs under an async id of its own, which is
  // how a call awaited after the last outcome is told from one made beside it.
  storage.run({} as Frame, async () => {
    const replay = new Replay([act(1, 10), act(2, 20)], () => {});
    expect(replay.replaying(0)).toBe(true);
    let second = false;
    await replay.turn(1);
    void replay.turn(2).then(() => (second = true));
    await Promise.resolve();
    expect(second).toBe(true);
    expect(replay.replaying(2)).toBe(false);
  }));

test("an async activity awaited in its turn is handed back settled (handBackNow); one out of turn or beside waiting calls is not", () =>
  storage.run({} as Frame, async () => {
    const replay = new Replay([act(1, 10), act(2, 20), act(3, 30), act(4, 40)], () => {});
    // 2 is not next: nothing is handed back.
    expect(replay.handBackNow(2)).toBe(false);
    expect(replay.handBackNow(1)).toBe(true);
    expect(replay.replaying(1)).toBe(true);
    await Promise.resolve();
    // One handed back so holds nothing off: the next, awaited after it, is handed back so too.
    expect(replay.handBackNow(2)).toBe(true);
    await Promise.resolve();
    // 4 waits for its turn; 3, though next, is not handed back beside a waiting call.
    const fourth = replay.turn(4);
    expect(replay.handBackNow(3)).toBe(false);
    await replay.turn(3);
    await fourth;
    expect(replay.replaying(4)).toBe(false);
  }));

test("an outcome that settles with hops holds handBackNow off until the next macrotask, so it keeps its place", () =>
  storage.run({} as Frame, async () => {
    const replay = new Replay([ev(1, 10), act(2, 20), act(3, 30)], () => {});
    const log: string[] = [];
    // The activity's call runs in a job queued before the event's continuation, after the event was handed back:
    // settled at once, it would come first.
    const activity = () => (replay.handBackNow(2) ? Promise.resolve("a") : replay.turn(2).then(() => "a"));
    const calls = [Promise.resolve().then(() => activity().then(() => log.push("activity")))];
    calls.push((async () => await replay.turn(1))().then(() => log.push("event")));
    await Promise.all(calls);
    expect(log).toEqual(["event", "activity"]);
    expect(replay.handBackNow(3)).toBe(false);
    await tick();
    expect(replay.handBackNow(3)).toBe(true);
  }));

test("a call asked for beside the outcome just handed back waits for the next macrotask: the first one's continuation, hops later, runs first", () =>
  storage.run({} as Frame, async () => {
    // As Promise.race([nextEvent("go"), call()]) replays: the event's outcome settles hops after its turn, the
    // activity's one after; asked for in the same job, the activity is handed back only once that job's microtasks ran.
    const replay = new Replay([ev(1, 10), act(2, 20)], () => {});
    const log: string[] = [];
    const event = replay
      .turn(1)
      .then(() => Promise.resolve())
      .then(() => log.push("event"));
    const activity = replay.turn(2).then(() => log.push("activity"));
    await Promise.all([event, activity]);
    expect(log).toEqual(["event", "activity"]);
  }));

test("an outcome the pump hands back holds handBackNow off until the next macrotask too", () =>
  storage.run({} as Frame, async () => {
    // The event waits for 1, so the pump hands it back, at the macrotask after 1's.
    const replay = new Replay([act(1, 10), ev(2, 20), act(3, 30)], () => {});
    const event = replay.turn(2);
    await replay.turn(1);
    await event;
    expect(replay.handBackNow(3)).toBe(false);
    await tick();
    expect(replay.handBackNow(3)).toBe(true);
  }));

test("replaying holds while a recorded call is not yet asked for, or an outcome not yet handed back", async () => {
  const replay = new Replay([act(1, 10), act(2, 5, false), act(3, 1)], () => {});
  expect(replay.replaying(1)).toBe(true);
  expect(replay.replaying(3)).toBe(true);
  await replay.turn(1);
  expect(replay.replaying(2)).toBe(true);
  expect(replay.replaying(3)).toBe(true);
  await replay.turn(3);
  expect(replay.replaying(3)).toBe(false);
  // Sync calls only: no outcome to hand back, replaying until the last recorded call.
  const sync = new Replay([act(1, 1, false), act(2, 2, false)], () => {});
  expect(sync.replaying(1)).toBe(true);
  expect(sync.replaying(2)).toBe(false);
  // An event received while an activity started before it still ran: journaled first, with the higher seq.
  expect(new Replay(lazily([ev(5, 1), act(3, 10)]), () => {}).lastSeq).toBe(5);
  // Lazily read, the last seq of the undecoded activities counts.
  const lazy = new Replay(lazily([ev(1, 1), act(7, 2, false)]), () => {});
  expect(lazy.lastSeq).toBe(7);
  expect(lazy.replaying(6)).toBe(true);
});

test("a replay stuck on an entry the code never calls fails its waiting calls, once, and tells the session", async () => {
  const { errors, onStuck } = stuckErrors();
  const replay = new Replay([act(1, 10), act(2, 20), act(3, 30)], onStuck);
  const two = replay.turn(2).then(() => "handed back", (e: Error) => e.message);
  const three = replay.turn(3).then(() => "handed back", (e: Error) => e.message);
  await tick();
  replay.failIfStuck();
  const message = "entry #1: journal has api.get at p.ts:1:1 completing before #2, #3, which the code waits on; the code never called it";
  expect(await two).toBe(message);
  expect(await three).toBe(message);
  expect(errors.map((e) => e.message)).toEqual([message]);
  replay.failIfStuck();
  expect(errors).toHaveLength(1);
});

test("failIfStuck does nothing with no call waiting, or with every outcome handed back", async () => {
  const { errors, onStuck } = stuckErrors();
  const replay = new Replay([act(1, 10)], onStuck);
  replay.failIfStuck();
  await replay.turn(1);
  replay.failIfStuck();
  expect(errors).toEqual([]);
});

test("a stuck replay found when the process runs dry: the waiting calls fail", async () => {
  const { errors, onStuck } = stuckErrors();
  const replay = new Replay([act(1, 10), act(2, 20)], onStuck);
  const waiting = replay.turn(2).catch((e: Error) => e);
  await tick();
  process.emit("beforeExit", 0);
  expect(await waiting).toBeInstanceOf(NondeterminismError);
  expect(errors).toHaveLength(1);
});

test("a replay that handed back one waiting call and still has another waiting is stuck when the process runs dry", async () => {
  const { errors, onStuck } = stuckErrors();
  // 2 waits for 1, which the code calls later; 4 waits for 3, which it never calls.
  const replay = new Replay([act(1, 10), act(2, 20), act(3, 30), act(4, 40)], onStuck);
  const two = replay.turn(2);
  const four = replay.turn(4).catch((e: Error) => e.message);
  await tick();
  await replay.turn(1);
  await two;
  process.emit("beforeExit", 0);
  expect(await four).toContain("entry #3: journal has api.get at p.ts:3:1 completing before #4");
  expect(errors).toHaveLength(1);
});

test("a closed replay drops its waiting calls: not failed, and not stuck", async () => {
  const { errors, onStuck } = stuckErrors();
  const replay = new Replay([act(1, 10), act(2, 20)], onStuck);
  let settled = false;
  void replay.turn(2).then(
    () => (settled = true),
    () => (settled = true),
  );
  await tick();
  replay.close();
  replay.failIfStuck();
  process.emit("beforeExit", 0);
  await tick();
  expect(settled).toBe(false);
  expect(errors).toEqual([]);
});

test("entries the code never asked for fail assertConsumed, naming the first", () => {
  const replay = new Replay([act(1, 1, false), act(3, 3, false)], () => {});
  expect(() => replay.assertConsumed(3)).not.toThrow();
  expect(() => replay.assertConsumed(1)).toThrow("entry #3: journal has api.get at p.ts:3:1, code returned without calling it");
  expect(() => replay.assertConsumed(0)).toThrow("entry #1: journal has api.get at p.ts:1:1, code returned without calling it");
  const lazy = new Replay(lazily([act(1, 1, false), act(2, 2, false)]), () => {});
  expect(() => lazy.assertConsumed(1)).toThrow("entry #2:");
  expect(() => lazy.assertConsumed(2)).not.toThrow();
});

test("historyRead takes a list or a lazy read", () => {
  const list = [act(1, 1)];
  expect(historyRead(list)).toEqual({ records: list });
  const read = lazily(list);
  expect(historyRead(read)).toBe(read);
});
