/**
 * Replay order and replay failures. Each test runs a session live, then copies its journal without the end
 * record into a fresh session (what a crash right before the end leaves) and resumes that with the same or a
 * changed handler whose activities must not run again.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import ts from "typescript";
import { call, nondet, site, tpl } from "../runtime/stub";
import { Replay, timeoutSite } from "../runtime/replay";
import { SessionState } from "../runtime/session-state";
import { activity, nextEvent, noActivity, session, sleep } from "../runtime/api";
import type { JournalRecord } from "../runtime/journal";
import { Engine, type Handler, type TriggerRef } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import { ROOT } from "./helpers";

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-replay-"));
  store = new FileStore(dir, "none");
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const trigger: TriggerRef = { project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", maxAttempts: 3, codeHash: "h" };
const slowSite = site("program.ts", 1, 1, "api.slow", "external");
const fastSite = site("program.ts", 2, 1, "api.fast", "external");

const after = <T>(ms: number, value: T) => new Promise<T>((r) => setTimeout(() => r(value), ms));
/** Stands for an activity that must be answered from the journal: calling it live fails the test. */
const mustNotRun = () => Promise.reject(new Error("ran live on replay"));

async function runLive(handler: Handler, event: unknown = null) {
  const out = await new Engine({ store }).start(trigger, handler, event);
  expect(out.status, JSON.stringify(out.error)).toBe("completed");
  return out;
}

/** A copy of the session's journal without its end record, resumed with `handler`. */
async function resumeCopy(sessionId: string, handler: Handler) {
  const { records } = await store.read(sessionId);
  const [header, ...rest] = records;
  if (header.t !== "header") throw new Error("no header");
  const copyId = `${sessionId}_copy`;
  const lease = await store.create({ ...header, sessionId: copyId }, "crashed");
  for (const r of rest) if (r.t !== "end") lease.appendSync(r);
  await lease.release();
  const out = await new Engine({ store }).resume(copyId, async () => ({ trigger, handler }));
  return { out: out!, records: (await store.read(copyId)).records };
}

/** Delivers an event once the session exists (a fixed delay is not enough on a loaded machine). */
async function deliverWhenStarted(id: string, name: string, value: unknown) {
  for (let i = 0; i < 2000 && (await store.get(id)) === undefined; i++) await after(5, null);
  await store.deliver(id, name, value);
}

/**
 * Runs `handler` live as session `id`, delivering "go" once it exists, then resumes a copy of it with `replay`
 * (whose activities must not run): both must complete with `expected`.
 */
async function liveThenReplayed(id: string, live: Handler, replay: Handler, expected: unknown) {
  const done = new Engine({ store }).start(trigger, live, null, id);
  await deliverWhenStarted(id, "go", "event");
  expect((await done).result).toEqual(expected);
  const { out } = await resumeCopy(id, replay);
  expect(out).toMatchObject({ status: "completed", result: expected });
}

