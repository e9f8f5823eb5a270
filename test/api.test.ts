/**
 * The handler API (runtime/api.ts) in one process: sessions over an in-memory journal and inbox, run live and then
 * replayed from what they journaled. Fast enough for mutation testing to run them for every mutant of the module;
 * runtime-engine.test.ts and crash.test.ts test the same through the engine, the store and real crashes.
 */
import { describe, expect, test } from "vitest";
import { activity, nextEvent, noActivity, session, sleep } from "../runtime/api";
import { SessionState, type Inbox, type JournalSink, type ReplayOnly } from "../runtime/session-state";
import { storage } from "../runtime/context";
import { SLEEP_SITE } from "../runtime/replay";
import type { JournalRecord } from "../runtime/journal";
import { memoryJournal, runIn } from "./memory-session";

/** An inbox holding `events`; take() waits until `deadline` when none matches. `done` lists the events consumed. */
function memoryInbox(events: Array<{ id: string; name: string; value: unknown }> = []): Inbox & { done: string[]; asked: Array<[string | readonly string[], number | undefined]> } {
  const done: string[] = [];
  const asked: Array<[string | readonly string[], number | undefined]> = [];
  return {
    done,
    asked,
    take: async (names, deadline) => {
      asked.push([names, deadline]);
      const found = events.find((e) => (typeof names === "string" ? [names] : names).includes(e.name));
      if (found) {
        events.splice(events.indexOf(found), 1);
        return found;
      }
      if (deadline !== undefined) await new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())));
      return undefined;
    },
    consumed: async (id: string) => void done.push(id),
  };
}

/** Runs `handler` in a durable session journaling to `journal`, replaying `history` first. */
function inSession<T>(handler: () => T | Promise<T>, opts: { journal?: JournalSink; history?: JournalRecord[]; inbox?: Inbox; replayOnly?: ReplayOnly } = {}) {
  const journal = opts.replayOnly ? undefined : (opts.journal ?? memoryJournal());
  return runIn(new SessionState("ses_api", 2, true, journal, opts.history ?? [], opts.inbox ?? memoryInbox(), undefined, opts.replayOnly), handler);
}

const elapsed = async (fn: () => Promise<unknown>) => {
  const start = Date.now();
  await fn();
  return Date.now() - start;
};

