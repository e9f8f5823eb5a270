/** A session's state on its own: its count of open durable sessions, park(), fatal errors, waits and writes in flight. */
import { describe, expect, test } from "vitest";
import { SessionState, type JournalSink, type ReplayOnly } from "../runtime/session-state";
import { SLEEP_SITE } from "../runtime/replay";
import { durableSessions } from "../runtime/context";
import { SessionParkedError, NondeterminismError } from "../runtime/errors";
import type { JournalRecord } from "../runtime/journal";

const inbox = { take: async () => undefined, consumed: async () => {} };
const sleepAt = (seq: number, deadline: number): JournalRecord => ({ t: "timer", seq, site: SLEEP_SITE.id, deadline });
const tick = () => new Promise<void>((r) => setImmediate(r));

/** A sink whose appends resolve only when told: writes in flight, as under a slow disk. */
function slowSink(): JournalSink & { written: JournalRecord[]; flushOne(): void } {
  const written: JournalRecord[] = [];
  const pending: (() => void)[] = [];
  return {
    written,
    append: (r) => new Promise<void>((resolve) => pending.push(() => (written.push(r), resolve()))),
    appendSync: (r) => void written.push(r),
    flushOne: () => pending.shift()!(),
  };
}

describe("the count of open durable sessions (what lets stubs pass through with one property read)", () => {
  test("a durable session counts from its creation until its first close; a non-durable one never counts", () => {
    const open = durableSessions.open;
    const plain = new SessionState("ses_a", 1, false, undefined, [], inbox);
    expect(durableSessions.open).toBe(open);
    plain.close();
    expect(durableSessions.open).toBe(open);
    const durable = new SessionState("ses_b", 1, true, slowSink(), [], inbox);
    expect(durableSessions.open).toBe(open + 1);
    durable.close();
    expect(durableSessions.open).toBe(open);
    durable.close();
    expect(durableSessions.open).toBe(open);
  });
});

describe("park()", () => {
  test("the next boundary throws the park error, which is fatal; parking again changes nothing", () => {
    const state = new SessionState("ses_p", 1, true, slowSink(), [], inbox);
    expect(state.nextSeq()).toBe(1);
    state.park();
    expect(state.wasParked).toBe(false);
    let first: unknown;
    try {
      state.nextSeq();
    } catch (err) {
      first = err;
    }
    expect(first).toBeInstanceOf(SessionParkedError);
    expect((first as SessionParkedError).message).toContain("ses_p");
    expect(state.fatal?.error).toBe(first);
    expect(state.wasParked).toBe(true);
    state.park();
    expect(state.wasParked).toBe(true);
    expect(() => state.nextSeq()).toThrow(first as Error);
    state.close();
  });

  test("a session that failed before it was parked was not parked", () => {
    const state = new SessionState("ses_f", 1, true, slowSink(), [], inbox);
    const boom = new Error("journal write failed");
    state.markFatal(boom);
    state.markFatal(new Error("later"));
    expect(state.fatal?.error).toBe(boom);
    state.park();
    expect(() => state.nextSeq()).toThrow(boom);
    expect(state.wasParked).toBe(false);
    state.close();
  });

  test("a wait under way is rejected with the park error, and the session stays shown as waiting", async () => {
    const shown: boolean[] = [];
    const state = new SessionState("ses_w", 1, true, slowSink(), [], inbox, (w) => shown.push(w));
    const forever = new Promise<never>(() => {});
    const a = state.waiting(() => forever);
    const b = state.waiting(() => forever);
    expect(shown).toEqual([true]);
    state.park();
    await expect(a).rejects.toBeInstanceOf(SessionParkedError);
    await expect(b).rejects.toBeInstanceOf(SessionParkedError);
    expect(state.wasParked).toBe(true);
    expect(shown).toEqual([true]);
    await expect(state.waiting(async () => 1)).rejects.toBeInstanceOf(SessionParkedError);
    state.close();
  });
});

describe("waits", () => {
  test("the session shows as waiting from the first wait until the last one ends, however it ends", async () => {
    const shown: boolean[] = [];
    const state = new SessionState("ses_x", 1, true, slowSink(), [], inbox, (w) => shown.push(w));
    let release!: (v: string) => void;
    const first = state.waiting(() => new Promise<string>((r) => (release = r)));
    const second = state.waiting(async () => {
      throw new RangeError("timed out");
    });
    await expect(second).rejects.toThrow("timed out");
    expect(state.fatal).toBeUndefined();
    expect(shown).toEqual([true]);
    release("event");
    expect(await first).toBe("event");
    expect(shown).toEqual([true, false]);
    expect(await state.waiting(async () => 2)).toBe(2);
    expect(shown).toEqual([true, false, true, false]);
    state.close();
  });
});

