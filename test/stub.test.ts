/**
 * The stub module in one process: a durable session over an in-memory journal (each record goes through the
 * codec, as a journal file's would), run live and then replayed from what it journaled.
 */
import { describe, expect, test } from "vitest";
import { call, nondet, site, table, tpl } from "../runtime/stub";
import { activity, noActivity } from "../runtime/api";
import { SessionState, type JournalSink, type Waiter } from "../runtime/session-state";
import { storage } from "../runtime/context";
import type { JournalRecord } from "../runtime/journal";
import { memoryJournal, runIn } from "./memory-session";

const inbox = { take: async () => undefined, consumed: async () => {} };
const s1 = site("program.ts", 3, 5, "api.get", "external");
const s2 = site("program.ts", 4, 5, "api.list", "external");

/** Runs `handler` in a durable session journaling to `journal`, replaying `history` first. */
function inSession<T>(journal: JournalSink, history: JournalRecord[], handler: () => T | Promise<T>) {
  return runIn(new SessionState("ses_stub", 1, true, journal, history, inbox), handler);
}

async function* pages(log: string[]) {
  for (const p of [1, 2, 3]) {
    log.push(`page ${p}`);
    yield { page: p };
  }
}

describe("durable calls", () => {
  test("a sync activity's record holds its site, callee, outcome, and start and end times around the call", async () => {
    const journal = memoryJournal();
    const before = Date.now();
    const { result } = await inSession(journal, [], () => call(s1, undefined, (x: number) => x * 2, [21]));
    expect(result).toBe(42);
    const [rec] = journal.records;
    expect(rec).toMatchObject({ t: "activity", seq: 1, async: false, site: "program.ts:3:5", callee: "api.get", ok: true, value: 42 });
    const { start, end } = rec as { start: number; end: number };
    expect(start).toBeGreaterThanOrEqual(before);
    expect(end).toBeGreaterThanOrEqual(start);
    expect(end).toBeLessThanOrEqual(Date.now());
  });

  test("a sync activity's result comes back as it is, not as a promise; a thenable result, even a function, is awaited", async () => {
    const journal = memoryJournal();
    const thenableFn = Object.assign(() => "called", { then: (resolve: (v: unknown) => void) => resolve("settled") });
    const { result } = await inSession(journal, [], () => {
      const direct = [null, undefined, 0, "", { then: "not a function" }].map((v) => call(s1, undefined, () => v, []));
      return { direct, awaited: call(s2, undefined, () => thenableFn, []) };
    });
    expect(result.direct).toEqual([null, undefined, 0, "", { then: "not a function" }]);
    expect(result.awaited).toBeInstanceOf(Promise);
    expect(await result.awaited).toBe("settled");
    expect(journal.records.map((r) => (r as { async: boolean }).async)).toEqual([false, false, false, false, false, true]);
  });

  test("a sync activity that throws journals its error, and the replay throws it again without calling", async () => {
    const journal = memoryJournal();
    const fail = () => {
      throw new RangeError("no such page");
    };
    await expect(inSession(journal, [], () => call(s1, undefined, fail, []))).rejects.toThrow("no such page");
    expect(journal.records).toMatchObject([{ t: "activity", seq: 1, async: false, ok: false, error: { message: "no such page" } }]);
    const replayed = inSession(memoryJournal(), journal.records, () => call(s1, undefined, () => "ran live", []));
    await expect(replayed).rejects.toThrow(RangeError);
  });

  test("a sync activity with retries is called again after each failure: each failed attempt is journaled as a retry, then its final outcome", async () => {
    const journal = memoryJournal();
    let tries = 0;
    const flaky = activity(() => {
      if (++tries < 3) throw new Error(`try ${tries}`);
      return `ok after ${tries}`;
    }, { retries: 2 });
    const { result } = await inSession(journal, [], () => flaky());
    expect(result).toBe("ok after 3");
    expect(journal.records).toMatchObject([
      { t: "retry", seq: 1, attempt: 1, error: { message: "try 1" } },
      { t: "retry", seq: 1, attempt: 2, error: { message: "try 2" } },
      { t: "activity", seq: 1, ok: true, value: "ok after 3", async: false },
    ]);
    let calls = 0;
    const tooFew = activity(() => {
      throw new Error(`always (${++calls})`);
    }, { retries: 1 });
    const failed = memoryJournal();
    await expect(inSession(failed, [], () => tooFew())).rejects.toThrow("always (2)");
    expect(calls).toBe(2);
    expect(failed.records).toMatchObject([
      { t: "retry", seq: 1, attempt: 1, error: { message: "always (1)" } },
      { t: "activity", seq: 1, ok: false, error: { message: "always (2)" } },
    ]);
  });

  test("an async activity's record is journaled before its promise resolves, marked async, and replays after its turn", async () => {
    const journal = memoryJournal();
    let journaledFirst = false;
    const { result } = await inSession(journal, [], async () => {
      const v = await call(s1, undefined, async () => ({ id: 7 }), []);
      journaledFirst = journal.records.length === 1;
      return v;
    });
    expect(result).toEqual({ id: 7 });
    expect(journaledFirst).toBe(true);
    expect(journal.records).toMatchObject([{ t: "activity", seq: 1, async: true, ok: true, value: { id: 7 } }]);
    const again = await inSession(memoryJournal(), journal.records, () => call(s1, undefined, () => Promise.reject(new Error("ran live")), []));
    expect(again.result).toEqual({ id: 7 });
  });

  test("a sink that tells a waiter (appendThen) settles an async call itself: its caller goes on one promise job after the write is durable; a failed write rejects the call and is fatal", async () => {
    const records: JournalRecord[] = [];
    const waiters: Waiter[] = [];
    const sink: JournalSink = {
      append: () => Promise.reject(new Error("appendThen is the sink's way")),
      appendThen: (record, waiter) => void (records.push(record), waiters.push(waiter)),
      appendSync: () => {},
    };
    const state = new SessionState("ses_then", 1, true, sink, [], inbox);
    const inSession = (s: typeof s1, value: unknown) => storage.run({ session: state, inActivity: false }, () => call(s, undefined, async () => value, []) as Promise<unknown>);
    const written = async (n: number) => {
      while (waiters.length < n) await new Promise((r) => setImmediate(r));
    };
    try {
      let result: unknown;
      const first = inSession(s1, { id: 1 });
      void first.then((v) => (result = v));
      await written(1);
      expect(records).toMatchObject([{ t: "activity", seq: 1, async: true, ok: true, value: { id: 1 } }]);
      await new Promise((r) => setImmediate(r));
      expect(result).toBeUndefined();
      expect(state.inflight.size).toBe(1);
      waiters[0].resolve();
      // A job queued now runs right after the caller's: the caller has gone on by then.
      expect(await new Promise((r) => queueMicrotask(() => r(result)))).toEqual({ id: 1 });
      expect(state.inflight.size).toBe(0);
      const disk = new Error("disk gone");
      const second = inSession(s2, 2);
      await written(2);
      waiters[1].reject(disk);
      await expect(second).rejects.toBe(disk);
      expect(state.fatal?.error).toBe(disk);
      expect(state.inflight.size).toBe(0);
    } finally {
      state.close();
    }
  });

  test("async activities started together replay in their journaled completion order, each with its own outcome", async () => {
    const journal = memoryJournal();
    const later = (v: string, ms: number) => () => new Promise((r) => setTimeout(() => r(v), ms));
    const handler = (a: () => unknown, b: () => unknown) => async () => {
      const order: string[] = [];
      const both = [call(s1, undefined, a, []), call(s2, undefined, b, [])].map((p, i) => (p as Promise<string>).then((v) => (order.push(`${i}:${v}`), v)));
      return { values: await Promise.all(both), order };
    };
    const live = await inSession(journal, [], handler(later("slow", 30), later("fast", 1)));
    expect(live.result).toEqual({ values: ["slow", "fast"], order: ["1:fast", "0:slow"] });
    const fail = () => Promise.reject(new Error("ran live"));
    const replay = await inSession(memoryJournal(), journal.records, handler(fail, fail));
    expect(replay.result).toEqual(live.result);
  });

  test("only a sync record can hold an iterated result's shape: an async result of the same form replays as data", async () => {
    const lookalike = { "akts:iterable": { thenable: false, iterator: true } };
    const journal = memoryJournal();
    await inSession(journal, [], () => call(s1, undefined, async () => lookalike, []));
    const again = await inSession(memoryJournal(), journal.records, () => call(s1, undefined, () => Promise.reject(new Error("ran live")), []));
    expect(again.result).toEqual(lookalike);
  });

  test("a fetch Response, returned or held by the error an HTTP client throws, is journaled with its body and replays", async () => {
    const fetched = async () => new Response("hello", { status: 200, headers: { "content-type": "text/plain" } });
    class HTTPError extends Error {
      response = new Response('{"error":"not found"}', { status: 404 });
    }
    const failing = async () => {
      throw new HTTPError("Request failed with status code 404");
    };
    const journal = memoryJournal();
    const live = await inSession(journal, [], async () => {
      const res = (await call(s1, undefined, fetched, [])) as Response;
      const text = await res.text();
      const err = (await (call(s2, undefined, failing, []) as Promise<never>).catch((e: unknown) => e)) as HTTPError;
      return [text, err.name, err.message, await err.response.text()];
    });
    expect(live.result).toEqual(["hello", "Error", "Request failed with status code 404", '{"error":"not found"}']);
    expect(journal.records).toMatchObject([{ seq: 1, ok: true }, { seq: 2, ok: false }]);
    const replayed = await inSession(memoryJournal(), journal.records, async () => {
      const res = (await call(s1, undefined, () => Promise.reject(new Error("ran live")), [])) as Response;
      const err = (await (call(s2, undefined, () => Promise.reject(new Error("ran live")), []) as Promise<never>).catch((e: unknown) => e)) as HTTPError;
      return [res.status, res.headers.get("content-type"), await res.text(), err instanceof Error, err.message, err.response.status, await err.response.text()];
    });
    expect(replayed.result).toEqual([200, "text/plain", "hello", true, "Request failed with status code 404", 404, '{"error":"not found"}']);
  });

  test("a call that is not a function throws the TypeError a native call would, in a session or not", async () => {
    expect(() => call(s1, undefined, undefined, [])).toThrow(new TypeError("api.get is not a function"));
    const journal = memoryJournal();
    await expect(inSession(journal, [], () => call(s1, undefined, 5, []))).rejects.toThrow(new TypeError("api.get is not a function"));
    expect(journal.records).toEqual([]);
  });

  test("calls made inside a running activity, and noActivity() functions, run live and take no seq", async () => {
    const journal = memoryJournal();
    const inner: number[] = [];
    const live = noActivity(() => "live");
    const { result } = await inSession(journal, [], () => {
      const outer = call(s1, undefined, () => {
        inner.push(call(s2, undefined, () => 1, []) as number, nondet(s2, () => 2));
        return "outer";
      }, []);
      return [outer, call(s2, undefined, live, []), call(s2, undefined, () => "second", [])];
    });
    expect(result).toEqual(["outer", "live", "second"]);
    expect(inner).toEqual([1, 2]);
    expect(journal.records.map((r) => [r.t, (r as { seq: number }).seq, (r as { value: unknown }).value])).toEqual([
      ["activity", 1, "outer"],
      ["activity", 2, "second"],
    ]);
  });

  test("nondet journals its value in a durable session and replays it; a non-durable session calls through", async () => {
    const journal = memoryJournal();
    const first = await inSession(journal, [], () => nondet(s1, () => 0.25));
    expect(first.result).toBe(0.25);
    expect(journal.records).toMatchObject([{ t: "activity", seq: 1, ok: true, value: 0.25 }]);
    const again = await inSession(memoryJournal(), journal.records, () => nondet(s1, () => 0.75));
    expect(again.result).toBe(0.25);
    const plain = new SessionState("ses_plain", 1, false, undefined, [], inbox);
    expect(storage.run({ session: plain, inActivity: false }, () => nondet(s1, () => 0.5))).toBe(0.5);
    plain.close();
  });

  test("a file's site table calls through its sites by index", async () => {
    const t = table("program.ts", "3:5 external api.get\n4:5 external api.list");
    const journal = memoryJournal();
    const { result } = await inSession(journal, [], () => [t.call(1, undefined, () => "a", []), t.nondet(0, () => "b")]);
    expect(result).toEqual(["a", "b"]);
    expect(journal.records.map((r) => (r as { site: string }).site)).toEqual(["program.ts:4:5", "program.ts:3:5"]);
  });
});

