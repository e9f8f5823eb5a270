/**
 * fsync `batch` on the PostgreSQL store (docs/stores.md): journal appends commit without waiting for the server's
 * WAL flush; creation and a session's end wait for it, and each flush covers every commit before it. A crash of the
 * runner loses nothing the server acknowledged; a crash of the server (`pg_ctl restart -m immediate`) loses the
 * appends since the last flush, as a suffix, and a runner that goes on writing after it is told (AKTS4030) instead
 * of leaving a hole in the journal. The server's WAL writer is slowed to every 10 s, so nothing else flushes them.
 * The store is loaded from dist/ (run `npm run build` first): its journal writer thread runs compiled JavaScript.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as path from "node:path";
import type * as PgStoreModule from "../runtime/store/pg-store";
import type { JournalRecord } from "../runtime/journal";
import { startPgServer, type PgServer } from "./pg-server";
import { activity, header } from "./store-contract";

const DIST_PG = path.resolve(__dirname, "..", "dist", "runtime", "store", "pg-store.js");
const { PgStore } = require(DIST_PG) as typeof PgStoreModule;

let pg: PgServer;
let url: string;
beforeAll(async () => {
  pg = await startPgServer();
  await pg.sql("postgres", "ALTER SYSTEM SET wal_writer_delay = '10s'");
  await pg.sql("postgres", "SELECT pg_reload_conf()");
  url = await pg.createDatabase("batch");
}, 120_000);
afterAll(() => pg?.stop());

const attempt: JournalRecord & { t: "attempt" } = { t: "attempt", attempt: 1, at: 1 };
const end: JournalRecord = { t: "end", ok: true, result: "done", at: 3 };
const kinds = (records: readonly JournalRecord[]) => records.map((r) => (r.t === "activity" ? `activity ${r.seq}` : r.t));

test("a database crash keeps every finished session and a prefix of a running one; the runner is told, not misled", async () => {
  const store = await PgStore.open(url, { fsync: "batch" });
  const running = await store.create(header(), "r", attempt);
  const finished = await store.create(header(), "r", attempt);
  for (let seq = 1; seq <= 3; seq++) await finished.append(activity(seq));
  await finished.finish!(end, "completed", { attempts: 1 });
  // After the last flush (the finish): acknowledged by the server, not yet on its disk.
  for (let seq = 1; seq <= 3; seq++) await running.append(activity(seq));
  expect(kinds((await store.read(running.id)).records)).toEqual(["header", "attempt", "activity 1", "activity 2", "activity 3"]);

  pg.restart("immediate");

  expect(kinds((await store.read(finished.id)).records)).toEqual(["header", "attempt", "activity 1", "activity 2", "activity 3", "end"]);
  expect(await store.get(finished.id)).toMatchObject({ status: "completed", attempts: 1 });
  // The creation was flushed; of the appends after the last flush, at most a prefix (a WAL page the server wrote).
  const kept = kinds((await store.read(running.id)).records);
  expect(kept.slice(0, 2)).toEqual(["header", "attempt"]);
  expect(["header", "attempt", "activity 1", "activity 2"].slice(0, kept.length)).toEqual(kept);
  // The runner goes on after the outage: its next frame would leave a hole where the lost ones were.
  await expect(running.append(activity(4))).rejects.toMatchObject({ code: "AKTS4030" });
  await expect(running.finish!(end, "completed")).rejects.toMatchObject({ code: "AKTS4030" });
  expect(kinds((await store.read(running.id)).records)).toEqual(kept);
  // Another runner takes over from the journal the server kept.
  await running.release();
  const other = await PgStore.open(url, { fsync: "batch" });
  try {
    const lease = await other.claim(running.id, "r2");
    expect(lease?.fence).toBe(2);
    await lease!.append(activity(kept.length - 1));
    await lease!.finish!(end, "completed");
    expect(kinds((await other.read(running.id)).records)).toEqual([...kept, `activity ${kept.length - 1}`, "end"]);
  } finally {
    await other.close();
    await store.close();
  }
}, 120_000);

test("a SIGKILLed runner loses nothing the server acknowledged, whether or not it was flushed", async () => {
  const script = `(async () => {
    const store = await require(${JSON.stringify(DIST_PG)}).PgStore.open(${JSON.stringify(url)}, { fsync: "batch" });
    const h = ${JSON.stringify(header())};
    const lease = await store.create(h, "child", { t: "attempt", attempt: 1, at: 1 });
    for (let seq = 1; seq <= 3; seq++) await lease.append({ t: "activity", seq, site: "program.ts:" + seq + ":1", callee: "api.get", ok: true, value: seq, async: true, start: 1, end: 2 });
    process.stdout.write(h.sessionId + "\\n");
    setInterval(() => {}, 1000);
  })();`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const id = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      if (out.endsWith("\n")) resolve(out.trim());
    });
    child.on("exit", (code) => reject(new Error(`the runner exited (${code}) before appending`)));
  });
  child.kill("SIGKILL");
  await new Promise((resolve) => child.on("exit", resolve));
  const store = await PgStore.open(url);
  try {
    expect(kinds((await store.read(id)).records)).toEqual(["header", "attempt", "activity 1", "activity 2", "activity 3"]);
  } finally {
    await store.close();
  }
}, 60_000);

test("a creation with deferSync (a sync webhook's) does not wait for the WAL flush: a server crash takes it unless a commit that waited covers it", async () => {
  // fsync always: what deferSync changes is the creation alone; the session's next flushed commit covers it.
  // One connection: the creation's setting ends with its transaction, not carried to the next statement.
  const store = await PgStore.open(url, { poolSize: 1 });
  try {
    const covered = await store.create(header(), "r", attempt, { deferSync: true });
    await covered.durable!();
    const deferred = await store.create(header(), "r", attempt, { deferSync: true });
    expect(await store.get(deferred.id)).toMatchObject({ status: "running", attempts: 1 });
    expect((await store.query("SHOW synchronous_commit", [])).rows).toEqual([{ synchronous_commit: "on" }]);

    pg.restart("immediate");

    expect(kinds((await store.read(covered.id)).records)).toEqual(["header", "attempt"]);
    expect(await store.get(deferred.id)).toBeUndefined();
    // Its runner is told the session is gone rather than writing after nothing.
    await expect(deferred.append(activity(1))).rejects.toMatchObject({ code: "AKTS9004" });
  } finally {
    await store.close();
  }
}, 120_000);