describe("sleep", () => {
  test("outside a session, and inside an activity, it waits without journaling", async () => {
    expect(await elapsed(() => sleep(60))).toBeGreaterThanOrEqual(55);
    const journal = memoryJournal();
    const inner = activity(async () => elapsed(() => sleep(60)));
    const { result } = await inSession(() => inner(), { journal });
    expect(result).toBeGreaterThanOrEqual(55);
    expect(journal.records.map((r) => r.t)).toEqual(["activity"]);
  });

  test("a durable sleep journals its deadline and waits it out; the replay waits only what is left", async () => {
    const journal = memoryJournal();
    const before = Date.now();
    const live = await inSession(() => elapsed(() => sleep(300)), { journal });
    expect(live.result).toBeGreaterThanOrEqual(295);
    expect(journal.records).toMatchObject([{ t: "timer", seq: 1, site: SLEEP_SITE.id }]);
    const deadline = (journal.records[0] as { deadline: number }).deadline;
    expect(deadline).toBeGreaterThanOrEqual(before + 300);
    expect(deadline).toBeLessThanOrEqual(before + 300 + live.result);
    // Replayed with the deadline 150 ms ahead: about 150 ms is waited, not the sleep's 300 ms.
    const history: JournalRecord[] = [{ t: "timer", seq: 1, site: SLEEP_SITE.id, deadline: Date.now() + 150 }];
    const again = memoryJournal();
    const replayed = await inSession(() => elapsed(() => sleep(300)), { history, journal: again });
    expect(replayed.result).toBeGreaterThanOrEqual(140);
    expect(replayed.result).toBeLessThan(280);
    expect(again.records).toEqual([]);
    // A deadline already past: at once.
    const past = await inSession(() => elapsed(() => sleep(300)), { history: [{ t: "timer", seq: 1, site: SLEEP_SITE.id, deadline: Date.now() - 1 }] });
    expect(past.result).toBeLessThan(100);
  });

  test("a replayed sleep whose deadline passed resolves without waiting: the session is never shown as waiting", async () => {
    const shown: boolean[] = [];
    const history: JournalRecord[] = [{ t: "timer", seq: 1, site: SLEEP_SITE.id, deadline: Date.now() - 1 }];
    await runIn(new SessionState("ses_api", 1, true, memoryJournal(), history, memoryInbox(), (w) => shown.push(w)), () => sleep(300));
    expect(shown).toEqual([]);
  });

  test("a replay-only session does not wait out a recorded sleep", async () => {
    const replayOnly: ReplayOnly = { pastJournal: () => new Error("past"), ended: true };
    const history: JournalRecord[] = [{ t: "timer", seq: 1, site: SLEEP_SITE.id, deadline: Date.now() + 5_000 }];
    const { result } = await inSession(() => elapsed(() => sleep(5_000)), { history, replayOnly });
    expect(result).toBeLessThan(1_000);
  });

  test("a non-durable session's sleep waits in full, showing the session as waiting, and journals nothing", async () => {
    const shown: boolean[] = [];
    const state = new SessionState("ses_nd", 1, false, undefined, [], memoryInbox(), (w) => shown.push(w));
    try {
      // A shorter timer started after the sleep fires first: the sleep really waits.
      const order: string[] = [];
      await storage.run({ session: state, inActivity: false }, () => Promise.all([sleep(120).then(() => order.push("sleep")), new Promise((r) => setTimeout(r, 40)).then(() => order.push("timer"))]));
      expect(order).toEqual(["timer", "sleep"]);
      expect(shown).toEqual([true, false]);
    } finally {
      state.close();
    }
  });

  test("a negative sleep resolves at once", async () => {
    expect(await elapsed(() => sleep(-50))).toBeLessThan(40);
    const { result } = await inSession(() => elapsed(() => sleep(-50)));
    expect(result).toBeLessThan(40);
  });
});