describe("replay hands back async outcomes in their recorded completion order", () => {
  test("Promise.race between an activity and a sleep keeps the winner", async () => {
    const race = (slow: () => Promise<string>) => async () => Promise.race([call(slowSite, undefined, slow, []) as Promise<string>, sleep(5).then(() => "timer")]);
    // Far apart, so a loaded machine (or mutation testing's instrumented code) keeps the timer first.
    const live = await runLive(race(() => after(600, "activity")));
    expect(live.result).toBe("timer");
    const { out } = await resumeCopy(live.sessionId, race(mustNotRun));
    expect(out).toMatchObject({ status: "completed", result: "timer" });
  });

  test("Promise.race between an activity and an event keeps the winner", async () => {
    const race = (fast: () => Promise<string>) => async () => {
      const event = nextEvent<string>("go");
      const winner = await Promise.race([call(fastSite, undefined, fast, []) as Promise<string>, event]);
      return { winner, event: await event };
    };
    await liveThenReplayed("ses_race_event", race(() => after(5, "activity")), race(mustNotRun), { winner: "activity", event: "event" });
  });

  test("Promise.race between an event and an activity called after it keeps the event as winner", async () => {
    const race = (slow: () => Promise<string>) => async () => Promise.race([nextEvent<string>("go"), call(slowSite, undefined, slow, []) as Promise<string>]);
    // The activity ends long after the event is delivered (once the session exists), so live the event wins.
    await liveThenReplayed("ses_race_event_first", race(() => after(1500, "activity")), race(mustNotRun), "event");
  });

  test("Promise.race between a sleep and an activity called after it keeps the timer as winner", async () => {
    const race = (slow: () => Promise<string>) => async () => Promise.race([sleep(5).then(() => "timer"), call(slowSite, undefined, slow, []) as Promise<string>]);
    const live = await runLive(race(() => after(600, "activity")));
    expect(live.result).toBe("timer");
    const { out } = await resumeCopy(live.sessionId, race(mustNotRun));
    expect(out).toMatchObject({ status: "completed", result: "timer" });
  });

  test("Promise.race between two sleeps keeps the one that fired first, though both deadlines are past on replay", async () => {
    const race = async () => Promise.race([sleep(300).then(() => "long"), sleep(5).then(() => "short")]);
    const live = await runLive(race);
    expect(live.result).toBe("short");
    const deadlines = (await store.read(live.sessionId)).records.flatMap((r) => (r.t === "timer" ? [r.deadline] : []));
    await after(Math.max(...deadlines) - Date.now() + 5, null);
    const { out } = await resumeCopy(live.sessionId, race);
    expect(out).toMatchObject({ status: "completed", result: "short" });
  });

  test("Promise.all over an event, an activity and a sleep settles them in the order they completed live", async () => {
    // Live order: the event (delivered once the session exists), the activity (600 ms), the sleep (1200 ms).
    const all = (slow: () => Promise<string>) => async () => {
      const seen: string[] = [];
      const note = (name: string, p: Promise<unknown>) => p.then(() => seen.push(name));
      await Promise.all([note("event", nextEvent<string>("go")), note("activity", call(slowSite, undefined, slow, []) as Promise<string>), note("sleep", sleep(1200))]);
      return seen;
    };
    await liveThenReplayed("ses_all_mixed", all(() => after(600, "activity")), all(mustNotRun), ["event", "activity", "sleep"]);
  });

  test("three concurrent activities that finished out of call order", async () => {
    const sites = [1, 2, 3].map((n) => site("program.ts", 10 + n, 5, `api.step${n}`, "external"));
    const handler = (work: (n: number) => Promise<number>) => async () => {
      const seen: number[] = [];
      await Promise.all(sites.map((s, i) => (call(s, undefined, work, [i + 1]) as Promise<number>).then((v) => seen.push(v))));
      return seen;
    };
    const live = await runLive(handler((n) => after([40, 1, 20][n - 1], n)));
    expect(live.result).toEqual([2, 3, 1]);
    const { out } = await resumeCopy(live.sessionId, handler(mustNotRun));
    expect(out.result).toEqual([2, 3, 1]);
  });
});

test("a sync activity before an async one replays without waiting for a turn, and the replay ends with the journal", async () => {
  const handler = (sync: () => number, async: () => Promise<number>) => async () => {
    const a = call(fastSite, undefined, sync, []) as number;
    const b = await (call(slowSite, undefined, async, []) as Promise<number>);
    return { a, b, replaying: session()?.replaying };
  };
  const live = await runLive(handler(() => 1, () => after(1, 2)));
  const { out } = await resumeCopy(live.sessionId, handler(() => { throw new Error("ran live on replay"); }, mustNotRun));
  expect(out).toMatchObject({ status: "completed", result: { a: 1, b: 2, replaying: false } });
});

test("an async activity that failed live fails again on replay with its error, awaited in turn or after an event", async () => {
  class Declined extends Error {
    override name = "Declined";
  }
  const handler = (fail: () => Promise<never>) => async () => {
    const errors: string[] = [];
    for (let i = 0; i < 2; i++) {
      if (i === 1) await nextEvent("go");
      try {
        await (call(slowSite, undefined, fail, []) as Promise<never>);
      } catch (err) {
        errors.push(`${(err as Error).name}: ${(err as Error).message}`);
      }
    }
    return errors;
  };
  const expected = ["Declined: no 1", "Declined: no 2"];
  let n = 0;
  await liveThenReplayed("ses_failed_async", handler(async () => Promise.reject(new Declined(`no ${++n}`))), handler(mustNotRun), expected);
});

