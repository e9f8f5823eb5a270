/**
 * The stores' part of the session API (runtime/store/values.ts, deliveries with an id, inboxes over several names),
 * over the file store and PostgreSQL: each value operation, a mutation's token applied once however often it is
 * repeated, concurrent mutations through separate store instances losing nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileStore } from "../runtime/store/file-store";
import { PgStore } from "../runtime/store/pg-store";
import type { Store } from "../runtime/store";
import type { HeaderRecord } from "../runtime/journal";
import { startPgServer, type PgServer } from "./pg-server";
import { tempDir } from "./helpers";

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
});
