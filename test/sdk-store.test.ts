/**
 * The stores' part of the session API (runtime/store/values.ts, deliveries with an id, inboxes over several names),
 * over the file store and PostgreSQL (loaded from dist/): each value operation, a mutation's token applied once
 * however often it is repeated, concurrent mutations through separate store instances losing nothing.
 *
 * And the crash window of start(), signal() and the value mutations: the store has the effect, the journal does
 * not have its record yet. A runner whose journal write never lands (as if it died right there) is abandoned,
 * another resumes the session, and the call runs again with the same token: the store recognises it, so the value
 * is added once, the child created once, the signal delivered once.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { Engine, type TriggerRef } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import type * as PgStoreModule from "../runtime/store/pg-store";
import type { SessionLease, Store } from "../runtime/store";
import type { HeaderRecord, JournalRecord } from "../runtime/journal";
import type { Waiter } from "../runtime/session-state";
import { addValues, getValue, signal, start } from "../runtime";
import { startPgServer, type PgServer } from "./pg-server";
import { tempDir } from "./helpers";

// From dist/ (run `npm run build` first): the PostgreSQL store's journal writer thread runs compiled JavaScript.
const { PgStore } = require(path.resolve(__dirname, "..", "dist", "runtime", "store", "pg-store.js")) as typeof PgStoreModule;

let pg: PgServer;
let databases = 0;
beforeAll(async () => {
  pg = await startPgServer();
});
afterAll(() => pg?.stop());

const KINDS: Record<string, () => Promise<() => Promise<Store>>> = {
  file: async () => {
    const dir = tempDir("values");
    return async () => new FileStore(dir, "always");
  },
  pg: async () => {
    const url = await pg.createDatabase(`values${++databases}`);
    return () => PgStore.open(url);
  },
};

const TRIGGER: TriggerRef = { project: "crashed", trigger: "t", handler: "program.ts:h", mode: "durable", maxAttempts: 3, codeHash: "x" };

/**
 * A store whose leases never finish writing the record of the akts call `callee`: the runner is stuck right after
 * its effect. `reached` resolves when it is.
 */
