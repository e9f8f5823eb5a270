/**
 * The crash window of start(), signal() and the value mutations: the store has the effect, the journal does not
 * have its record yet. A runner whose journal write never lands (as if it died right there) is abandoned, another
 * resumes the session, and the call runs again with the same token: the store recognises it, so the value is added
 * once, the child created once, the signal delivered once. Over the file store and PostgreSQL (loaded from dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as path from "node:path";
import { Engine, type TriggerRef } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import type * as PgStoreModule from "../runtime/store/pg-store";
import type { SessionLease, Store } from "../runtime/store";
import type { JournalRecord } from "../runtime/journal";
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
    const dir = tempDir("sdk-replay");
    return async () => new FileStore(dir, "always");
  },
  pg: async () => {
    const url = await pg.createDatabase(`replay${++databases}`);
    return () => PgStore.open(url);
  },
};

const TRIGGER: TriggerRef = { project: "p", trigger: "t", handler: "program.ts:h", mode: "durable", maxAttempts: 3, codeHash: "x" };

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
        if (key !== "append") {
          const value = Reflect.get(target, key, target) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        }
        return (r: JournalRecord) => {
          if (r.t !== "activity" || r.callee !== callee) return target.append(r);
          stuck();
          return new Promise(() => {});
        };
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

describe.each(Object.keys(KINDS))("%s store", (kind) => {
  let open: () => Promise<Store>;
  beforeAll(async () => {
    open = await KINDS[kind]();
  });

  it("a mutation repeated after the crash is applied once", async () => {
    const { result } = await crashAfter(open, "addValues", async () => ({ n: await addValues("k", 1), now: await getValue("k") }));
    expect(result).toEqual({ n: 1, now: 1 });
    const store = await open();
    expect(await store.listValues("p")).toEqual([{ key: "k", value: 1 }]);
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
