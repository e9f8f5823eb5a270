/**
 * `httpOutcome()` and `outcome()` over the real server (fixtures/serve's `answer`): a sync webhook's caller is
 * answered when the handler calls one, while the session runs on. Durable sessions journal the answer before
 * the caller gets it; each durable case SIGKILLs the server after the answer and before the session ends, and
 * the next server's replay must not answer again: one outcome record in the journal, one answer, and every
 * logged activity once. Both stores.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as path from "node:path";
import { lines, tempDir } from "./helpers";
import { admin, adminToken, start, until } from "./faults-harness";
import { startPgServer, type PgServer } from "./pg-server";

let pg: PgServer;

beforeAll(async () => {
  pg = await startPgServer();
});

afterAll(() => pg?.stop());

const stores: [string, (name: string) => Promise<string>][] = [
  ["file store", async (name) => path.join(tempDir(name), "store")],
  ["PostgreSQL store", (name) => pg.createDatabase(name)],
];

function post(url: string, trigger: string, body: object): Promise<Response> {
  return fetch(`${url}/webhooks/${trigger}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
}

async function deliver(url: string, token: string, id: string, name: string, value: unknown): Promise<void> {
  const res = await fetch(`${url}/sessions/${id}/events/${name}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(value) });
  expect(res.status).toBe(202);
}

function ended(url: string, token: string, id: string): Promise<any> {
  return until(`session ${id} to end`, async () => {
    const s = await admin(url, token, `/sessions/${id}`);
    return s.status === "completed" || s.status === "failed" ? s : undefined;
  });
}

describe.each(stores)("%s", (label, makeStore) => {
  test.each([
    ["httpOutcome", 201, "x-answered", "early"],
    ["outcome", 202, "content-type", "text/plain; charset=utf-8"],
  ] as const)("durable %s answers once: SIGKILLed after the answer, the replay does not answer again", async (via, status, header, value) => {
    const slug = `${label.split(" ")[0]}_${via}`.toLowerCase();
    const store = await makeStore(`outcome_${slug}`);
    const log = path.join(tempDir(`outcome-${slug}`), "log");
    const first = await start("serve", store);
    const token = adminToken(store);
    const res = await post(first.url!, "answer", { log, via, again: via });
    // Answered while the session still runs: it waits for "finish".
    expect(res.status).toBe(status);
    expect(res.headers.get(header)).toBe(value);
    const body = via === "httpOutcome" ? ((await res.json()) as { accepted: string }) : { accepted: undefined, text: await res.text() };
    const sessions = await admin(first.url!, token, "/sessions");
    const id: string = sessions.sessions[0].id ?? sessions.sessions[0].session_id;
    if (via === "httpOutcome") expect(body.accepted).toBe(id);
    else expect(body).toMatchObject({ text: "queued" });
    await until("the session to wait for finish", async () => ((await admin(first.url!, token, `/sessions/${id}`)).status === "waiting" ? true : undefined));
    // Journaled before the caller got it.
    expect((await admin(first.url!, token, `/sessions/${id}`)).journal.records.outcome).toBe(1);
    first.child.kill("SIGKILL");
    await first.exited;

    const second = await start("serve", store);
    await deliver(second.url!, token, id, "finish", { by: "ada" });
    const done = await ended(second.url!, token, id);
    expect(done.status).toBe("completed");
    expect(done.result).toEqual({ finishedBy: "ada" });
    // At least the killed attempt and the takeover (a loaded machine can let the short lease lapse once more).
    expect(done.attempts).toBeGreaterThanOrEqual(2);
    // The replay answered its outcome call from the journal: still one outcome record, and nothing logged twice.
    expect(done.journal.records.outcome).toBe(1);
    expect(lines(log)).toEqual(["before answer", "again: AKTS6011", "finished by ada"]);
    expect(second.output()).not.toMatch(/\n\s+at /);
  });

  test("non-durable: the caller is answered at once, the session runs on, a second answer is AKTS6011", async () => {
    const slug = `${label.split(" ")[0]}_nondurable`.toLowerCase();
    const store = await makeStore(`outcome_${slug}`);
    const log = path.join(tempDir(`outcome-${slug}`), "log");
    const s = await start("serve", store);
    const token = adminToken(store);
    const res = await post(s.url!, "answer_nondurable", { log, via: "httpOutcome", again: "httpOutcome" });
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toBe("application/json");
    const { accepted: id } = (await res.json()) as { accepted: string };
    await until("the session to wait for finish", async () => ((await admin(s.url!, token, `/sessions/${id}`)).status === "waiting" ? true : undefined));
    await deliver(s.url!, token, id, "finish", { by: "bo" });
    const done = await ended(s.url!, token, id);
    expect(done.result).toEqual({ finishedBy: "bo" });
    // Non-durable sessions journal attempts and their end only.
    expect(done.journal.records.outcome).toBeUndefined();
    expect(lines(log)).toEqual(["before answer", "again: AKTS6011", "finished by bo"]);
  });
});