test("an event received before an activity completed is handed back first, as journaled between undecoded activities", async () => {
  const id = "ses_event_first";
  const race = (slow: () => Promise<string>) => async () => {
    const fast = await (call(fastSite, undefined, () => after(1, "fast"), []) as Promise<string>);
    const winner = await Promise.race([call(slowSite, undefined, slow, []) as Promise<string>, nextEvent<string>("go")]);
    return { fast, winner };
  };
  await liveThenReplayed(id, race(() => after(1500, "activity")), race(mustNotRun), { fast: "fast", winner: "event" });
});

test("a replay that returns before the journal's last activities fails; replaying stays true until then", async () => {
  const now = site("program.ts", 5, 1, "Date.now", "nondeterministic");
  const live = await runLive(async () => [nondet(now, () => 1), nondet(now, () => 2), await (call(slowSite, undefined, () => after(1, 3), []) as Promise<number>)]);
  const { out } = await resumeCopy(live.sessionId, async () => {
    nondet(now, () => -1);
    return session()?.replaying;
  });
  expect(out).toMatchObject({ status: "failed", error: { code: "AKTS5001" } });
  expect(out.error?.message).toMatch(/^entry #2: journal has Date\.now at program\.ts:5:1, code returned without calling it/);
});

test("a replay that returns before a sleep journaled after the last activity fails", async () => {
  const now = site("program.ts", 7, 1, "Date.now", "nondeterministic");
  const live = await runLive(async () => {
    const t = nondet(now, () => 1);
    await sleep(1);
    return t;
  });
  const { out } = await resumeCopy(live.sessionId, async () => nondet(now, () => -1));
  expect(out.error).toMatchObject({ code: "AKTS5001", message: expect.stringContaining("entry #2: journal has sleep(), code returned without calling it") });
});

test("a replay of sync calls only is replaying until its last recorded call", async () => {
  const now = site("program.ts", 6, 1, "Date.now", "nondeterministic");
  const handler = (live: boolean) => async () => {
    const a = nondet(now, () => (live ? 1 : -1));
    const mid = session()?.replaying;
    const b = nondet(now, () => (live ? 2 : -2));
    return { a, b, mid, end: session()?.replaying };
  };
  const live = await runLive(handler(true));
  expect(live.result).toEqual({ a: 1, b: 2, mid: false, end: false });
  const { out } = await resumeCopy(live.sessionId, handler(false));
  expect(out.result).toEqual({ a: 1, b: 2, mid: true, end: false });
});

test("the same callee moved within its file replays (a cosmetic edit moves lines)", async () => {
  const live = await runLive(async () => call(slowSite, undefined, () => after(1, 1), []));
  const { out } = await resumeCopy(live.sessionId, async () => call(site("program.ts", 9, 9, "api.slow", "external"), undefined, mustNotRun, []));
  expect(out.status).toBe("completed");
});

test("the same callee in another file, or another callee at the same site, is a divergence", async () => {
  const moved = site("other.ts", 1, 1, "api.slow", "external");
  const renamed = site("program.ts", 1, 1, "api.other", "external");
  for (const s of [moved, renamed]) {
    const live = await runLive(async () => call(slowSite, undefined, () => after(1, 1), []));
    const { out } = await resumeCopy(live.sessionId, async () => call(s, undefined, mustNotRun, []));
    expect(out.error).toMatchObject({ code: "AKTS5001", message: expect.stringContaining(`code called ${s.callee} at ${s.id}`) });
  }
});

describe("journal failures end the session even when the handler catches them", () => {
  test("a caught NondeterminismError still fails the session, naming both sites", async () => {
    const live = await runLive(async () => call(slowSite, undefined, () => after(1, 1), []));
    const { out } = await resumeCopy(live.sessionId, async () => {
      try {
        await call(fastSite, undefined, mustNotRun, []);
      } catch {
        return "swallowed";
      }
    });
    expect(out.status).toBe("failed");
    expect(out.error).toMatchObject({
      code: "AKTS5001",
      message: "entry #1: journal has api.slow at program.ts:1:1, code called api.fast at program.ts:2:1 (the code is unchanged since this session started: hash h)",
    });
  });

  test("a sleep where the journal has an activity is a divergence", async () => {
    const live = await runLive(async () => {
      await sleep(1);
      return call(fastSite, undefined, () => after(1, 1), []);
    });
    const { out } = await resumeCopy(live.sessionId, async () => call(fastSite, undefined, mustNotRun, []));
    expect(out.error).toMatchObject({ code: "AKTS5001", message: "entry #1: journal has sleep(), code called api.fast at program.ts:2:1 (the code is unchanged since this session started: hash h)" });
  });

  test("a caught UnserializableResultError still fails the session", async () => {
    const weird = site("program.ts", 9, 3, "api.weird", "external");
    const out = await new Engine({ store }).start(
      trigger,
      async () => {
        try {
          call(weird, undefined, () => Symbol("handle"), []);
        } catch {
          return "swallowed";
        }
      },
      null,
    );
    expect(out).toMatchObject({ status: "failed", error: { code: "AKTS2002" } });
  });
});

test("activities and nondeterministic builtins journaled in a session replay with the same values", async () => {
  const now = site("program.ts", 3, 1, "Date.now", "nondeterministic");
  const marked = activity(async (x: number) => ({ x, key: session()?.idempotencyKey }));
  const handler = (live: boolean) => async () => ({
    t: nondet(now, () => (live ? Date.now() : -1)),
    m: await marked(2),
    replaying: session()?.replaying,
  });
  const first = await runLive(handler(true));
  const { out } = await resumeCopy(first.sessionId, handler(false));
  const r = first.result as { t: number; m: { key: string } };
  expect(out.result).toEqual({ ...r, replaying: false });
  expect(r.m.key).toBe(`${first.sessionId}:2`);
});

test("an @activity method called from code that was not rewritten journals itself and replays", async () => {
  // Node 20 has no decorator syntax yet: TypeScript lowers the class, as it does in a handler project.
  const source = `
    export class Billing {
      constructor(private readonly rate: number) {}
      @activity
      async charge(amount: number) {
        calls.live++;
        return { charged: amount * this.rate, key: session()?.idempotencyKey };
      }
    }`;
  const js = ts.transpileModule(source, { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS } }).outputText;
  const calls = { live: 0 };
  const mod: { Billing?: new (rate: number) => { charge(n: number): Promise<unknown> } } = {};
  new Function("exports", "activity", "session", "calls", js)(mod, activity, session, calls);
  const handler = async () => new mod.Billing!(2).charge(21);
  const first = await runLive(handler);
  expect(first.result).toEqual({ charged: 42, key: `${first.sessionId}:1` });
  const { records } = await store.read(first.sessionId);
  expect(records.filter((r) => r.t === "activity")).toMatchObject([{ site: "<activity>:0:0", callee: "charge", async: true }]);
  const { out } = await resumeCopy(first.sessionId, handler);
  expect(out.result).toEqual(first.result);
  expect(calls.live).toBe(1);
});

