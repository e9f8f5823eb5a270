import { afterEach, beforeEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { call, nondet, site } from "../runtime/stub";
import { activity, nextEvent, session, sleep } from "../runtime/api";
import { Engine, type TriggerRef } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import { NondeterminismError } from "../runtime/errors";
import { SessionState } from "../runtime/session-state";
import { storage } from "../runtime/context";

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-engine-"));
  store = new FileStore(dir, "none");
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const trigger = (mode: "durable" | "nondurable" = "durable"): TriggerRef => ({
  project: "p",
  trigger: "t",
  handler: "program.ts:handler",
  mode,
  maxAttempts: 3,
  codeHash: "h",
});

const s1 = site("program.ts", 3, 5, "api.get", "external");
const s2 = site("program.ts", 4, 5, "api.post", "external");
const sNow = site("program.ts", 5, 5, "Date.now", "nondeterministic");

/** An external API whose every call is logged: what ran live. */
function fakeApi(log: string[]) {
  return {
    get: async (x: string) => (log.push(`get ${x}`), { got: x }),
    post: (x: string) => (log.push(`post ${x}`), `posted ${x}`),
  };
}

async function crashAfter<T>(p: Promise<T>): Promise<void> {
  await p.catch(() => {});
}

describe("durable sessions", () => {
  test("journal answers finished activities on resume; sync stays sync", async () => {
    const log: string[] = [];
    const api = fakeApi(log);
    const syncReplies: unknown[] = [];
    let crash = true;
    const handler = async (event: any) => {
      const a = (await call(s1, api, api.get, [event.x])) as { got: string };
      const b = call(s2, api, api.post, [a.got]);
      syncReplies.push(b);
      const t = nondet(sNow, () => Date.now());
      if (crash) throw Object.assign(new Error("simulated"), { simulatedCrash: true });
      return { a, b, t };
    };
    // The first attempt journals all three calls, then its runner dies: the lease is abandoned with no end record.
    const id = "ses_resume";
    const lease = await store.create(
      { t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", codeHash: "h", event: { x: "1" }, createdAt: 1 },
      "r0",
    );
    lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
    const state = new SessionState(id, 1, true, lease, [], store.inbox(id, new Set()));
    await crashAfter(storage.run({ session: state, inActivity: false }, () => handler({ x: "1" })));
    await lease.release();
    const recorded = (await store.read(id)).records.filter((r) => r.t === "activity");
    expect(recorded.map((r) => r.callee)).toEqual(["api.get", "api.post", "Date.now"]);
    expect(log).toEqual(["get 1", "post 1"]);
    // A clock that moved on: a replayed Date.now() that ran live would differ from the journaled one.
    await new Promise((r) => setTimeout(r, 5));

    crash = false;
    const out = await new Engine({ store, runner: "r1" }).resume(id, async () => ({ trigger: trigger(), handler }));
    expect(out?.status).toBe("completed");
    expect(out?.result).toEqual({ a: { got: "1" }, b: "posted 1", t: (recorded[2] as { value: unknown }).value });
    expect(log).toEqual(["get 1", "post 1"]);
    // The sync call returned its value, not a promise, live and replayed.
    expect(syncReplies).toEqual(["posted 1", "posted 1"]);
    expect((await store.read(id)).records.map((r) => r.t)).toEqual(["header", "attempt", "activity", "activity", "activity", "attempt", "end"]);
  });

  test("a crashed session replays: completed activities are not re-run", async () => {
    const log: string[] = [];
    const api = fakeApi(log);
    let crash = true;
    const handler = async () => {
      const a = await call(s1, api, api.get, ["a"]);
      if (crash) throw Object.assign(new Error("simulated"), { simulatedCrash: true });
      const b = call(s2, api, api.post, ["b"]);
      return { a, b };
    };
    // Simulate a crash: run the handler under a session whose lease we abandon without an end record.
    const engine = new Engine({ store, runner: "r1" });
    const id = "ses_crash";
    const lease = await store.create(
      { t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", codeHash: "h", event: null, createdAt: 1 },
      "r0",
    );
    lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
    const state = new SessionState(id, 1, true, lease, [], store.inbox(id, new Set()));
    await crashAfter(storage.run({ session: state, inActivity: false }, handler));
    await lease.release();
    expect(log).toEqual(["get a"]);
    crash = false;
    const out = await engine.resume(id, async () => ({ trigger: trigger(), handler }));
    expect(out?.status).toBe("completed");
    expect(out?.result).toEqual({ a: { got: "a" }, b: "posted b" });
    expect(log).toEqual(["get a", "post b"]);
  });

  test("divergence names both sites", async () => {
    const log: string[] = [];
    const api = fakeApi(log);
    const engine = new Engine({ store });
    const first = await engine.start(trigger(), async () => call(s1, api, api.get, ["a"]), null);
    // Rewind: make the session unfinished again by resuming with a different handler.
    const summary = await store.get(first.sessionId);
    expect(summary?.status).toBe("completed");
    const { records } = await store.read(first.sessionId);
    const state = new SessionState("x", 2, true, undefined, records, store.inbox(first.sessionId, new Set()));
    await expect(storage.run({ session: state, inActivity: false }, async () => call(s2, api, api.post, ["a"]))).rejects.toThrow(
      new NondeterminismError("entry #1: journal has api.get at program.ts:3:5, code called api.post at program.ts:4:5"),
    );
  });

  test("concurrent activities resolve on replay in recorded completion order", async () => {
    const slow = site("p.ts", 1, 1, "slow", "external");
    const fast = site("p.ts", 2, 1, "fast", "external");
    const order: string[] = [];
    const live = {
      slow: () => new Promise((r) => setTimeout(() => r("slow"), 30)),
      fast: () => new Promise((r) => setTimeout(() => r("fast"), 1)),
    };
    const handler = async () => {
      await Promise.all([
        (call(slow, live, live.slow, []) as Promise<string>).then((v) => order.push(v)),
        (call(fast, live, live.fast, []) as Promise<string>).then((v) => order.push(v)),
      ]);
      return order.slice();
    };
    const engine = new Engine({ store });
    const first = await engine.start(trigger(), handler, null);
    expect(first.result).toEqual(["fast", "slow"]);
    const { records } = await store.read(first.sessionId);
    order.length = 0;
    const never = { slow: () => new Promise(() => {}), fast: () => new Promise(() => {}) };
    const replay = new SessionState("x", 2, true, undefined, records, store.inbox(first.sessionId, new Set()));
    const again = await storage.run({ session: replay, inActivity: false }, async () => {
      await Promise.all([
        (call(slow, never, never.slow, []) as Promise<string>).then((v) => order.push(v)),
        (call(fast, never, never.fast, []) as Promise<string>).then((v) => order.push(v)),
      ]);
      return order.slice();
    });
    expect(again).toEqual(["fast", "slow"]);
  });

  test("marked activities journal as one unit; errors are rethrown with class and message", async () => {
    const log: string[] = [];
    const api = fakeApi(log);
    const group = activity(async (x: string) => {
      const a = await call(s1, api, api.get, [x]);
      return { a, key: session()?.idempotencyKey };
    });
    const failing = activity(() => {
      throw new RangeError("nope");
    });
    const engine = new Engine({ store });
    const out = await engine.start(
      trigger(),
      async () => {
        const g = await group("z");
        try {
          failing();
        } catch (e) {
          return { g, err: `${(e as Error).name}:${(e as Error).message}` };
        }
      },
      null,
    );
    expect(out.status).toBe("completed");
    expect(out.result).toEqual({ g: { a: { got: "z" }, key: `${out.sessionId}:1` }, err: "RangeError:nope" });
    const acts = (await store.read(out.sessionId)).records.filter((r) => r.t === "activity");
    expect(acts).toHaveLength(2);
  });

  test("sleep journals its deadline; nextEvent takes a delivered event and journals it", async () => {
    const engine = new Engine({ store });
    const id = "ses_events";
    const p = engine.start(
      trigger(),
      async () => {
        await sleep(5);
        const v = await nextEvent<{ ok: boolean }>("approval", { timeout: 5000 });
        return v;
      },
      null,
      id,
    );
    // Creating the session is asynchronous: an event can be delivered once the session is in the store.
    while (!(await store.get(id))) await new Promise((r) => setTimeout(r, 5));
    await store.deliver(id, "approval", { ok: true });
    const out = await p;
    expect(out.result).toEqual({ ok: true });
    const types = (await store.read(id)).records.map((r) => r.t);
    expect(types).toEqual(["header", "attempt", "timer", "timer", "event", "end"]);
  });

  test("nextEvent times out with AKTS6003", async () => {
    const engine = new Engine({ store });
    const out = await engine.start(trigger(), async () => nextEvent("never", { timeout: 20 }), null);
    expect(out.status).toBe("failed");
    expect(out.error?.code).toBe("AKTS6003");
  });
});

describe("non-durable sessions", () => {
  test("stubs pass through and nothing but attempts and the end is journaled", async () => {
    const log: string[] = [];
    const api = fakeApi(log);
    const engine = new Engine({ store });
    const out = await engine.start(trigger("nondurable"), async () => call(s1, api, api.get, ["n"]), null);
    expect(out.result).toEqual({ got: "n" });
    expect((await store.read(out.sessionId)).records.map((r) => r.t)).toEqual(["header", "attempt", "end"]);
  });
});

test("outside a session the stub calls straight through", () => {
  const o = { v: 2, m(x: number) { return this.v * x; } };
  expect(call(site("a.ts", 1, 1, "o.m", "external"), o, o.m, [21])).toBe(42);
});

describe("activity options and failures", () => {
  test("activity(fn, { retries }) retries a failing call and journals only the final outcome", async () => {
    let tries = 0;
    const flaky = activity(
      async () => {
        tries++;
        if (tries < 3) throw new Error(`try ${tries} failed`);
        return "third time";
      },
      { retries: 2 },
    );
    const engine = new Engine({ store });
    const out = await engine.start(trigger(), async () => flaky(), null);
    expect(out.result).toBe("third time");
    expect(tries).toBe(3);
    const acts = (await store.read(out.sessionId)).records.filter((r) => r.t === "activity");
    expect(acts).toHaveLength(1);
    expect(acts[0]).toMatchObject({ ok: true, value: "third time" });
  });

  test("a user exception ends the session as failed, and resume leaves it alone", async () => {
    const engine = new Engine({ store });
    const out = await engine.start(trigger(), async () => {
      throw new TypeError("bad order");
    }, null);
    expect(out).toMatchObject({ status: "failed", error: { name: "TypeError", message: "bad order" } });
    expect(await store.unfinished()).toEqual([]);
    expect(await engine.resume(out.sessionId, async () => { throw new Error("must not rerun"); })).toBeUndefined();
  });

  test("an unserializable result fails the session naming the site and path; nothing partial is journaled", async () => {
    const engine = new Engine({ store });
    const weird = site("program.ts", 9, 3, "api.weird", "external");
    const out = await engine.start(trigger(), async () => call(weird, undefined, async () => ({ handle: Symbol("fd") }), []), null);
    expect(out.status).toBe("failed");
    expect(out.error).toMatchObject({ code: "AKTS2002", message: "api.weird at program.ts:9:3: result is not serializable: a symbol at $.handle" });
    expect((await store.read(out.sessionId)).records.filter((r) => r.t === "activity")).toEqual([]);
  });
});
