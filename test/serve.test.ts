/**
 * `akts serve` over real HTTP: the built CLI runs as a child process on a free port with its own store, and the
 * tests talk to it with fetch, kill it, and start it again.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, copyFixture, lines, ROOT, tempDir } from "./helpers";
import { keepAcrossTests, serve, type Served } from "./serve-process";

const MANIFEST = path.join(ROOT, "fixtures/serve/autokitteh.yaml");
const SCHEDULE = path.join(ROOT, "fixtures/serve/schedule.yaml");

/** A response's JSON body, typed loosely: the tests check its shape. */
function json(res: Response): Promise<any> {
  return res.json();
}

async function post(s: Served, route: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${s.url}${route}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
}

function admin(s: Served, route: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${s.url}${route}`, { ...init, headers: { authorization: `Bearer ${s.token}`, ...(init.headers as Record<string, string>) } });
}

/** Polls `probe` until it returns something other than undefined (or gives up after `ms`). */
async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function session(s: Served, id: string): Promise<any> {
  const res = await admin(s, `/sessions/${id}`);
  expect(res.status).toBe(200);
  return json(res);
}

function sessionWith(s: Served, id: string, status: string): Promise<any> {
  return until(`session ${id} ${status}`, async () => {
    const got = await session(s, id);
    return got.status === status ? got : undefined;
  });
}

/** The store's sessions and journals, read with the CLI while no server runs. */
function storeSessions(store: string): any[] {
  const r = akts(["sessions", "--store", store, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function journal(store: string, id: string): any[] {
  const r = akts(["journal", id, "--store", store, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

/**
 * One server for the tests of requests and their answers that need no store of their own (a server start costs a
 * process, the compiled project's load and a store): started first, which also compiles the fixture once, so the
 * tests below measure serving, not the first compile. Stopped last with SIGTERM, which must exit 0.
 */
let shared: Served;
beforeAll(async () => {
  shared = await serve(MANIFEST, path.join(tempDir("serve-shared"), "store"));
  keepAcrossTests(shared.child);
  expect((await post(shared, "/webhooks/echo", {})).status).toBe(200);
});
afterAll(async () => {
  shared.child.kill("SIGTERM");
  expect((await shared.exited).code).toBe(0);
});

describe("webhooks", () => {
  test("an async webhook answers 202 at once and its session completes", async () => {
    const s = await serve(MANIFEST, path.join(tempDir("serve-async"), "store"));
    const res = await post(s, "/webhooks/received", { note: "hello" });
    expect(res.status).toBe(202);
    expect(res.headers.get("content-type")).toBe("application/json");
    const { session_id } = await json(res);
    expect(session_id).toMatch(/^ses_/);
    const done = await sessionWith(s, session_id, "completed");
    expect(done).toMatchObject({ session_id, trigger: "received", attempts: 1, result: { got: "hello" } });
    expect(done.journal).toMatchObject({ records: { header: 1, attempt: 1, end: 1 }, activities: { ok: 0, failed: 0 }, last_seq: 0 });
    expect(done.journal.end_offset).toBeGreaterThan(0);
    const listed = await json(await admin(s, "/sessions?status=completed"));
    expect(listed.sessions.map((x: any) => x.session_id)).toContain(session_id);
    expect((await json(await admin(s, "/sessions?status=failed"))).sessions).toEqual([]);
  });

  test("a sync webhook answers with the handler's value; the request is the event", async () => {
    const s = shared;
    const res = await post(s, "/webhooks/echo?a=1&a=2&b=x", { n: 1 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await json(res)).toMatchObject({
      data: { method: "POST", raw_url: "/webhooks/echo?a=1&a=2&b=x", url: { path: "/webhooks/echo", query: { a: "1, 2", b: "x" }, path_suffix: "" }, body: { json: { n: 1 }, text: '{"n":1}' } },
      event_type: "post",
    });
    const get = await fetch(`${s.url}/webhooks/echo?q=1`);
    expect(get.status).toBe(200);
    expect(await json(get)).toMatchObject({ data: { method: "GET", url: { query: { q: "1" } }, body: {} }, event_type: "get" });
  });

  test("a handler's { status, headers, body } shapes the response", async () => {
    const s = shared;
    const res = await post(s, "/webhooks/shaped", { name: "ada" });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-created")).toBe("ada");
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await json(res)).toEqual({ created: "ada" });
  });

  test("a failed sync session answers 500 with its id and the error's code and message", async () => {
    const s = shared;
    const res = await post(s, "/webhooks/fails", {});
    expect(res.status).toBe(500);
    const body = await json(res);
    expect(body.error).toEqual({ code: "AKTS6001", message: "the handler gave up" });
    expect((await session(s, body.session_id)).status).toBe("failed");
  });

  test("a sync webhook past its timeout answers 504 and the session still completes", async () => {
    const s = shared;
    const started = Date.now();
    const res = await post(s, "/webhooks/slow", { ms: 5000 });
    // The trigger's timeout is 1 s: the answer comes well before the handler's 5 s are over.
    expect(Date.now() - started).toBeLessThan(5000);
    expect(res.status).toBe(504);
    const body = await json(res);
    expect(body.error.code).toBe("AKTS7007");
    expect(body.session_id).toMatch(/^ses_/);
    expect((await session(s, body.session_id)).status).not.toBe("completed");
    const done = await sessionWith(s, body.session_id, "completed");
    expect(done.result).toBe("slow done");
  });
});

describe("bad requests", () => {
  test("413, 400, 404 and 405 are answered as JSON errors and the server keeps serving", async () => {
    const s = shared;
    const big = await fetch(`${s.url}/webhooks/echo`, { method: "POST", headers: { "content-type": "text/plain" }, body: "x".repeat(1024 * 1024 + 1) });
    expect(big.status).toBe(413);
    expect((await json(big)).error.code).toBe("AKTS7002");

    const malformed = '{"a": ';
    let parseError = "";
    try {
      JSON.parse(malformed);
    } catch (err) {
      parseError = (err as Error).message;
    }
    const bad = await fetch(`${s.url}/webhooks/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: malformed });
    expect(bad.status).toBe(400);
    expect(bad.headers.get("content-type")).toBe("application/json");
    const badBody = await json(bad);
    expect(badBody.error.code).toBe("AKTS7001");
    expect(badBody.error.message).toContain(parseError);

    const unknownTrigger = await post(s, "/webhooks/nope", {});
    expect(unknownTrigger.status).toBe(404);
    expect((await json(unknownTrigger)).error.code).toBe("AKTS7003");
    expect((await fetch(`${s.url}/elsewhere`)).status).toBe(404);
    expect((await admin(s, "/sessions/ses_unknown")).status).toBe(404);

    const put = await fetch(`${s.url}/webhooks/echo`, { method: "PUT", body: "{}" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, POST");
    expect((await json(put)).error.code).toBe("AKTS7004");
    expect((await admin(s, "/sessions", { method: "DELETE" })).status).toBe(405);

    const after = await post(s, "/webhooks/echo", { still: "here" });
    expect(after.status).toBe(200);
    expect((await json(after)).data.body.json).toEqual({ still: "here" });
    expect(s.output().stderr).not.toMatch(/\n\s+at /);
  });

  test("a body with __proto__ and constructor keys pollutes no prototype", async () => {
    const s = shared;
    const text = '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}';
    const res = await fetch(`${s.url}/webhooks/pollution`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
    expect(res.status).toBe(200);
    // The keys are kept as data; `({}).polluted` stays undefined in the server process.
    expect(await json(res)).toEqual({ polluted: null, bodyKeys: ["__proto__", "constructor"] });
    const form = await fetch(`${s.url}/webhooks/pollution`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "__proto__[polluted]=yes&__proto__=x&constructor=y",
    });
    expect(await json(form)).toEqual({ polluted: null, bodyKeys: ["__proto__[polluted]", "__proto__", "constructor"] });
  });
});