test("a replay waiting on an entry the changed code never calls fails instead of hanging", () => {
  // Needs a process whose event loop can run dry, so it runs in its own node process against the build.
  const script = `
    const { Engine } = require("./dist/runtime/engine");
    const { FileStore } = require("./dist/runtime/store/file-store");
    const { call, site } = require("./dist/runtime/stub");
    const store = new FileStore(process.argv[1], "none");
    const trigger = { project: "p", trigger: "t", handler: "h", mode: "durable", maxAttempts: 3, codeHash: "h" };
    const a = site("p.ts", 1, 1, "api.a", "external"), b = site("p.ts", 2, 1, "api.b", "external");
    const wait = (ms, v) => new Promise((r) => setTimeout(() => r(v), ms));
    (async () => {
      const live = await new Engine({ store }).start(trigger, async () =>
        Promise.all([call(a, null, () => wait(30, "a"), []), call(b, null, () => wait(1, "b"), [])]), null);
      const { records } = await store.read(live.sessionId);
      const lease = await store.create({ ...records[0], sessionId: "ses_changed" }, "crashed");
      for (const r of records.slice(1, -1)) lease.appendSync(r);
      await lease.release();
      const never = () => new Promise(() => {});
      // The changed code awaits a before calling b, but the journal says b completed first.
      const out = await new Engine({ store }).resume("ses_changed", async () => ({ trigger, handler: async () => {
        await call(a, null, never, []);
        return call(b, null, never, []);
      } }));
      process.stdout.write(JSON.stringify(out));
    })();`;
  const r = spawnSync(process.execPath, ["-e", script, dir], { cwd: ROOT, encoding: "utf8", timeout: 20_000 });
  expect(r.stderr).toBe("");
  expect(JSON.parse(r.stdout)).toMatchObject({
    status: "failed",
    error: {
      code: "AKTS5001",
      message: "entry #2: journal has api.b at p.ts:2:1 completing before #1, which the code waits on; the code never called it (the code is unchanged since this session started: hash h)",
    },
  });
});