function stuckAfter(store: Store, callee: string): { store: Store; reached: Promise<void> } {
  let stuck!: () => void;
  const reached = new Promise<void>((resolve) => (stuck = resolve));
  const stick = (lease: SessionLease): SessionLease =>
    new Proxy(lease, {
      get(target, key) {
        // Both ways a record reaches the journal: the call is stuck (its outcome never stored) at the chosen callee.
        if (key === "append")
          return (r: JournalRecord) => {
            if (r.t !== "activity" || r.callee !== callee) return target.append(r);
            stuck();
            return new Promise(() => {});
          };
        if (key === "appendThen" && target.appendThen)
          return (r: JournalRecord, waiter: Waiter) => {
            if (r.t !== "activity" || r.callee !== callee) return target.appendThen!(r, waiter);
            stuck();
          };
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  return {
    reached,
    store: new Proxy(store, {
      get(target, key) {
        if (key === "create") return async (...args: Parameters<Store["create"]>) => stick(await target.create(...args));
        const value = Reflect.get(target, key, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      },
    }),
  };
}

/** Runs `handler` until the record of `callee` is being written, abandons that runner, and resumes with a new one. */
async function crashAfter(open: () => Promise<Store>, callee: string, handler: () => Promise<unknown>): Promise<{ sessionId: string; result: unknown }> {
  const first = await open();
  const { store, reached } = stuckAfter(first, callee);
  const created = await new Engine({ store }).create(TRIGGER, {});
  void created.run(handler);
  await reached;
  // Closing frees the abandoned runner's lease, as a dead holder's is freed.
  await first.close();
  const second = await open();
  try {
    const outcome = await new Engine({ store: second }).resume(created.sessionId, async () => ({ trigger: TRIGGER, handler }));
    expect(outcome).toMatchObject({ status: "completed" });
    return { sessionId: created.sessionId, result: outcome!.result };
  } finally {
    await second.close();
  }
}

function header(sessionId: string): HeaderRecord {
  return { t: "header", v: 1, sessionId, project: "p", trigger: "t", handler: "program.ts:h", mode: "durable", codeHash: "x", event: {}, createdAt: Date.now() };
}

describe.each(Object.keys(KINDS))("%s store", (kind) => {
  let open: () => Promise<Store>;
  let store: Store;
  beforeAll(async () => {
    open = await KINDS[kind]();
    store = await open();
  });
  afterAll(() => store?.close());

  it("applies each operation as AutoKitteh's store does", async () => {
    expect(await store.mutateValue("p", "a", { op: "get" })).toBeUndefined();
    expect(await store.mutateValue("p", "a", { op: "set", value: { n: [1, 2] } })).toBeUndefined();
    expect(await store.mutateValue("p", "a", { op: "get" })).toEqual({ n: [1, 2] });
    expect(await store.mutateValue("p", "a", { op: "check_and_set", expected: { n: [1, 2] }, value: "b" })).toBe(true);
    expect(await store.mutateValue("p", "a", { op: "check_and_set", expected: { n: [1, 2] }, value: "c" })).toBe(false);
    expect(await store.mutateValue("p", "a", { op: "get" })).toBe("b");
    // Absent equals null: check_and_set creates a value that is not there yet.
    expect(await store.mutateValue("p", "new", { op: "check_and_set", expected: null, value: 1 })).toBe(true);
    expect(await store.mutateValue("p", "n", { op: "add", amount: 2.5 })).toBe(2.5);
    expect(await store.mutateValue("p", "n", { op: "add", amount: -1 })).toBe(1.5);
    await expect(store.mutateValue("p", "a", { op: "add", amount: 1 })).rejects.toMatchObject({ code: "AKTS6023" });
    await expect(store.mutateValue("p", "big", { op: "set", value: "x".repeat(70_000) })).rejects.toMatchObject({ code: "AKTS6024" });
    // A null value deletes, as None does.
    await store.mutateValue("p", "new", { op: "set", value: null });
    await store.mutateValue("other", "a", { op: "set", value: 1 });
    expect(await store.listValues("p")).toEqual([
      { key: "a", value: "b" },
      { key: "n", value: 1.5 },
    ]);
    await store.mutateValue("p", "n", { op: "del" });
    expect((await store.listValues("p")).map((v) => v.key)).toEqual(["a"]);
    expect(await store.listValues("other")).toEqual([{ key: "a", value: 1 }]);
  });

  it("applies a mutation's token once: a repeat returns the first result and changes nothing", async () => {
    expect(await store.mutateValue("p", "t", { op: "add", amount: 1 }, "ses_x:1")).toBe(1);
    expect(await store.mutateValue("p", "t", { op: "add", amount: 1 }, "ses_y:1")).toBe(2);
    expect(await store.mutateValue("p", "t", { op: "add", amount: 1 }, "ses_x:1")).toBe(1);
    expect(await store.mutateValue("p", "t", { op: "check_and_set", expected: 2, value: 10 }, "ses_x:2")).toBe(true);
    expect(await store.mutateValue("p", "t", { op: "check_and_set", expected: 2, value: 10 }, "ses_x:2")).toBe(true);
    expect(await store.mutateValue("p", "t", { op: "set", value: 7 }, "ses_x:3")).toBeUndefined();
    expect(await store.mutateValue("p", "t", { op: "set", value: 8 }, "ses_x:3")).toBeUndefined();
    expect(await store.mutateValue("p", "t", { op: "get" })).toBe(7);
  });

  it("loses no addition made at once through separate store instances", async () => {
    const others = await Promise.all([open(), open(), open()]);
    try {
      await Promise.all(
        [store, ...others].flatMap((s, i) => Array.from({ length: 15 }, (_, j) => s.mutateValue("p", "many", { op: "add", amount: 1 }, `ses_${i}:${j}`))),
      );
      expect(await store.mutateValue("p", "many", { op: "get" })).toBe(60);
    } finally {
      await Promise.all(others.map((s) => s.close()));
    }
  });

  it("delivers an event with a given id once, and an inbox takes the first of several names", async () => {
    const lease = await store.create(header(`ses_deliver${kind}`), "runner");
    const id = lease.id;
    await store.deliver(id, "b", 1, "evt_s_sender_0000000001");
    await store.deliver(id, "b", 1, "evt_s_sender_0000000001");
    await store.deliver(id, "c", 2, "evt_s_sender_0000000002");
    const inbox = store.inbox(id, new Set());
    const first = await inbox.take(["a", "b"], Date.now() + 1000);
    expect(first).toMatchObject({ id: "evt_s_sender_0000000001", name: "b", value: 1 });
    await inbox.consumed(first!.id);
    expect(await inbox.take(["a", "b"], Date.now() + 100)).toBeUndefined();
    // One this run consumed, delivered again by a sender repeating itself after a crash, is not taken again.
    const consumed = new Set(["evt_s_sender_0000000002"]);
    await store.deliver(id, "b", 1, "evt_s_sender_0000000002");
    expect(await store.inbox(id, consumed).take(["b", "c"], Date.now() + 100)).toBeUndefined();
    await expect(store.deliver("ses_nobody", "b", 1, "evt_s_x_1")).rejects.toMatchObject({ code: "AKTS9004" });
    await lease.release();
  });

  it("a mutation repeated after the crash is applied once", async () => {
    const { result } = await crashAfter(open, "addValues", async () => ({ n: await addValues("k", 1), now: await getValue("k") }));
    expect(result).toEqual({ n: 1, now: 1 });
    const store = await open();
    expect(await store.listValues("crashed")).toEqual([{ key: "k", value: 1 }]);
    await store.close();
  });

  it("a start repeated after the crash creates the child once", async () => {
    const { sessionId, result } = await crashAfter(open, "start", () => start("program.ts:child", { n: 1 }));
    const store = await open();
    const children = (await store.list()).filter((s) => s.parent === sessionId);
    expect(children.map((c) => c.id)).toEqual([result]);
    expect(children[0]).toMatchObject({ handler: "program.ts:child", mode: "durable", status: "running" });
    await store.close();
  });

  it("a signal repeated after the crash is delivered once", async () => {
    const store = await open();
    const target = await new Engine({ store }).create(TRIGGER, {});
    await target.leave();
    await crashAfter(open, "signal", () => signal(target.sessionId, "go", { n: 1 }));
    const inbox = store.inbox(target.sessionId, new Set());
    const got = await inbox.take("akts.signal:go", Date.now() + 500);
    expect(got).toMatchObject({ name: "akts.signal:go", value: { n: 1 } });
    await inbox.consumed(got!.id);
    expect(await inbox.take("akts.signal:go", Date.now() + 300)).toBeUndefined();
    await store.close();
  });
});
