/**
 * What a session costs the PostgreSQL server (docs/stores.md, "What a session costs"): the statements it sends and
 * the transactions that write (each one commit, one WAL flush with `synchronous_commit` on), counted by the server
 * itself: `pg_stat_statements` for statements, the next transaction id for writing transactions. A 10-step durable
 * session is one statement to create it, one per step, one to finish it.
 * The store is loaded from dist/ (run `npm run build` first): its journal writer thread runs compiled JavaScript.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import * as path from "node:path";
import { activity } from "../runtime/api";
import { Engine, type TriggerRef } from "../runtime/engine";
import type * as PgStoreModule from "../runtime/store/pg-store";
import { newSessionId } from "../runtime/store/store";
import { startPgServer, type PgServer } from "./pg-server";

const { PgStore } = require(path.resolve(__dirname, "..", "dist", "runtime", "store", "pg-store.js")) as typeof PgStoreModule;

let pg: PgServer;
let url: string;
beforeAll(async () => {
  pg = await startPgServer();
  await pg.sql("postgres", "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
  pg.restart("fast");
  url = await pg.createDatabase("cost");
  await pg.sql("cost", "CREATE EXTENSION pg_stat_statements");
}, 120_000);
afterAll(() => pg?.stop());

const TRIGGER: TriggerRef = { project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", maxAttempts: 3, codeHash: "h" };
const step = activity(async (o: { n: number }) => ({ n: o.n + 1 }));

async function tenSteps(event: unknown): Promise<unknown> {
  let o = { n: (event as { n: number }).n };
  for (let k = 0; k < 10; k++) o = await step(o);
  return o;
}

/** The next transaction id: how many transactions that wrote have begun, read without starting one that writes. */
async function nextXid(): Promise<number> {
  const [row] = (await pg.sql("cost", "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS x /* probe */")) as Array<{ x: string }>;
  return Number(row.x);
}

/** The store's statements since the last reset, by text; the cancellation poll (every 200 ms, for all sessions) apart. */
async function statements(): Promise<Map<string, number>> {
  const rows = (await pg.sql(
    "cost",
    `SELECT query, calls::int FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'cost')
       AND query NOT LIKE '%probe%' AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE 'SELECT session_id FROM akts.cancels%'`,
  )) as Array<{ query: string; calls: number }>;
  return new Map(rows.map((r) => [r.query, r.calls]));
}

test("a 10-step durable session: 12 statements, 12 commits (create, one per step, finish)", async () => {
  const store = await PgStore.open(url);
  try {
    const engine = new Engine({ store });
    // Warm: the pool's connections and the writer thread exist before counting.
    expect((await engine.start(TRIGGER, tenSteps, { n: 0 })).status).toBe("completed");
    const sessions = 5;
    await pg.sql("cost", "SELECT pg_stat_statements_reset() /* probe */");
    const before = await nextXid();
    for (let i = 0; i < sessions; i++) {
      const out = await engine.start(TRIGGER, tenSteps, { n: i });
      expect(out).toMatchObject({ status: "completed", result: { n: i + 10 } });
    }
    const writes = (await nextXid()) - before;
    const byText = await statements();
    const total = [...byText.values()].reduce((a, b) => a + b, 0);
    const report = [...byText].map(([q, n]) => `${n / sessions} x ${q.replace(/\s+/g, " ").slice(0, 90)}`).join("\n");
    expect({ statements: total / sessions, writes: writes / sessions }, report).toEqual({ statements: 12, writes: 12 });
    // What a finished session looks like after its one finishing statement.
    const [row] = (await pg.sql("cost", "SELECT status, attempts, holder, expires_at FROM akts.sessions ORDER BY id DESC LIMIT 1 /* probe */")) as Array<Record<string, unknown>>;
    expect(row).toEqual({ status: "completed", attempts: 1, holder: null, expires_at: null });
  } finally {
    await store.close();
  }
}, 60_000);

test("a session's end is all or nothing: a stale lease's finish writes no end frame, no status, frees nothing", async () => {
  const store = await PgStore.open(url, { leaseTtlMs: 100 });
  const other = await PgStore.open(url);
  try {
    const lease = await store.create({ t: "header", v: 1, sessionId: newSessionId(), project: "p", trigger: "t", handler: "h", mode: "durable", codeHash: "h", event: {}, createdAt: 1 }, "r1", { t: "attempt", attempt: 1, at: 1 });
    await lease.release();
    const taken = await other.claim(lease.id, "r2");
    expect(taken?.fence).toBe(2);
    await expect(lease.finish!({ t: "end", ok: true, result: 1, at: 2 }, "completed")).rejects.toMatchObject({ code: "AKTS4003" });
    expect((await store.read(lease.id)).records.map((r) => r.t)).toEqual(["header", "attempt"]);
    expect(await store.get(lease.id)).toMatchObject({ status: "running" });
    const [row] = (await pg.sql("cost", "SELECT holder, fence FROM akts.sessions WHERE id = $1 /* probe */", [lease.id])) as Array<Record<string, unknown>>;
    expect(row).toEqual({ holder: "r2", fence: 2 });
  } finally {
    await other.close();
    await store.close();
  }
}, 60_000);