describe("the handler API", () => {
  /** A journal of one durable session, attempt 1, whose records after the header are `records`. */
  async function crashedWith(id: string, records: JournalRecord[]): Promise<void> {
    const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", codeHash: "h", event: null, createdAt: 1 }, "crashed");
    lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
    for (const r of records) lease.appendSync(r);
    await lease.release();
  }
  const resume = (id: string, handler: Handler) => new Engine({ store }).resume(id, async () => ({ trigger, handler }));

  test("a replayed sleep waits only what is left of its journaled deadline, and one already past not at all", async () => {
    const deadline = Date.now() + 300;
    await crashedWith("ses_sleep_left", [{ t: "timer", seq: 1, site: "<akts>:sleep", deadline }]);
    const out = await resume("ses_sleep_left", async () => (await sleep(5_000), Date.now()));
    expect(out?.status).toBe("completed");
    expect(out?.result as number).toBeGreaterThanOrEqual(deadline);
    expect(out?.result as number).toBeLessThan(deadline + 2_500);

    await crashedWith("ses_sleep_past", [{ t: "timer", seq: 1, site: "<akts>:sleep", deadline: Date.now() - 1000 }]);
    const again = Date.now();
    const past = await resume("ses_sleep_past", async () => (await sleep(5_000), Date.now()));
    expect(past?.result as number).toBeLessThan(again + 2_500);
  });

  test("a replayed sleep returns once Date.now() shows its deadline, though its timer fires before by that clock", async () => {
    const real = Date.now.bind(Date);
    const start = real();
    const deadline = start + 200;
    await crashedWith("ses_sleep_clock", [{ t: "timer", seq: 1, site: "<akts>:sleep", deadline }]);
    // A wall clock at half the timers' speed: a timer set for what is left fires when this clock shows half of it gone
    // (as a timer on the loop's cached monotonic time may fire a millisecond before Date.now() reaches its deadline).
    const slow = vi.spyOn(Date, "now").mockImplementation(() => start + Math.floor((real() - start) / 2));
    try {
      const out = await resume("ses_sleep_clock", async () => (await sleep(5_000), Date.now()));
      expect(out?.status).toBe("completed");
      expect(out?.result as number).toBeGreaterThanOrEqual(deadline);
    } finally {
      slow.mockRestore();
    }
  });

  test("a live sleep journals now + ms and waits it out; outside a session it only waits", async () => {
    const before = Date.now();
    const live = await runLive(async () => (await sleep(50), Date.now()));
    const [timer] = (await store.read(live.sessionId)).records.filter((r) => r.t === "timer");
    expect(timer).toMatchObject({ seq: 1, site: "<akts>:sleep" });
    const deadline = (timer as { deadline: number }).deadline;
    expect(deadline).toBeGreaterThanOrEqual(before + 50);
    expect(live.result as number).toBeGreaterThanOrEqual(deadline);
    const outside = Date.now();
    await sleep(40);
    expect(Date.now() - outside).toBeGreaterThanOrEqual(35);
    await sleep(-5);
  });

  test("a non-durable session's sleep and nextEvent wait without journaling, and show it as waiting", async () => {
    const id = "ses_nondurable_wait";
    const statuses: string[] = [];
    let first = "";
    const done = new Engine({ store }).start({ ...trigger, mode: "nondurable" }, async () => {
      // The sleep waits: a shorter timer started after it still fires first.
      first = await Promise.race([sleep(300).then(() => "sleep"), after(100, "timer")]);
      return nextEvent<string>("go");
    }, null, id);
    for (let i = 0; i < 200 && statuses.at(-1) !== "waiting"; i++) {
      await after(5, null);
      statuses.push((await store.get(id))?.status ?? "");
    }
    expect(statuses).toContain("waiting");
    await store.deliver(id, "go", "went");
    expect((await done).result).toBe("went");
    expect(first).toBe("timer");
    expect((await store.read(id)).records.map((r) => r.t)).toEqual(["header", "attempt", "end"]);
  });

  test("nextEvent outside a session is an error; a replayed timeout throws AKTS6003 with the same wait", async () => {
    await expect(nextEvent("go")).rejects.toThrow("nextEvent() needs a running akts session");
    const nondurable = await new Engine({ store }).start({ ...trigger, mode: "nondurable" }, async () => nextEvent("go", { timeout: 10 }), null);
    expect(nondurable).toMatchObject({ status: "failed", error: { code: "AKTS6003" } });
    const live = await runLive(async () => {
      try {
        await nextEvent("go", { timeout: 20 });
      } catch (err) {
        return (err as Error).message;
      }
    });
    expect(live.result).toBe("no 'go' event arrived within 20 ms");
    const records = (await store.read(live.sessionId)).records;
    expect(records.filter((r) => r.t === "timer" || r.t === "event")).toMatchObject([
      { t: "timer", seq: 1, site: "<akts>:nextEvent:go" },
      { t: "event", seq: 2, name: "go", timedOut: true },
    ]);
    const { out } = await resumeCopy(live.sessionId, async () => {
      try {
        await nextEvent("go", { timeout: 20 });
      } catch (err) {
        return `${(err as { code: string }).code} ${(err as Error).message}`;
      }
    });
    expect(out.result).toBe("AKTS6003 no 'go' event arrived within 20 ms");
  });

  test("a replayed nextEvent keeps the journaled deadline and value, and takes nothing from the inbox", async () => {
    const id = "ses_event_value";
    const handler = async () => nextEvent<{ n: number }>("go", { timeout: 60_000 });
    const done = new Engine({ store }).start(trigger, handler, null, id);
    await deliverWhenStarted(id, "go", { n: 1 });
    expect((await done).result).toEqual({ n: 1 });
    const { out, records } = await resumeCopy(id, handler);
    expect(out.result).toEqual({ n: 1 });
    const timers = records.filter((r) => r.t === "timer");
    expect(timers).toHaveLength(1);
    expect(records.filter((r) => r.t === "event")).toHaveLength(1);
  });

  test("activity(): outside a durable session, and inside another activity, it calls straight through", async () => {
    let calls = 0;
    const inner = activity(function inner(x: number) {
      calls++;
      return x + 1;
    });
    expect(inner.name).toBe("inner");
    expect(inner(1)).toBe(2);
    const outer = activity(async () => inner(10) + inner(20));
    const nondurable = await new Engine({ store }).start({ ...trigger, mode: "nondurable" }, async () => inner(2), null);
    expect(nondurable.result).toBe(3);
    const live = await runLive(async () => outer());
    expect(live.result).toBe(32);
    const acts = (await store.read(live.sessionId)).records.filter((r) => r.t === "activity");
    expect(acts).toMatchObject([{ callee: "anonymous", value: 32 }]);
    expect(calls).toBe(4);
  });

  test("a compiled call of an activity with retries retries it; noActivity() runs live again on replay", async () => {
    let tries = 0;
    const flaky = activity((n: number) => {
      if (++tries < 3) throw new Error("flaky");
      return n;
    }, { retries: 2 });
    let made = 0;
    const make = noActivity(() => ++made);
    const s = site("program.ts", 20, 3, "flaky", "external");
    const m = site("program.ts", 21, 3, "make", "external");
    const handler = async () => [call(s, undefined, flaky, [7]), call(m, undefined, make, [])];
    const live = await runLive(handler);
    expect(live.result).toEqual([7, 1]);
    expect(tries).toBe(3);
    expect((await store.read(live.sessionId)).records.filter((r) => r.t === "activity")).toHaveLength(1);
    const { out } = await resumeCopy(live.sessionId, handler);
    expect(out.result).toEqual([7, 2]);
    expect(tries).toBe(3);
  });

  test("session() tells the session, its attempt, whether it replays, and the idempotency key inside an activity", async () => {
    expect(session()).toBeUndefined();
    const marked = activity(async () => session()?.idempotencyKey);
    const handler = async () => {
      const before = session()!;
      const key = await marked();
      return { id: before.id, attempt: before.attempt, durable: before.durable, replaying: before.replaying, key, outside: session()!.idempotencyKey, after: session()!.replaying };
    };
    const live = await runLive(handler);
    expect(live.result).toEqual({ id: live.sessionId, attempt: 1, durable: true, replaying: false, key: `${live.sessionId}:1`, outside: undefined, after: false });
    const { out } = await resumeCopy(live.sessionId, handler);
    expect(out.result).toEqual({ id: `${live.sessionId}_copy`, attempt: 2, durable: true, replaying: true, key: `${live.sessionId}:1`, outside: undefined, after: false });
  });
});