describe("nextEvent", () => {
  test("outside a session it is an error", async () => {
    await expect(nextEvent("x")).rejects.toThrow("nextEvent() needs a running akts session");
  });

  test("a durable session journals the event when received, tells the inbox it was consumed, and the replay answers from the journal", async () => {
    const journal = memoryJournal();
    const inbox = memoryInbox([{ id: "evt_1", name: "approve", value: { ok: 1 } }]);
    const { result } = await inSession(() => nextEvent("approve"), { journal, inbox });
    expect(result).toEqual({ ok: 1 });
    expect(inbox.asked).toEqual([["approve", undefined]]);
    expect(inbox.done).toEqual(["evt_1"]);
    expect(journal.records).toMatchObject([{ t: "event", seq: 1, name: "approve", value: { ok: 1 }, id: "evt_1" }]);
    expect(journal.records[0]).not.toHaveProperty("timedOut");
    const replayInbox = memoryInbox();
    const replayed = await inSession(() => nextEvent("approve", { full: true }), { history: journal.records, inbox: replayInbox });
    expect(replayed.result).toEqual({ data: { ok: 1 }, event_id: "evt_1", event_type: "approve", session_id: "ses_api" });
    expect(replayInbox.asked).toEqual([]);
  });

  test("full gives the whole envelope; an event without an id has a null event_id", async () => {
    const { result } = await inSession(() => nextEvent("go", { full: true }), { inbox: memoryInbox([{ id: undefined as unknown as string, name: "go", value: 3 }]) });
    expect(result).toEqual({ data: 3, event_id: null, event_type: "go", session_id: "ses_api" });
  });

  test("a timeout journals its deadline, then the timeout itself; the replay throws AKTS6003 again without waiting", async () => {
    const journal = memoryJournal();
    const inbox = memoryInbox();
    const before = Date.now();
    await expect(inSession(() => nextEvent("approve", { timeout: 80 }), { journal, inbox })).rejects.toMatchObject({ code: "AKTS6003", message: expect.stringContaining("approve") });
    expect(journal.records).toMatchObject([
      { t: "timer", seq: 1, site: "<akts>:nextEvent:approve" },
      { t: "event", seq: 2, name: "approve", timedOut: true },
    ]);
    const deadline = (journal.records[0] as { deadline: number }).deadline;
    expect(deadline).toBeGreaterThanOrEqual(before + 80);
    expect(inbox.asked).toEqual([["approve", deadline]]);
    expect((journal.records[1] as { value?: unknown }).value).toBeUndefined();
    const replayInbox = memoryInbox();
    const start = Date.now();
    await expect(inSession(() => nextEvent("approve", { timeout: 80 }), { history: journal.records, inbox: replayInbox })).rejects.toMatchObject({ code: "AKTS6003" });
    expect(Date.now() - start).toBeLessThan(60);
    expect(replayInbox.asked).toEqual([]);
  });

  test("a replay whose timer was journaled but not the event waits for the event until the journaled deadline", async () => {
    const deadline = Date.now() + 100_000;
    const history: JournalRecord[] = [{ t: "timer", seq: 1, site: "<akts>:nextEvent:approve", deadline }];
    const inbox = memoryInbox([{ id: "evt_2", name: "approve", value: "yes" }]);
    const journal = memoryJournal();
    const { result } = await inSession(() => nextEvent("approve", { timeout: 5 }), { history, inbox, journal });
    expect(result).toBe("yes");
    expect(inbox.asked).toEqual([["approve", deadline]]);
    expect(journal.records).toMatchObject([{ t: "event", seq: 2, name: "approve", value: "yes", id: "evt_2" }]);
  });

  test("a non-durable session, or an activity, takes events without journaling and times out with AKTS6003", async () => {
    const inbox = memoryInbox([{ id: "evt_3", name: "a", value: 1 }]);
    const state = new SessionState("ses_nd", 1, false, undefined, [], inbox);
    try {
      const got = await storage.run({ session: state, inActivity: false }, async () => [await nextEvent("a"), await nextEvent("b", { timeout: 20 }).catch((e) => e.code)]);
      expect(got).toEqual([1, "AKTS6003"]);
      expect(inbox.done).toEqual(["evt_3"]);
      expect(inbox.asked[0]).toEqual(["a", undefined]);
      expect(inbox.asked[1][1]).toBeGreaterThan(Date.now() - 1_000);
    } finally {
      state.close();
    }
    const journal = memoryJournal();
    const inActivity = activity(() => nextEvent("c"));
    const { result } = await inSession(() => inActivity(), { journal, inbox: memoryInbox([{ id: "evt_4", name: "c", value: "in" }]) });
    expect(result).toBe("in");
    expect(journal.records.map((r) => r.t)).toEqual(["activity"]);
  });

  test("the timeout of an error says how long was waited", async () => {
    await expect(inSession(() => nextEvent("slow", { timeout: 10 }))).rejects.toThrow(/10/);
  });
});