describe("stub details", () => {
  test("outside a session, while a durable session is open elsewhere, calls pass through", () => {
    const other = new SessionState("ses_other", 1, true, memoryJournal(), [], inbox);
    try {
      expect(call(s1, undefined, (x: number) => x + 1, [1])).toBe(2);
      expect(nondet(s1, () => "now")).toBe("now");
    } finally {
      other.close();
    }
  });

  test("a compiled call of an activity with retries retries it, sync or async; each failed attempt is journaled, the last as the outcome", async () => {
    let tries = 0;
    const flaky = activity(() => {
      if (++tries < 3) throw new Error(`try ${tries}`);
      return tries;
    }, { retries: 2 });
    const journal = memoryJournal();
    expect((await inSession(journal, [], () => call(s1, undefined, flaky, []))).result).toBe(3);
    expect(journal.records).toMatchObject([{ t: "retry", attempt: 1 }, { t: "retry", attempt: 2 }, { t: "activity", seq: 1, ok: true, value: 3, async: false }]);

    let asyncTries = 0;
    const failing = activity(async () => {
      asyncTries++;
      throw new RangeError(`try ${asyncTries}`);
    }, { retries: 2 });
    const failed = memoryJournal();
    await expect(inSession(failed, [], () => call(s1, undefined, failing, []))).rejects.toThrow("try 3");
    expect(asyncTries).toBe(3);

    // A first failure thrown synchronously counts against the same retries as the async ones after it.
    let mixedTries = 0;
    const mixed = activity((): Promise<never> => {
      if (++mixedTries === 1) throw new Error("sync");
      return Promise.reject(new Error(`async ${mixedTries}`));
    }, { retries: 2 });
    await expect(inSession(memoryJournal(), [], () => call(s1, undefined, mixed, []))).rejects.toThrow("async 3");
    expect(mixedTries).toBe(3);
    expect(failed.records).toMatchObject([
      { t: "retry", attempt: 1, error: { message: "try 1" } },
      { t: "retry", attempt: 2, error: { message: "try 2" } },
      { t: "activity", seq: 1, ok: false, async: true, error: { name: "RangeError", message: "try 3" } },
    ]);

    let recovering = 0;
    const recovers = activity(async () => {
      if (++recovering < 2) throw new Error("once");
      return "second try";
    }, { retries: 5 });
    const ok = memoryJournal();
    expect((await inSession(ok, [], () => call(s1, undefined, recovers, []))).result).toBe("second try");
    expect(recovering).toBe(2);
    expect(ok.records).toMatchObject([{ t: "retry", attempt: 1, error: { message: "once" } }, { t: "activity", seq: 1, ok: true, async: true, value: "second try" }]);
  });

  test("a tagged template's call gets, through tpl(), the template's own strings object and its values", async () => {
    const strings = Object.assign(["GET /items/", "?page=", ""], { raw: ["GET /items/", "?page=", ""] }) as unknown as TemplateStringsArray;
    const seen: unknown[][] = [];
    const tag = (...args: unknown[]) => (seen.push(args), "ok");
    const { result } = await inSession(memoryJournal(), [], () => call(s1, undefined, tag, tpl(strings, 7, 2)));
    expect(result).toBe("ok");
    expect(seen).toEqual([[strings, 7, 2]]);
    expect(seen[0][0]).toBe(strings);
  });

  test("what the journal drops from a result is reported once per site, as AKTS2003, and the rest is journaled", async () => {
    const lossy = site("stub.ts", 40, 7, "client.fetchAll", "external");
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    const whole = site("stub.ts", 41, 7, "client.fetchOne", "external");
    const journal = memoryJournal();
    try {
      await inSession(journal, [], () => [
        call(whole, undefined, () => ({ id: 0 }), []),
        call(lossy, undefined, () => ({ id: 1, fn: () => 1, close() {} }), []),
        call(lossy, undefined, () => ({ id: 2, fn: () => 2 }), []),
      ]);
    } finally {
      process.stderr.write = write;
    }
    expect(writes).toEqual([
      "info AKTS2003: client.fetchAll at stub.ts:40:7: the journal keeps a data projection of the result; dropped $.fn, $.close\n",
    ]);
    expect(journal.records.map((r) => (r as { value: unknown }).value)).toEqual([{ id: 0 }, { id: 1 }, { id: 2 }]);
  });
});

