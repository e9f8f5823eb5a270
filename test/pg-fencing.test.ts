/**
 * The PostgreSQL store's leases and fencing, through the Store interface, with the store loaded from the sources
 * (so that mutation testing reaches it) against a private server (pg-server.ts): who may claim a session, what a
 * stale lease may still do, and what the heartbeat extends. Appends go through the writer thread, which runs
 * compiled code: their fencing is tested in pg-store.test.ts, on dist/.
 */
import { afterAll, beforeAll, beforeEach, expect, inject, test } from "vitest";
import { spawnSync } from "node:child_process";
import * as os from "node:os";
import { Client } from "pg";
import { PgStore } from "../runtime/store/pg-store";
import { OWN_START } from "../runtime/store/holder";
import type { SessionLease } from "../runtime/store";
import { startPgServer, type PgServer } from "./pg-server";
import { activity, header } from "./store-contract";

let pg: PgServer | undefined;
let url: string;
const stores: PgStore[] = [];
beforeAll(async () => {
  // A mutation run starts one server for all its runs of this file (pg-global-setup.ts).
  const shared = inject("pgUrl");
  if (shared) url = shared;
  else {
    pg = await startPgServer();
    url = await pg.createDatabase("fencing");
  }
});
beforeEach(async () => {
  while (stores.length > 0) await stores.pop()!.close();
});
afterAll(async () => {
  while (stores.length > 0) await stores.pop()!.close();
  pg?.stop();
});

async function open(leaseTtlMs = 60_000): Promise<PgStore> {
  const store = await PgStore.open(url, { leaseTtlMs, eventPollMs: 600_000 });
  stores.push(store);
  return store;
}

async function sql(text: string, params: unknown[] = []): Promise<unknown[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows;
  } finally {
    await client.end();
  }
}
const expire = (id: string) => sql("UPDATE akts.sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [id]);
const row = async (id: string) => (await sql("SELECT status, fence, holder, holder_pid, expires_at > now() AS live FROM akts.sessions WHERE id = $1", [id]))[0] as { status: string; fence: number; holder: string | null; holder_pid: number | null; live: boolean | null };
const stale = (id: string, fence: number, current: number) => ({ code: "AKTS4003", message: `session ${id}: lease fence ${fence} is stale (current ${current}); nothing was written` });
/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ["-e", ""]).pid;

test("a created session is held at fence 1 by its runner; nobody else claims it while the holder lives and its lease runs", async () => {
  const a = await open();
  const b = await open();
  const lease = await a.create(header(), "runner-a");
  expect(lease.fence).toBe(1);
  expect(await a.holder(lease.id)).toEqual({ runner: "runner-a", host: os.hostname(), pid: process.pid });
  expect(await b.claim(lease.id, "runner-b")).toBeUndefined();
  expect(await row(lease.id)).toMatchObject({ fence: 1, holder: "runner-a", live: true });
});

test("a released lease is claimed at the next fence; the holder is the claimer", async () => {
  const a = await open();
  const b = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.release();
  expect(await a.holder(lease.id)).toBeUndefined();
  expect(await row(lease.id)).toMatchObject({ fence: 1, holder: null, holder_pid: null, live: null });
  const taken = (await b.claim(lease.id, "runner-b"))!;
  expect(taken.fence).toBe(2);
  expect(await b.holder(lease.id)).toEqual({ runner: "runner-b", host: os.hostname(), pid: process.pid });
  // With the pid, the process's start time: a pid reused by another process is not taken for the holder.
  expect(await sql("SELECT holder_start FROM akts.sessions WHERE id = $1", [lease.id])).toEqual([{ holder_start: OWN_START }]);
  expect(await row(lease.id)).toMatchObject({ status: "running", fence: 2, live: true });
  // Released again and claimed again: each claim is one more fence.
  await taken.release();
  expect((await a.claim(lease.id, "runner-a"))!.fence).toBe(3);
});

test("an expired lease is taken over; the stale lease can no longer write its status, nor free the new holder's lease", async () => {
  const a = await open();
  const b = await open();
  const old = await a.create(header(), "runner-a");
  await expire(old.id);
  const fresh = (await b.claim(old.id, "runner-b"))!;
  expect(fresh.fence).toBe(2);
  await expect(old.setStatus("failed", { error: "stale" })).rejects.toMatchObject(stale(old.id, 1, 2));
  expect((await b.get(old.id))!.status).toBe("running");
  await old.release();
  expect(await row(old.id)).toMatchObject({ fence: 2, holder: "runner-b", live: true });
  await fresh.setStatus("completed", { attempts: 1, result: { ok: 1 } });
  expect(await b.get(old.id)).toMatchObject({ status: "completed", attempts: 1, result: { ok: 1 } });
});

