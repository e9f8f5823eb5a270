/**
 * Fault injection, PostgreSQL store: runners sharing one database lose one to SIGKILL or SIGSTOP, or the database
 * restarts under them (`pg_ctl restart -m fast` and `-m immediate`). Live runners take orphans over with no
 * restart, a stopped runner's late writes are refused, and an outage fails no session.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { startPgServer, type PgServer } from "./pg-server";
import { tempDir } from "./helpers";
import { admin, adminToken, allEnded, allStarted, count, killOneRunner, load, report, start, takenOver, TTL_MS } from "./faults-harness";

let pg: PgServer;

beforeAll(async () => {
  pg = await startPgServer();
});

afterAll(() => pg?.stop());

test("SIGKILL of one of three akts serve on one database: the other two finish its sessions", async () => {
  await killOneRunner("SIGKILL 1 of 3 akts serve (PostgreSQL)", await pg.createDatabase("faults_kill"), tempDir("faults-pg-kill"), ["serve", "serve"]);
});

test("a runner SIGSTOPped past its lease loses its sessions to a live peer; its late writes are refused", async () => {
  const store = await pg.createDatabase("faults_stop");
  const dir = tempDir("faults-pg-stop");
  // Takeover by expiry takes up to 4/3 of the TTL by design (the lease expires up to a TTL after the stop, and
  // peers look every third of it); a longer TTL than the other scenarios leaves a loaded machine's own delays
  // room within the 1.5 × TTL allowed.
  const ttlMs = 3 * TTL_MS;
  const a = await start("serve", store, [], ttlMs);
  const b = await start("serve", store, [], ttlMs);
  const token = adminToken(store);
  const work = await load(a.url!, dir, 12, { steps: 4, ms: 150 });
  await allStarted(work);
  const stoppedAt = Date.now();
  a.child.kill("SIGSTOP");
  const takeoverS = await takenOver([...work.tags.keys()], b.url!, token, stoppedAt);
  await allEnded(work, b.url!, token);
  const finishS = (Date.now() - stoppedAt) / 1000;
  // Woken, the stopped runner finds its leases taken: every write it still tries is refused by the fence.
  a.child.kill("SIGCONT");
  await new Promise((r) => setTimeout(r, 1000));
  const counts = await count("SIGSTOP past the lease (PostgreSQL, TTL 9 s)", work, b.url!, token, { takeoverS, finishS });
  report(counts);
  expect(counts).toMatchObject({ accepted: 12, completed: 12, lost: 0, failed: 0, rerun: 0 });
  expect(takeoverS).toBeLessThanOrEqual((1.5 * ttlMs) / 1000);
  for (const id of work.tags.keys()) {
    const s = await admin(b.url!, token, `/sessions/${id}`);
    // One end record, and one journaled outcome per step: nothing of the stale runner landed.
    expect(s.journal.records.end).toBe(1);
    expect(s.journal.activities.ok).toBe(work.steps);
  }
});

for (const mode of ["fast", "immediate"] as const) {
  test(`pg_ctl restart -m ${mode} under running sessions fails none of them`, async () => {
    const store = await pg.createDatabase(`faults_restart_${mode}`);
    const dir = tempDir(`faults-pg-${mode}`);
    const a = await start("serve", store);
    const work = await load(a.url!, dir, 12, { steps: 6, ms: 200 });
    await allStarted(work);
    pg.restart(mode);
    const token = adminToken(store);
    await allEnded(work, a.url!, token, 60_000);
    const counts = await count(`pg_ctl restart -m ${mode}`, work, a.url!, token);
    report(counts);
    expect(counts).toMatchObject({ accepted: 12, completed: 12, lost: 0, failed: 0, rerun: 0 });
    expect(a.output()).not.toMatch(/\n\s+at /);
  });
}

test("an event name with NUL is a clear 400 on PostgreSQL, as on the file store", async () => {
  const store = await pg.createDatabase("faults_nul");
  const a = await start("serve", store);
  const token = adminToken(store);
  const res = await fetch(`${a.url}/webhooks/steps`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ log: `${tempDir("faults-nul")}/log`, tag: "n", steps: 0, ms: 1, pauseMs: 1 }) });
  const { session_id } = (await res.json()) as { session_id: string };
  const sent = await fetch(`${a.url}/sessions/${session_id}/events/a%00b`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{}" });
  expect(sent.status).toBe(400);
  expect(await sent.json()).toEqual({ error: { code: "AKTS7001", message: `the path /sessions/${session_id}/events/a%00b holds a control character` } });
  expect(a.output()).not.toMatch(/\n\s+at /);
});
