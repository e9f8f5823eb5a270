/**
 * Cancellation through the real CLI and server, in both modes and both stores: `akts cancel` from another process
 * while `akts serve` runs the session (woken from a sleep or a nextEvent), and a cancel of a session whose server
 * was SIGKILLed mid-way, finished by the next server. The session stops at a boundary with CancelledError, its
 * `finally` runs once, and it ends `cancelled`; a durable session's finished steps are not run again.
 */
import { describe, expect, test } from "vitest";
import { akts } from "./helpers";
import { admin, ended, journalOf, lines, operateProject, post, sessionsOf, startServe, storeKinds, until } from "./operate-harness";

const { manifest, dir } = operateProject("cancel");
const stores = storeKinds();

describe.each(stores.kinds)("%s store", (kind) => {
  test.each([
    ["durable", "steps"],
    ["non-durable", "steps_nd"],
  ])("%s: cancelled from the CLI while its server runs it, and after its server was SIGKILLed", async (mode, trigger) => {
    const store = await stores.make(kind, dir);
    let server = await startServe(manifest, store);
    // Live: a sleeping session and a waiting one, cancelled by another process.
    const sleeping = `${dir}/${kind}-${trigger}-live.log`;
    const waiting = `${dir}/${kind}-${trigger}-wait.log`;
    const a = (await post(server.url, trigger, { log: sleeping, steps: 50, ms: 300 })).body.session_id;
    const b = (await post(server.url, trigger.replace("steps", "waits"), { log: waiting })).body.session_id;
    await until("both to run", () => (lines(sleeping).length >= 2 && lines(waiting).length >= 1 ? true : undefined));
    for (const id of [a, b]) {
      const r = akts(["cancel", id, "--store", store]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ session_id: id, cancel: "requested" });
    }
    expect((await ended(store, a)).status).toBe("cancelled");
    expect((await ended(store, b)).status).toBe("cancelled");
    const live = lines(sleeping);
    expect(live.filter((l) => l === "s cancelled")).toHaveLength(1);
    expect(live.filter((l) => l === "s cleanup")).toHaveLength(1);
    expect(live.filter((l) => l.startsWith("s step")).length).toBeLessThan(50);
    expect(lines(waiting)).toEqual(["w waiting", "w cleanup"]);

    // SIGKILL mid-way, cancel while no server runs it, then the next server finishes it as cancelled.
    const log = `${dir}/${kind}-${trigger}-killed.log`;
    const c = (await post(server.url, trigger, { log, steps: 50, ms: 200 })).body.session_id;
    await until("three steps", () => (lines(log).length >= 3 ? true : undefined));
    await server.kill();
    const before = lines(log);
    expect(akts(["cancel", c, "--store", store]).code).toBe(0);
    server = await startServe(manifest, store);
    const summary = await ended(store, c);
    expect(summary).toMatchObject({ status: "cancelled", errorCode: "AKTS6030" });
    const after = lines(log).slice(before.length);
    // Durable: replayed, so no finished step runs again; non-durable: rerun from the start and cancelled at its first
    // step. Either way nothing but the handler's reaction runs.
    expect(after).toEqual(["s cancelled", "s cleanup"]);
    if (mode === "durable") {
      const journal = journalOf(store, c);
      expect(journal.filter((r: any) => r.t === "cancel")).toHaveLength(1);
      expect(journal.at(-1)).toMatchObject({ t: "end", ok: false, cancelled: true });
    }

    // A finished session: nothing to cancel, over HTTP (409) and from the CLI.
    const res = await admin(server, "POST", `/sessions/${c}/cancel`);
    expect(res.status).toBe(409);
    expect(res.body.error.code).toBe("AKTS6034");
    const again = akts(["cancel", c, "--store", store]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("AKTS6034");
    expect((await admin(server, "POST", "/sessions/ses_nosuchsession/cancel")).status).toBe(404);
    expect(sessionsOf(store).filter((s) => s.status === "cancelled")).toHaveLength(3);
    await server.kill();
  }, 180_000);
});

test("the admin route cancels a session and lists it by its status", async () => {
  const store = await stores.make("file", dir);
  const server = await startServe(manifest, store);
  const log = `${dir}/http.log`;
  const id = (await post(server.url, "waits", { log })).body.session_id;
  await until("the wait", () => (lines(log).length >= 1 ? true : undefined));
  await until("the session to wait", async () => ((await admin(server, "GET", `/sessions/${id}`)).body.status === "waiting" ? true : undefined));
  const res = await admin(server, "POST", `/sessions/${id}/cancel`);
  expect(res.status).toBe(202);
  expect(res.body).toMatchObject({ session_id: id, status: "waiting", cancel: "requested" });
  await ended(store, id);
  const page = (await admin(server, "GET", "/sessions?status=cancelled")).body;
  expect(page.sessions.map((s: any) => s.id ?? s.session_id)).toEqual([id]);
  expect(akts(["sessions", "--store", store, "--status", "cancelled", "--json"]).stdout).toContain(id);
  await server.kill();
}, 60_000);