test("a finished session is never claimed, even with its lease free or expired", async () => {
  const a = await open();
  for (const status of ["completed", "failed", "cancelled"] as const) {
    const lease = await a.create(header(), "runner-a");
    await lease.setStatus(status);
    await lease.release();
    expect(await a.claim(lease.id, "runner-b")).toBeUndefined();
    await expire(lease.id);
    expect(await a.claim(lease.id, "runner-b")).toBeUndefined();
    expect((await row(lease.id)).fence).toBe(1);
  }
  // A waiting session is unfinished: it is claimed.
  const waiting = await a.create(header(), "runner-a");
  await waiting.setStatus("waiting");
  await waiting.release();
  expect((await a.claim(waiting.id, "runner-b"))!.fence).toBe(2);
});

test("a live lease held by a process on this machine that has exited is taken over at once, by its fence", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.release();
  // Held, unexpired, by a process of this machine that is gone.
  await sql("UPDATE akts.sessions SET fence = 5, holder = 'gone', holder_host = $2, holder_pid = $3, holder_start = NULL, expires_at = now() + interval '1 hour' WHERE id = $1", [lease.id, os.hostname(), deadPid()]);
  const taken = (await a.claim(lease.id, "runner-b"))!;
  expect(taken.fence).toBe(6);
  expect(await row(lease.id)).toMatchObject({ holder: "runner-b", holder_pid: process.pid });
});

test("a dead holder's fence taken by another runner between a claim's look at it and its take: that claim gets nothing", async () => {
  const a = await open();
  const b = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.release();
  await sql("UPDATE akts.sessions SET fence = 5, holder = 'gone', holder_host = $2, holder_pid = $3, holder_start = NULL, expires_at = now() + interval '1 hour' WHERE id = $1", [lease.id, os.hostname(), deadPid()]);
  // Runner b claims the session right after a's claim has read the dead holder's fence, before a's take of it.
  const query = a.query.bind(a);
  let other: SessionLease | undefined;
  a.query = (async (text: string, params: unknown[], landed?: () => Promise<boolean>) => {
    const result = await query(text, params, landed);
    if (text.startsWith("SELECT status, fence")) other = await b.claim(lease.id, "runner-b");
    return result;
  }) as typeof a.query;
  expect(await a.claim(lease.id, "runner-c")).toBeUndefined();
  expect(other?.fence).toBe(6);
  expect(await row(lease.id)).toMatchObject({ fence: 6, holder: "runner-b" });
});

test("a status write that changes only the attempts is written", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.setStatus("running", { attempts: 2 });
  expect(await sql("SELECT status, attempts FROM akts.sessions WHERE id = $1", [lease.id])).toEqual([{ status: "running", attempts: 2 }]);
  await lease.release();
});

test("finish journals the end, sets the final status and frees the lease in one; a stale lease's finish writes nothing", async () => {
  const a = await open();
  const b = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.finish!({ t: "end", ok: true, result: 1, at: 2 }, "completed", { result: 1 });
  expect(await row(lease.id)).toMatchObject({ status: "completed", holder: null });
  expect((await a.read(lease.id)).records.map((r) => r.t)).toEqual(["header", "end"]);
  await expect(lease.setStatus("running")).rejects.toMatchObject({ code: "AKTS4003" });
  const other = await a.create(header(), "runner-a");
  await expire(other.id);
  const taken = (await b.claim(other.id, "runner-b"))!;
  await expect(other.finish!({ t: "end", ok: true, at: 3 }, "completed")).rejects.toMatchObject(stale(other.id, 1, 2));
  expect(await row(other.id)).toMatchObject({ status: "running", fence: 2, holder: "runner-b" });
  expect((await a.read(other.id)).records.map((r) => r.t)).toEqual(["header"]);
  await taken.release();
});