describe("admin routes", () => {
  test("need the admin token, kept in a 0600 file in the store", async () => {
    const store = path.join(tempDir("serve-token"), "store");
    const s = await serve(MANIFEST, store);
    const file = path.join(store, "admin-token");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(s.token.length).toBeGreaterThanOrEqual(32);
    expect(s.output().stdout).toContain(`admin token in ${file}`);
    expect(s.output().stdout).not.toContain(s.token);

    const none = await fetch(`${s.url}/sessions`);
    expect(none.status).toBe(401);
    expect((await json(none)).error.code).toBe("AKTS7005");
    expect((await fetch(`${s.url}/sessions`, { headers: { authorization: `Bearer ${s.token}x` } })).status).toBe(401);
    expect((await fetch(`${s.url}/sessions`, { headers: { authorization: s.token } })).status).toBe(401);
    expect((await fetch(`${s.url}/sessions/x/events/y`, { method: "POST", body: "{}" })).status).toBe(401);
    const ok = await admin(s, "/sessions");
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ sessions: [], next: null });

    // The same store keeps its token across restarts.
    s.child.kill("SIGTERM");
    expect((await s.exited).code).toBe(0);
    const again = await serve(MANIFEST, store);
    expect(again.token).toBe(s.token);
    expect((await admin(again, "/sessions")).status).toBe(200);
  });

  test("an event delivered over HTTP completes a session waiting in nextEvent", async () => {
    const dir = tempDir("serve-event");
    const log = path.join(dir, "log");
    const s = await serve(MANIFEST, path.join(dir, "store"));
    const { session_id } = await json(await post(s, "/webhooks/approval", { log }));
    await sessionWith(s, session_id, "waiting");
    expect((await admin(s, "/sessions/ses_0000000000AAAAAAAAAAAAAAAA/events/approval", { method: "POST", body: "{}" })).status).toBe(404);
    const delivered = await admin(s, `/sessions/${session_id}/events/approval`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ by: "ada" }) });
    expect(delivered.status).toBe(202);
    expect((await json(delivered)).event_id).toMatch(/^evt_/);
    const done = await sessionWith(s, session_id, "completed");
    expect(done.result).toEqual({ approvedBy: "ada" });
    expect(done.journal.records.event).toBe(1);
    expect(lines(log)).toEqual(["asked", "approved by ada"]);
    const late = await admin(s, `/sessions/${session_id}/events/approval`, { method: "POST", body: "{}" });
    expect(late.status).toBe(409);
    expect((await json(late)).error.code).toBe("AKTS7006");
  });
});