describe("iterated results", () => {
  test("an async iterable result is journaled by its shape and each step; the replay yields the items without calling", async () => {
    const journal = memoryJournal();
    const log: string[] = [];
    const live = await inSession(journal, [], async () => {
      const items: unknown[] = [];
      for await (const item of call(s2, undefined, () => pages(log), []) as AsyncIterable<unknown>) items.push(item);
      return items;
    });
    expect(live.result).toEqual([{ page: 1 }, { page: 2 }, { page: 3 }]);
    expect(log).toEqual(["page 1", "page 2", "page 3"]);
    const [shape, ...steps] = journal.records as (JournalRecord & { t: "activity" })[];
    expect(shape).toMatchObject({ seq: 1, ok: true, async: false, callee: "api.list", value: { "akts:iterable": { thenable: false, iterator: true } } });
    expect(steps.map((s) => [s.callee, s.seq, s.async])).toEqual([
      ["api.list (next)", 2, true],
      ["api.list (next)", 3, true],
      ["api.list (next)", 4, true],
      ["api.list (next)", 5, true],
    ]);

    const replayLog: string[] = [];
    const replay = await inSession(memoryJournal(), journal.records, async () => {
      const items: unknown[] = [];
      for await (const item of call(s2, undefined, () => pages(replayLog), []) as AsyncIterable<unknown>) items.push(item);
      return items;
    });
    expect(replay.result).toEqual(live.result);
    expect(replayLog).toEqual([]);
  });

  test("resumed past the journal's end, an iteration calls again live and skips the items the journal gave", async () => {
    const journal = memoryJournal();
    await inSession(journal, [], async () => {
      const it = (call(s2, undefined, () => pages([]), []) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      return [await it.next()];
    });
    expect(journal.records).toHaveLength(2);
    const log: string[] = [];
    const more = memoryJournal();
    const resumed = await inSession(more, journal.records, async () => {
      const items: unknown[] = [];
      for await (const item of call(s2, undefined, () => pages(log), []) as AsyncIterable<unknown>) items.push(item);
      return items;
    });
    expect(resumed.result).toEqual([{ page: 1 }, { page: 2 }, { page: 3 }]);
    // The live call is made once; its first item, given by the journal, is skipped (still produced by the source).
    expect(log).toEqual(["page 1", "page 2", "page 3"]);
    expect(more.records.map((r) => (r as { seq: number }).seq)).toEqual([3, 4, 5]);
  });

  test("the live call an iteration resumed past the journal's end makes runs inside an activity: the compiled calls it makes pass through", async () => {
    const journal = memoryJournal();
    await inSession(journal, [], async () => {
      const it = (call(s2, undefined, () => pages([]), []) as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      return [await it.next()];
    });
    const inner: string[] = [];
    // The source, as a client library's list method: it makes a compiled call of its own before it pages.
    const list = () => {
      inner.push(call(s1, undefined, () => "token", []) as string);
      return pages([]);
    };
    const more = memoryJournal();
    const resumed = await inSession(more, journal.records, async () => {
      const items: unknown[] = [];
      for await (const item of call(s2, undefined, list, []) as AsyncIterable<unknown>) items.push(item);
      return items;
    });
    expect(resumed.result).toEqual([{ page: 1 }, { page: 2 }, { page: 3 }]);
    expect(inner).toEqual(["token"]);
    // Only the iteration's steps are journaled, in the seqs after the journal's: the inner call took none.
    expect(more.records.map((r) => [(r as { seq: number }).seq, (r as { callee: string }).callee])).toEqual([
      [3, "api.list (next)"],
      [4, "api.list (next)"],
      [5, "api.list (next)"],
    ]);
  });
});

describe("cancellation in a non-durable session", () => {
  test("a compiled call is a boundary while a cancellation is pending: it throws CancelledError instead of running, once; later calls run unjournaled", () => {
    // Another session, durable, is open meanwhile: calls are looked at, and this one's must not be journaled.
    const durable = new SessionState("ses_other", 1, true, memoryJournal(), [], inbox);
    const state = new SessionState("ses_plain", 1, false, undefined, [], inbox);
    const ran: number[] = [];
    storage.run({ session: state, inActivity: false }, () => {
      state.requestCancel();
      expect(() => call(s1, undefined, () => ran.push(1), [])).toThrow(/^session ses_plain was cancelled$/);
      expect(call(s1, undefined, () => ran.push(2), [])).toBe(1);
    });
    expect(ran).toEqual([2]);
    state.close();
    durable.close();
  });
});
