/**
 * What operating sessions leaves in the store is removed once it is of no use, on both stores: the cancellation
 * request of a finished session, a queue entry whose session was made (here one of a trigger since removed from
 * the manifest, which no drain reaches) and an Idempotency-Key past its retention; by `akts resume`, and by a
 * server as it starts. What is still wanted stays: a queued start, and the cancellation request made for it.
 */
import { describe, expect, test } from "vitest";
import { newSessionId, openFileStore, type Store } from "../runtime/store";
import { PgStore } from "../runtime/store/pg-store";
import { akts } from "./helpers";
import { admin, lines, operateProject, post, startServe, storeKinds, until, type Server } from "./operate-harness";

const { manifest, dir } = operateProject("sweep");
const stores = storeKinds();

async function finished(server: Server, id: string): Promise<string> {
  return until(`session ${id} to finish`, async () => {
    const status = (await admin(server, "GET", `/sessions/${id}`)).body?.status;
    return ["completed", "failed", "cancelled"].includes(status) ? status : undefined;
  }, 60_000, 100);
}

/** The leftovers and the wanted state, made through the store as a crashed runner would leave them. */
async function leave(store: Store, cancelledId: string, madeId: string, queuedId: string): Promise<void> {
  await store.requestCancel(cancelledId);
  await store.queue.push({ sessionId: madeId, project: "operate", trigger: "removed", event: null });
  await store.queue.push({ sessionId: queuedId, project: "operate", trigger: "removed", event: null });
  await store.requestCancel(queuedId);
}

async function state(store: Store, cancelledId: string, madeId: string, queuedId: string) {
  return {
    cancels: [...(await store.cancelRequests([cancelledId, queuedId]))].sort(),
    madeQueued: await store.queue.has(madeId),
    queued: await store.queue.has(queuedId),
  };
}

describe.each(stores.kinds)("%s store", (kind) => {
  test("akts resume and a starting server sweep requests of finished sessions, entries of made ones and expired keys", async () => {
    const spec = await stores.make(kind, dir);
    const log = `${dir}/${kind}.log`;
    let server = await startServe(manifest, spec);
    const waiting = (await post(server.url, "waits", { log, tag: "w" })).body.session_id as string;
    await until("the session to wait", () => (lines(log).includes("w waiting") ? true : undefined));
    expect((await admin(server, "POST", `/sessions/${waiting}/cancel`)).status).toBe(202);
    expect(await finished(server, waiting)).toBe("cancelled");
    const keyedAt = Date.now();
    const keyed = (await post(server.url, "keyed_brief", { log, tag: "k", steps: 1, ms: 1 }, { "idempotency-key": "brief" })).body.session_id as string;
    expect(await finished(server, keyed)).toBe("completed");
    await server.kill();

    const store = kind === "file" ? openFileStore(spec) : await PgStore.open(spec);
    try {
      const queuedId = newSessionId();
      // The cancellation of `waiting` is still recorded; `keyed` waits in the queue of a removed trigger though made.
      await leave(store, waiting, keyed, queuedId);
      expect(await state(store, waiting, keyed, queuedId)).toEqual({ cancels: [queuedId, waiting].sort(), madeQueued: true, queued: true });
      // The key's retention is 1 s.
      await until("the key to expire", () => (Date.now() > keyedAt + 1_000 ? true : undefined));
      const resumed = akts(["resume", "--manifest", manifest, "--store", spec]);
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain("removed 1 cancellation request(s) of finished sessions, 1 queue entr(ies) of sessions already made, 1 expired idempotency key(s)");
      expect(await state(store, waiting, keyed, queuedId)).toEqual({ cancels: [queuedId], madeQueued: false, queued: true });

      // The same leftovers again, and a server that starts sweeps them.
      await leave(store, waiting, keyed, queuedId);
      server = await startServe(manifest, spec);
      expect(await until("the server's sweep", async () => {
        const now = await state(store, waiting, keyed, queuedId);
        return now.cancels.length === 1 && !now.madeQueued ? now : undefined;
      })).toEqual({ cancels: [queuedId], madeQueued: false, queued: true });
      // A new request with the expired key starts a new session.
      const again = await post(server.url, "keyed_brief", { log, tag: "k2", steps: 1, ms: 1 }, { "idempotency-key": "brief" });
      expect(again.body.session_id).not.toBe(keyed);
      await server.kill();
    } finally {
      await store.close();
    }
  }, 120_000);
});