test("a schedule trigger fires every second until shutdown", async () => {
  const store = path.join(tempDir("serve-schedule"), "store");
  const s = await serve(SCHEDULE, store);
  const ticks = await until("two completed schedule sessions", async () => {
    const { sessions } = await json(await admin(s, "/sessions?status=completed"));
    return sessions.length >= 2 ? sessions : undefined;
  });
  const results = await Promise.all(ticks.map(async (t: any) => (await session(s, t.session_id)).result));
  for (const r of results) {
    expect(r).toMatchObject({ data: { trigger: "tick" }, event_type: "tick", event_id: expect.stringMatching(/^evt_/), session_id: expect.stringMatching(/^ses_/) });
    expect(new Date(r.data.scheduled_at).getMilliseconds()).toBe(0);
  }
  expect(new Set(results.map((r: any) => r.data.scheduled_at)).size).toBe(results.length);
  s.child.kill("SIGTERM");
  expect((await s.exited).code).toBe(0);
});

/** A sync non-durable handler that logs each run, then waits for the file `gate`: its caller waits all along. */
const HELD_TRIGGER = "    - name: held\n      type: webhook\n      is_sync: true\n      is_durable: false\n      call: program.ts:held\n";
const HELD = `
import { existsSync } from "node:fs";

export async function held(event: WebhookEvent<{ log: string; gate: string }>) {
  const { log, gate } = event.data.body.json!;
  appendFileSync(log, \`run \${event.session_id}\\n\`);
  while (!existsSync(gate)) await sleep(20);
  return "released";
}
`;