describe("replay bookkeeping", () => {
  const activityAt = (seq: number, s: typeof slowSite, end: number): JournalRecord => ({ t: "activity", seq, async: true, end, site: s.id, callee: s.callee, ok: true, start: 0, value: seq });

  test("a replay stuck on an entry the code never called fails its waiters and tells the session", async () => {
    const told: Error[] = [];
    // In file order, which is completion order: #2 completed first.
    const replay = new Replay([activityAt(2, fastSite, 10), activityAt(1, slowSite, 20)], (err) => told.push(err));
    replay.failIfStuck();
    expect(told).toEqual([]);
    const waiting = replay.turn(1);
    // What the process does when its event loop runs dry with the call still waiting.
    process.emit("beforeExit", 0);
    await expect(waiting).rejects.toThrow("entry #2: journal has api.fast at program.ts:2:1 completing before #1, which the code waits on; the code never called it");
    expect(told.map((e) => e.message)).toEqual(["entry #2: journal has api.fast at program.ts:2:1 completing before #1, which the code waits on; the code never called it"]);
  });

  test("entries the code returned without calling are a divergence; the last one asked for is not", () => {
    const replay = new Replay([activityAt(1, slowSite, 1), activityAt(3, fastSite, 2)], () => {});
    expect(() => replay.assertConsumed(1)).toThrow("entry #3: journal has api.fast at program.ts:2:1, code returned without calling it");
    expect(() => replay.assertConsumed(3)).not.toThrow();
    expect(() => new Replay([activityAt(0, slowSite, 1)], () => {})).toThrow("journal entry with seq 0: not a call number");
    expect(replay.replaying(1)).toBe(true);
    expect(replay.replaying(3)).toBe(true);
  });

  test("sleeps gate the completions recorded after their deadline, in deadline order", async () => {
    const records: JournalRecord[] = [
      { t: "timer", seq: 1, site: "<akts>:sleep", deadline: 30 },
      { t: "timer", seq: 2, site: "<akts>:sleep", deadline: 10 },
      activityAt(4, fastSite, 20),
      activityAt(3, slowSite, 40),
    ];
    const replay = new Replay(records, () => {});
    const order: number[] = [];
    await Promise.all([1, 2, 3, 4].map((seq) => replay.turn(seq).then(() => order.push(seq))));
    expect(order).toEqual([2, 4, 1, 3]);
    expect(replay.replaying(4)).toBe(false);
  });

  test("a sync activity in a decoded history takes no turn: the async one after it is handed back at once", async () => {
    const sync: JournalRecord = { t: "activity", seq: 1, async: false, end: 1, site: fastSite.id, callee: fastSite.callee, ok: true, start: 0, value: 1 };
    const replay = new Replay([sync, activityAt(2, slowSite, 2)], () => {});
    await replay.turn(2);
    expect(replay.replaying(2)).toBe(false);
  });

  test("a nextEvent timeout gates nothing: an activity completed after its deadline is handed back at once", async () => {
    const replay = new Replay([{ t: "timer", seq: 1, site: timeoutSite("go").id, deadline: 5 }, activityAt(2, slowSite, 10)], () => {});
    await replay.turn(2);
    expect(replay.replaying(2)).toBe(false);
  });

  test("a divergence at a nextEvent timeout names it", () => {
    const replay = new Replay([{ t: "timer", seq: 1, site: timeoutSite("approval").id, deadline: 1 }], () => {});
    expect(() => replay.entry(1, "activity", slowSite)).toThrow('entry #1: journal has timeout of nextEvent("approval"), code called api.slow at program.ts:1:1');
    expect(replay.entry(1, "timer", timeoutSite("approval"))).toMatchObject({ deadline: 1 });
  });
});