test("a live lease held on another machine, by a process of this one that runs, or by nobody known, is not taken", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.release();
  const hold = (host: string, pid: number | null) =>
    sql("UPDATE akts.sessions SET holder = 'other', holder_host = $2, holder_pid = $3, holder_start = NULL, expires_at = now() + interval '1 hour' WHERE id = $1", [lease.id, host, pid]);
  for (const [host, pid] of [[`not-${os.hostname()}`, deadPid()], [os.hostname(), process.pid], [os.hostname(), null]] as const) {
    await hold(host, pid);
    expect(await a.claim(lease.id, "runner-b")).toBeUndefined();
    expect(await row(lease.id)).toMatchObject({ fence: 1, holder: "other" });
  }
  // The same lease held by a process of this machine that has exited is taken.
  await hold(os.hostname(), deadPid());
  expect((await a.claim(lease.id, "runner-b"))!.fence).toBe(2);
});

test("a finished session held by a dead process of this machine is not taken", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.setStatus("completed");
  await sql("UPDATE akts.sessions SET holder_pid = $2, holder_start = NULL WHERE id = $1", [lease.id, deadPid()]);
  expect(await a.claim(lease.id, "runner-b")).toBeUndefined();
  expect((await row(lease.id)).fence).toBe(1);
});

test("a claim, a holder or a status write for a session that is not there names it and the store", async () => {
  const a = await open();
  await expect(a.claim("ses_missing", "r")).rejects.toMatchObject({ code: "AKTS9004", message: `no session ses_missing in ${a.location}` });
  expect(await a.holder("ses_missing")).toBeUndefined();
  const lease = await a.create(header(), "runner-a");
  await sql("DELETE FROM akts.sessions WHERE id = $1", [lease.id]);
  await expect(lease.setStatus("completed")).rejects.toMatchObject({ code: "AKTS9004", message: `no session ${lease.id} in ${a.location}` });
});

test("a released lease refuses to write, and releasing again changes nothing", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  await lease.release();
  const released = { code: "AKTS4003", message: `session ${lease.id}: the lease was released; nothing was written` };
  await expect(lease.append(activity(1))).rejects.toMatchObject(released);
  expect(() => lease.appendSync(activity(1))).toThrow(expect.objectContaining(released));
  await expect(lease.setStatus("completed")).rejects.toMatchObject(released);
  const taken = (await a.claim(lease.id, "runner-b"))!;
  await lease.release();
  expect(await row(lease.id)).toMatchObject({ fence: 2, holder: "runner-b", live: true });
  await taken.release();
});

test("status writes land in the order asked for, keeping what a later write leaves out", async () => {
  const a = await open();
  const lease = await a.create(header(), "runner-a");
  const writes = [
    lease.setStatus("running", { attempts: 2, error: "first\0try", errorCode: "AKTS6001" }),
    lease.setStatus("waiting"),
    lease.setStatus("failed", { result: [1, 2] }),
  ];
  await Promise.all(writes);
  expect(await a.get(lease.id)).toMatchObject({ status: "failed", attempts: 2, error: "first\uFFFDtry", errorCode: "AKTS6001", result: [1, 2] });
});

test("the heartbeat keeps a held lease from expiring, and extends only leases still at their fence", async () => {
  const a = await open(300);
  const b = await open();
  const held = await a.create(header(), "runner-a");
  const other = await a.create(header(), "runner-a");
  // Taken over by b after it expired; then b's own lease is made to lapse: a's heartbeat must not renew it. a's
  // heartbeat (every 100 ms) may renew the lease between its expiry and b's claim, which then finds it held: expired
  // again until b has it.
  let taken;
  for (let tries = 0; !taken && tries < 20; tries++) {
    await expire(other.id);
    taken = await b.claim(other.id, "runner-b");
  }
  expect(taken?.fence).toBe(2);
  await expire(other.id);
  const until = Date.now() + 1_000;
  while (Date.now() < until) {
    expect((await row(held.id)).live).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
  }
  expect((await row(other.id)).live).toBe(false);
  // Released: no longer renewed.
  await held.release();
  expect((await row(held.id)).live).toBeNull();
});

test("leases of a store outlive one another's release: the heartbeat goes on while one is held", async () => {
  const a = await open(300);
  const first = await a.create(header(), "runner-a");
  const second = await a.create(header(), "runner-a");
  await first.release();
  const until = Date.now() + 700;
  while (Date.now() < until) {
    expect((await row(second.id)).live).toBe(true);
    await new Promise((r) => setTimeout(r, 50));
  }
  await second.release();
  const third: SessionLease = await a.create(header(), "runner-a");
  await new Promise((r) => setTimeout(r, 600));
  expect((await row(third.id)).live).toBe(true);
});