describe("crashes and shutdown", () => {
  test("a sync non-durable session SIGKILLed before its answer (its creation written, its sync deferred) is rerun by the next start", async () => {
    const dir = tempDir("serve-sync-kill");
    const project = copyFixture("serve", dir);
    const manifest = path.join(project, "autokitteh.yaml");
    fs.appendFileSync(manifest, HELD_TRIGGER);
    fs.appendFileSync(path.join(project, "program.ts"), HELD);
    const [store, log, gate] = ["store", "log", "gate"].map((f) => path.join(dir, f));
    const s = await serve(manifest, store);
    const answered = post(s, "/webhooks/held", { log, gate }).then(
      (res) => res.status,
      () => "no answer",
    );
    await until("the first run", () => (lines(log).length === 1 ? true : undefined));
    s.child.kill("SIGKILL");
    await s.exited;
    expect(await answered).toBe("no answer");
    const [listed, ...others] = storeSessions(store);
    expect(others).toEqual([]);
    expect(listed.trigger).toBe("held");
    expect(["running", "waiting"]).toContain(listed.status);
    expect(lines(log)).toEqual([`run ${listed.session_id}`]);

    fs.writeFileSync(gate, "");
    const again = await serve(manifest, store);
    const done = await sessionWith(again, listed.session_id, "completed");
    expect(done).toMatchObject({ attempts: 2, result: "released" });
    expect(lines(log)).toEqual([`run ${listed.session_id}`, `run ${listed.session_id}`]);
    again.child.kill("SIGTERM");
    expect((await again.exited).code).toBe(0);
  });

  // Under batch a step's append is told once written, not synced: the page cache keeps it through the SIGKILL.
  test.each(["always", "batch"])("fsync %s: SIGKILLed mid-session, the next start finishes every session without re-running a journaled activity", async (fsync) => {
    const dir = tempDir(`serve-kill-${fsync}`);
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const env = { AKTS_FSYNC: fsync };
    const s = await serve(MANIFEST, store, [], env);
    const tags = ["a", "b"];
    const ids: string[] = [];
    for (const tag of tags) ids.push((await json(await post(s, "/webhooks/steps", { log, tag, steps: 3, ms: 200, pauseMs: 300 }))).session_id);
    // Killed once each session has finished at least one activity and none has finished all of them.
    await until("an activity of each session done", () => (tags.every((t) => lines(log).includes(`${t} done 1`)) ? true : undefined));
    s.child.kill("SIGKILL");
    await s.exited;
    const before = lines(log);
    const journaled = new Map(ids.map((id) => [id, journal(store, id).filter((r) => r.t === "activity").length]));
    // Every activity done before the kill is journaled, but for one whose append was not written yet.
    for (const [i, tag] of tags.entries()) expect(journaled.get(ids[i])!).toBeGreaterThanOrEqual(before.filter((l) => l.startsWith(`${tag} done `)).length - 1);
    expect(storeSessions(store).every((x) => x.status === "running" || x.status === "waiting")).toBe(true);

    const again = await serve(MANIFEST, store, [], env);
    const done = await Promise.all(ids.map((id) => sessionWith(again, id, "completed")));
    for (const [i, tag] of tags.entries()) {
      expect(done[i].result).toEqual({ tag, values: [10, 20, 30] });
      expect(done[i].attempts).toBe(2);
      const mine = lines(log).filter((l) => l.startsWith(`${tag} `));
      expect(lines(log).slice(0, before.length)).toEqual(before);
      // Each journaled activity ran once; only the one in flight at the kill may have started twice.
      for (let n = 1; n <= journaled.get(ids[i])!; n++) {
        expect(mine.filter((l) => l === `${tag} start ${n}`)).toHaveLength(1);
        expect(mine.filter((l) => l === `${tag} done ${n}`)).toHaveLength(1);
      }
      for (let n = 1; n <= 3; n++) expect(mine.filter((l) => l === `${tag} done ${n}`).length).toBeGreaterThanOrEqual(1);
      const rerun = [1, 2, 3].filter((n) => mine.filter((l) => l === `${tag} start ${n}`).length > 1);
      expect(rerun.length).toBeLessThanOrEqual(1);
    }
  });

  test("SIGTERM lets the activity in flight finish and be journaled, exits 0, and the next start finishes the sessions", async () => {
    const dir = tempDir("serve-term");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    const s = await serve(MANIFEST, store);
    const steps = (await json(await post(s, "/webhooks/steps", { log, tag: "t", steps: 2, ms: 3000, pauseMs: 10 }))).session_id;
    const waiting = (await json(await post(s, "/webhooks/approval", { log }))).session_id;
    await sessionWith(s, waiting, "waiting");
    await until("the first step under way", () => (lines(log).includes("t start 1") ? true : undefined));
    s.child.kill("SIGTERM");
    const exit = await s.exited;
    expect(exit, s.output().stderr).toEqual({ code: 0, signal: null });
    expect(s.output().stderr).not.toMatch(/\n\s+at /);

    // Every activity that started also finished, and is in the journal; neither session ended.
    const logged = lines(log).filter((l) => l.startsWith("t "));
    const started = logged.filter((l) => l.includes(" start "));
    const finished = logged.filter((l) => l.includes(" done "));
    expect(finished.length).toBeGreaterThanOrEqual(1);
    expect(finished.length).toBe(started.length);
    const records = journal(store, steps);
    expect(records.filter((r) => r.t === "activity" && r.ok)).toHaveLength(finished.length);
    expect(records.some((r) => r.t === "end")).toBe(false);
    const statuses = Object.fromEntries(storeSessions(store).map((x) => [x.session_id, x.status]));
    expect(["running", "waiting"]).toContain(statuses[steps]);
    expect(statuses[waiting]).toBe("waiting");

    const again = await serve(MANIFEST, store);
    const delivered = await admin(again, `/sessions/${waiting}/events/approval`, { method: "POST", body: JSON.stringify({ by: "grace" }) });
    expect(delivered.status).toBe(202);
    expect((await sessionWith(again, waiting, "completed")).result).toEqual({ approvedBy: "grace" });
    expect((await sessionWith(again, steps, "completed")).result).toEqual({ tag: "t", values: [10, 20] });
    const all = lines(log);
    expect(all.filter((l) => l === "t start 1")).toHaveLength(1);
    expect(all.filter((l) => l === "t done 2")).toHaveLength(1);
    expect(all.filter((l) => l === "asked")).toHaveLength(1);
  });
});