describe("activity()", () => {
  test("outside a session it calls through; inside one, a call from code that was not rewritten journals itself under the function's name", async () => {
    const add = activity(function add(a: number, b: number) {
      return a + b;
    });
    expect(add.name).toBe("add");
    expect(add(1, 2)).toBe(3);
    const journal = memoryJournal();
    await inSession(() => add(2, 3), { journal });
    expect(journal.records).toMatchObject([{ t: "activity", seq: 1, site: "<activity>:0:0", callee: "add", ok: true, value: 5 }]);
    const anonymous = activity(() => 1);
    const unnamed = memoryJournal();
    await inSession(() => anonymous(), { journal: unnamed });
    expect(unnamed.records).toMatchObject([{ callee: "anonymous" }]);
    // Replayed from the journal: not called again.
    let calls = 0;
    const counted = activity(function add() {
      calls++;
      return 0;
    });
    const { result } = await inSession(() => counted(), { history: journal.records });
    expect([result, calls]).toEqual([5, 0]);
  });

  test("`this` reaches the function, outside a session and journaled", async () => {
    const obj = { base: 10, plus: activity(function plus(this: { base: number }, n: number) { return this.base + n; }) };
    expect(obj.plus(1)).toBe(11);
    const { result } = await inSession(() => obj.plus(2));
    expect(result).toBe(12);
    const nd = new SessionState("ses_nd", 1, false, undefined, [], memoryInbox());
    try {
      expect(storage.run({ session: nd, inActivity: false }, () => obj.plus(3))).toBe(13);
    } finally {
      nd.close();
    }
  });

  test("as a method decorator it takes the method's name, and no options", async () => {
    const method = function get() {
      return "got";
    };
    const decorated = activity(method, { kind: "method", name: "fetchThing" });
    expect(decorated.name).toBe("get");
    const journal = memoryJournal();
    await inSession(() => decorated(), { journal });
    expect(journal.records).toMatchObject([{ callee: "fetchThing", value: "got" }]);
    const symbolNamed = activity(method, { kind: "method", name: Symbol("sym") });
    const sj = memoryJournal();
    await inSession(() => symbolNamed(), { journal: sj });
    expect(sj.records).toMatchObject([{ callee: "Symbol(sym)" }]);
  });

  test("bad retry options fail where the activity is defined", () => {
    expect(() => activity(() => 1, { retries: -1 })).toThrow(expect.objectContaining({ code: "AKTS6035" }));
  });

  test("calls inside an activity are not journaled again", async () => {
    const inner = activity(() => "inner");
    const outer = activity(() => inner() + "+outer");
    const journal = memoryJournal();
    const { result } = await inSession(() => outer(), { journal });
    expect(result).toBe("inner+outer");
    expect(journal.records).toHaveLength(1);
  });

  test("a non-durable session retries an activity in this process, waiting its backoff, and journals nothing", async () => {
    let tries = 0;
    const flaky = activity(async () => {
      if (++tries < 3) throw new Error(`try ${tries}`);
      return tries;
    }, { retries: 2, backoff: { initial: 30, factor: 1, max: 30 } });
    const shown: boolean[] = [];
    const nd = new SessionState("ses_nd", 1, false, undefined, [], memoryInbox(), (w) => shown.push(w));
    try {
      const start = Date.now();
      expect(await storage.run({ session: nd, inActivity: false }, () => flaky())).toBe(3);
      expect(Date.now() - start).toBeGreaterThanOrEqual(55);
      expect(shown).toEqual([true, false, true, false]);
      // Without retries, a non-durable call goes straight through, once.
      const once = activity(() => ++tries);
      expect(storage.run({ session: nd, inActivity: false }, () => once())).toBe(4);
    } finally {
      nd.close();
    }
  });

  test("a non-durable session's activity is a boundary: a cancelled session stops there", async () => {
    let ran = false;
    const act = activity(() => (ran = true));
    const nd = new SessionState("ses_nd", 1, false, undefined, [], memoryInbox());
    try {
      nd.requestCancel();
      expect(() => storage.run({ session: nd, inActivity: false }, () => act())).toThrow(expect.objectContaining({ name: "CancelledError" }));
      expect(ran).toBe(false);
    } finally {
      nd.close();
    }
  });

  test("an activity with retries outside any durable session still calls through", () => {
    const withRetries = activity((x: number) => x + 1, { retries: 1 });
    expect(withRetries(1)).toBe(2);
  });
});

describe("noActivity and session()", () => {
  test("noActivity marks the function itself and gives it back", () => {
    const fn = () => 1;
    expect(noActivity(fn)).toBe(fn);
    expect((fn as unknown as Record<symbol, unknown>)[Symbol.for("akts.noActivity")]).toBe(true);
  });

  test("session() is undefined outside a session; inside, it names the session, and an activity's idempotency key", async () => {
    expect(session()).toBeUndefined();
    const keyIn = activity(() => session()!.idempotencyKey);
    const { result } = await inSession(async () => ({ view: session(), key: await keyIn() }), { journal: memoryJournal() });
    expect(result.view).toEqual({ id: "ses_api", attempt: 2, durable: true, replaying: false, idempotencyKey: undefined });
    expect(result.key).toBe("ses_api:1");
  });
});