describe("session state", () => {
  const inbox = { take: async () => undefined, consumed: async () => {} };

  test("park() stops a waiting handler for good, even if it catches the stop; the session is left unfinished", async () => {
    const engine = new Engine({ store });
    const id = "ses_parked";
    let caught = 0;
    const done = engine.start(trigger, async () => {
      try {
        await sleep(60_000);
      } catch {
        caught++;
      }
      await sleep(1);
      return "went on";
    }, null, id);
    for (let i = 0; i < 400 && (await store.get(id))?.status !== "waiting"; i++) await after(5, null);
    expect((await engine.park(1000)).quiet).toBe(true);
    expect(await done).toEqual({ sessionId: id, status: "running", parked: true });
    expect(caught).toBe(1);
    expect((await store.get(id))?.status).toBe("waiting");
    expect((await store.read(id)).records.some((r) => r.t === "end")).toBe(false);
  });

  test("a failed journal write is fatal, async or sync, however the handler handles it", async () => {
    const failing = { append: () => Promise.reject(new Error("disk gone")), appendSync: () => { throw new Error("disk full"); } };
    const state = new SessionState("ses_x", 1, true, failing, [], inbox);
    await expect(state.append({ t: "timer", seq: 1, site: "<akts>:sleep", deadline: 1 })).rejects.toThrow("disk gone");
    expect((state.fatal?.error as Error).message).toBe("disk gone");
    await state.settled();
    expect(state.inflight.size).toBe(0);
    const other = new SessionState("ses_y", 1, true, failing, [], inbox);
    await expect(other.appendActivity({ t: "timer", seq: 1, site: "<akts>:sleep", deadline: 1 })).rejects.toThrow("disk gone");
    expect((other.fatal?.error as Error).message).toBe("disk gone");
    expect(() => other.nextSeq()).toThrow("disk gone");
    const sync = new SessionState("ses_z", 1, true, failing, [], inbox);
    expect(() => sync.appendSync({ t: "timer", seq: 1, site: "<akts>:sleep", deadline: 1 })).toThrow("disk full");
    expect((sync.fatal?.error as Error).message).toBe("disk full");
    for (const s of [state, other, sync]) s.close();
  });
});