describe("options", () => {
  test("--print-token prints the admin token; without it only the file is named", async () => {
    const store = path.join(tempDir("serve-print"), "store");
    const quiet = await serve(MANIFEST, store);
    expect(quiet.output().stdout).not.toContain(quiet.token);
    quiet.child.kill("SIGTERM");
    await quiet.exited;
    const s = await serve(MANIFEST, store, ["--print-token"]);
    expect(s.output().stdout).toContain(`akts serve: admin token ${s.token}\n`);
    expect((await admin(s, "/sessions")).status).toBe(200);
  });

  test("--host binds that address only", async () => {
    const s = await serve(MANIFEST, path.join(tempDir("serve-host"), "store"), ["--host", "127.0.0.2"]);
    const url = new URL(s.url);
    expect(url.hostname).toBe("127.0.0.2");
    expect((await post(s, "/webhooks/echo", { at: "127.0.0.2" })).status).toBe(200);
    await expect(fetch(`http://127.0.0.1:${url.port}/webhooks/echo`, { method: "POST", body: "{}" })).rejects.toThrow();
  });

  test("--max-body sets the largest body accepted", async () => {
    const s = await serve(MANIFEST, path.join(tempDir("serve-max-body"), "store"), ["--max-body", "64"]);
    const body = (n: number) => JSON.stringify({ pad: "x".repeat(n - '{"pad":""}'.length) });
    const fits = await fetch(`${s.url}/webhooks/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: body(64) });
    expect(fits.status).toBe(200);
    const over = await fetch(`${s.url}/webhooks/echo`, { method: "POST", headers: { "content-type": "application/json" }, body: body(65) });
    expect(over.status).toBe(413);
    expect((await json(over)).error.code).toBe("AKTS7002");
  });

  test("--grace bounds how long SIGTERM waits for an activity in flight", async () => {
    const dir = tempDir("serve-grace");
    const log = path.join(dir, "log");
    const s = await serve(MANIFEST, path.join(dir, "store"), ["--grace", "1"]);
    await post(s, "/webhooks/steps", { log, tag: "g", steps: 1, ms: 8000, pauseMs: 10 });
    await until("the step under way", () => (lines(log).includes("g start 1") ? true : undefined));
    const stopped = Date.now();
    s.child.kill("SIGTERM");
    expect(await s.exited).toEqual({ code: 0, signal: null });
    // The 8 s activity was not waited for: the default grace (30 s) would have let it finish.
    expect(Date.now() - stopped).toBeLessThan(6000);
    expect(s.output().stderr).toContain("draining (at most 1 s)");
    expect(s.output().stderr).toContain("grace period over");
    expect(lines(log)).not.toContain("g done 1");
  });
});