describe("journal writes", () => {
  test("append() counts its write in flight until it is written; settled() waits for writes added meanwhile", async () => {
    const sink = slowSink();
    const state = new SessionState("ses_i", 1, true, sink, [], inbox);
    const written = state.append(sleepAt(1, 10));
    expect(state.inflight.size).toBe(1);
    let settled = false;
    const done = state.settled().then(() => (settled = true));
    await tick();
    // A write that starts while settled() waits is waited for too.
    const later = state.append(sleepAt(2, 20));
    sink.flushOne();
    await written;
    await tick();
    expect(settled).toBe(false);
    expect(state.inflight.size).toBe(1);
    sink.flushOne();
    await later;
    await done;
    expect(state.inflight.size).toBe(0);
    expect(sink.written.map((r) => (r as { seq: number }).seq)).toEqual([1, 2]);
    state.close();
  });

  test("appendActivity() is not counted again (its activity's promise is) and appendSync() writes at once", async () => {
    const sink = slowSink();
    const state = new SessionState("ses_j", 1, true, sink, [], inbox);
    const written = state.appendActivity(sleepAt(1, 10));
    expect(state.inflight.size).toBe(0);
    state.appendSync(sleepAt(2, 20));
    expect(sink.written).toHaveLength(1);
    sink.flushOne();
    await written;
    expect(sink.written.map((r) => (r as { seq: number }).seq)).toEqual([2, 1]);
    expect(state.fatal).toBeUndefined();
    state.close();
  });

  test("a failed write is fatal, async or sync, and leaves nothing in flight", async () => {
    const disk = new Error("disk gone");
    const broken: JournalSink = { append: () => Promise.reject(disk), appendSync: () => {
      throw disk;
    } };
    for (const write of [(s: SessionState) => s.append(sleepAt(1, 1)), (s: SessionState) => s.appendActivity(sleepAt(1, 1)), async (s: SessionState) => s.appendSync(sleepAt(1, 1))]) {
      const state = new SessionState("ses_broken", 1, true, broken, [], inbox);
      let fatalWhenSeen: unknown;
      await expect(write(state).catch((err) => {
        // Fatal before the writer's caller hears of it: its next call throws.
        fatalWhenSeen = state.fatal?.error;
        throw err;
      })).rejects.toBe(disk);
      expect(fatalWhenSeen).toBe(disk);
      await state.settled();
      expect(state.inflight.size).toBe(0);
      state.close();
    }
    // A sink that throws instead of rejecting: an activity's write still answers with a rejection.
    const throwing: JournalSink = { append: () => {
      throw disk;
    }, appendSync: () => {} };
    const state = new SessionState("ses_throwing", 1, true, throwing, [], inbox);
    await expect(state.appendActivity(sleepAt(1, 1))).rejects.toBe(disk);
    expect(state.fatal?.error).toBe(disk);
    state.close();
  });

  test("guard() passes a value through and makes what it throws fatal; the next call throws it", () => {
    const state = new SessionState("ses_g", 1, true, slowSink(), [], inbox);
    expect(state.guard(() => 3)).toBe(3);
    expect(state.fatal).toBeUndefined();
    const bad = new TypeError("cannot encode");
    expect(() => state.guard(() => {
      throw bad;
    })).toThrow(bad);
    expect(state.fatal?.error).toBe(bad);
    expect(() => state.nextSeq()).toThrow(bad);
    state.close();
  });
});