describe("stub details", () => {
  test("tpl() passes a tagged template's strings object and values as they are", () => {
    const strings = Object.assign(["a", "b"], { raw: ["a", "b"] }) as unknown as TemplateStringsArray;
    const args = tpl(strings, 1);
    expect(args).toEqual([strings, 1]);
    expect(args[0]).toBe(strings);
  });

  test("what the journal drops from a result is reported once per site, as AKTS2003", async () => {
    const lossy = site("program.ts", 30, 3, "api.lossy", "external");
    const writes: string[] = [];
    const write = process.stderr.write;
    process.stderr.write = ((chunk: string) => (writes.push(String(chunk)), true)) as typeof process.stderr.write;
    try {
      await runLive(async () => [call(lossy, undefined, () => ({ id: 1, fn: () => 1 }), []), call(lossy, undefined, () => ({ id: 2, fn: () => 2 }), [])]);
    } finally {
      process.stderr.write = write;
    }
    expect(writes.filter((w) => w.includes("AKTS2003"))).toHaveLength(1);
    expect(writes.find((w) => w.includes("AKTS2003"))).toContain("api.lossy at program.ts:30:3: the journal keeps a data projection of the result; dropped $.fn");
  });

  test("an async activity with retries is called again after each failure, and its last failure is journaled", async () => {
    let tries = 0;
    const failing = activity(async () => {
      tries++;
      throw new RangeError(`try ${tries}`);
    }, { retries: 2 });
    const out = await new Engine({ store }).start(trigger, async () => failing(), null);
    expect(tries).toBe(3);
    expect(out).toMatchObject({ status: "failed", error: { name: "RangeError", message: "try 3" } });
    const acts = (await store.read(out.sessionId)).records.filter((r) => r.t === "activity");
    expect(acts).toMatchObject([{ ok: false, async: true }]);
  });

  test("a decorator's context names the activity", async () => {
    const named = activity(() => 5, { kind: "method", name: "renamed" } as unknown as Parameters<typeof activity>[1]);
    const live = await runLive(async () => named());
    expect((await store.read(live.sessionId)).records.filter((r) => r.t === "activity")).toMatchObject([{ callee: "renamed", value: 5 }]);
  });
});