describe("replay", () => {
  const history: JournalRecord[] = [sleepAt(1, 10), sleepAt(2, 20)];

  test("replaying holds until the last recorded call; recorded() answers each and undefined past the end", async () => {
    const state = new SessionState("ses_r", 2, true, slowSink(), history, inbox);
    expect(state.replaying).toBe(true);
    expect(state.waitsTimers).toBe(true);
    // As sleep() does: the recorded timer, then its turn (fired sleeps are handed back in deadline order).
    const sleepAt = async (seq: number) => {
      const rec = state.recorded(seq, "timer", SLEEP_SITE);
      await state.turn(seq);
      return rec;
    };
    expect(await sleepAt(state.nextSeq())).toMatchObject({ deadline: 10 });
    expect(state.replaying).toBe(true);
    expect(await sleepAt(state.nextSeq())).toMatchObject({ deadline: 20 });
    expect(state.replaying).toBe(false);
    expect(state.recorded(state.nextSeq(), "timer", SLEEP_SITE)).toBeUndefined();
    expect(state.fatal).toBeUndefined();
    state.assertFullyReplayed();
    state.close();
  });

  test("a different call is a fatal divergence, and so is returning before the journal's end", () => {
    const diverged = new SessionState("ses_d", 2, true, slowSink(), history, inbox);
    expect(() => diverged.recorded(diverged.nextSeq(), "activity", { id: "program.ts:1:1", callee: "api.get" })).toThrow(NondeterminismError);
    expect(diverged.fatal?.error).toBeInstanceOf(NondeterminismError);
    diverged.close();
    const short = new SessionState("ses_s", 2, true, slowSink(), history, inbox);
    short.recorded(short.nextSeq(), "timer", SLEEP_SITE);
    expect(() => short.assertFullyReplayed()).toThrow(/entry #2/);
    expect(short.fatal?.error).toBeInstanceOf(NondeterminismError);
    short.close();
  });

  test("a replay stuck on an entry the code never calls makes the session fail when the process runs dry", async () => {
    const site = { id: "program.ts:1:1", callee: "api.get" };
    const done = (seq: number, end: number): JournalRecord => ({ t: "activity", seq, async: true, end, site: site.id, callee: site.callee, ok: true, start: 0, value: seq });
    // #2 completed before #1; the code now calls only #1.
    const state = new SessionState("ses_stuck", 2, true, slowSink(), [done(2, 10), done(1, 20)], inbox);
    const seq = state.nextSeq();
    expect(state.recorded(seq, "activity", site)).toMatchObject({ value: 1 });
    const waiting = state.turn(seq);
    process.emit("beforeExit", 0);
    await expect(waiting).rejects.toThrow(NondeterminismError);
    expect((state.fatal?.error as Error).message).toMatch(/^entry #2: journal has api.get at program.ts:1:1 completing before #1/);
    state.close();
  });

  test("a replay-only session does not wait out timers, and a call past the journal's end fails with its error", () => {
    const asked: [number, string][] = [];
    const replayOnly: ReplayOnly = {
      pastJournal: (seq, called) => (asked.push([seq, called]), new Error(`past the journal at ${seq}`)),
      ended: false,
    };
    const state = new SessionState("ses_o", 2, true, undefined, history, inbox, undefined, replayOnly);
    expect(state.waitsTimers).toBe(false);
    state.recorded(state.nextSeq(), "timer", SLEEP_SITE);
    state.recorded(state.nextSeq(), "timer", SLEEP_SITE);
    expect(() => state.recorded(state.nextSeq(), "timer", SLEEP_SITE)).toThrow("past the journal at 3");
    expect(asked).toEqual([[3, "sleep()"]]);
    expect((state.fatal?.error as Error).message).toBe("past the journal at 3");
    state.close();
  });
});

describe("cancellation", () => {
  const forever = () => new Promise<never>(() => {});
  const cancelled = (r: JournalRecord) => r.t === "cancel";

  test("a requested cancellation is thrown once, at the first call past the journal, and journaled there; later calls run", () => {
    const sink = slowSink();
    const open = durableSessions.open;
    const state = new SessionState("ses_c", 2, true, sink, [sleepAt(1, 10)], inbox);
    expect(state.cancelled).toBe(false);
    state.requestCancel();
    expect(durableSessions.open).toBe(open + 1);
    expect(state.cancelled).toBe(false);
    expect(sink.written).toEqual([]);
    expect(state.nextSeq()).toBe(1);
    expect(() => state.nextSeq()).toThrow(/^session ses_c was cancelled$/);
    expect(state.cancelled).toBe(true);
    expect(sink.written).toEqual([{ t: "cancel", seq: 2, at: expect.any(Number) }]);
    state.requestCancel();
    expect(state.nextSeq()).toBe(3);
    state.boundary();
    expect(sink.written.filter(cancelled)).toHaveLength(1);
    expect(state.fatal).toBeUndefined();
    state.close();
    expect(durableSessions.open).toBe(open);
  });

  test("a cancellation wakes a wait under way, journaled at the latest call; a later wait is not woken", async () => {
    const sink = slowSink();
    const state = new SessionState("ses_cw", 1, true, sink, [], inbox);
    state.nextSeq();
    const wait = state.waiting(forever);
    await tick();
    state.requestCancel();
    await expect(wait).rejects.toThrow(/^session ses_cw was cancelled$/);
    expect(sink.written).toEqual([{ t: "cancel", seq: 1, at: expect.any(Number) }]);
    expect(state.cancelled).toBe(true);
    await expect(state.waiting(() => tick().then(() => 5))).resolves.toBe(5);
    state.close();
  });

  test("a wait that fails on its own leaves the cancellation able to wake the other waits", async () => {
    const state = new SessionState("ses_cf", 1, true, slowSink(), [], inbox);
    state.nextSeq();
    const other = state.waiting(forever);
    await expect(state.waiting(async () => Promise.reject(new Error("own")))).rejects.toThrow("own");
    state.requestCancel();
    await expect(other).rejects.toThrow(/was cancelled/);
    state.close();
  });

  test("a non-durable session counts as open while a cancellation is pending, and its next boundary delivers it", () => {
    const open = durableSessions.open;
    const plain = new SessionState("ses_cn", 1, false, undefined, [], inbox);
    plain.requestCancel();
    plain.requestCancel();
    expect(durableSessions.open).toBe(open + 1);
    expect(() => plain.boundary()).toThrow(/^session ses_cn was cancelled$/);
    expect(durableSessions.open).toBe(open);
    expect(plain.cancelled).toBe(true);
    plain.boundary();
    plain.close();
    expect(durableSessions.open).toBe(open);
    // Closed with a cancellation still pending, or requested after its close: the count comes back.
    const pending = new SessionState("ses_cp", 1, false, undefined, [], inbox);
    pending.requestCancel();
    pending.close();
    expect(durableSessions.open).toBe(open);
    pending.requestCancel();
    expect(durableSessions.open).toBe(open);
    expect(pending.cancelled).toBe(false);
    const closed = new SessionState("ses_cc", 1, false, undefined, [], inbox);
    closed.close();
    closed.requestCancel();
    expect(durableSessions.open).toBe(open);
  });

  test("a journaled cancellation is thrown again at its call on replay, the first one journaled; nothing new is journaled", () => {
    const sink = slowSink();
    const history: JournalRecord[] = [sleepAt(1, 10), { t: "cancel", seq: 1, at: 5 }, { t: "cancel", seq: 3, at: 6 }];
    const state = new SessionState("ses_cr", 2, true, sink, history, inbox);
    expect(state.cancelled).toBe(true);
    expect(() => state.nextSeq()).toThrow(/^session ses_cr was cancelled$/);
    state.requestCancel();
    expect(state.nextSeq()).toBe(2);
    expect(state.nextSeq()).toBe(3);
    state.boundary();
    expect(sink.written).toEqual([]);
    state.close();
  });
});

describe("what the journal tells of the calls ahead", () => {
  test("failed attempts journaled before a crash are kept per activity, the latest one", () => {
    const retry = (seq: number, attempt: number, next: number): JournalRecord => ({ t: "retry", seq, attempt, error: "e", at: 1, next });
    const state = new SessionState("ses_rt", 2, true, slowSink(), [retry(1, 1, 100), retry(1, 2, 200), retry(3, 1, 300)], inbox);
    expect(state.failedAttempts(1)).toEqual({ failed: 2, next: 200 });
    expect(state.failedAttempts(3)).toEqual({ failed: 1, next: 300 });
    expect(state.failedAttempts(2)).toBeUndefined();
    state.close();
  });

  test("peekNext() gives the next call's entry without taking its number; past the journal only a replay-only session stops", () => {
    const state = new SessionState("ses_pk", 2, true, slowSink(), [sleepAt(1, 10)], inbox);
    expect(state.peekNext("patch(a)")).toMatchObject({ t: "timer", seq: 1 });
    expect(state.nextSeq()).toBe(1);
    expect(state.peekNext("patch(a)")).toBeUndefined();
    expect(state.journalEnded).toBe(false);
    expect(state.fatal).toBeUndefined();
    state.close();

    const asked: [number, string][] = [];
    const only = (ended: boolean): ReplayOnly => ({ pastJournal: (seq, called) => (asked.push([seq, called]), new Error(`past at ${seq}`)), ended });
    const running = new SessionState("ses_po", 2, true, undefined, [sleepAt(1, 10)], inbox, undefined, only(false));
    expect(running.peekNext("patch(a)")).toMatchObject({ seq: 1 });
    running.nextSeq();
    expect(() => running.peekNext("patch(a)")).toThrow("past at 2");
    expect(asked).toEqual([[2, "patch(a)"]]);
    expect((running.fatal?.error as Error).message).toBe("past at 2");
    expect(running.journalEnded).toBe(false);
    running.close();

    const ended = new SessionState("ses_pe", 2, true, undefined, [sleepAt(1, 10)], inbox, undefined, only(true));
    ended.nextSeq();
    expect(ended.peekNext("patch(a)")).toBeUndefined();
    expect(ended.journalEnded).toBe(true);
    expect(ended.fatal).toBeUndefined();
    ended.close();
  });
});
