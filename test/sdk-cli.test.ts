/**
 * start(), signals and stored values through the real CLI (fixtures/sdk), durable and non-durable, over the file
 * store and PostgreSQL. Each durable case is SIGKILLed midway and resumed, and then counted: no child started
 * twice, no signal sent twice, no value mutated twice. N processes adding to one key lose no addition.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, killWhen, lines, ROOT, tempDir } from "./helpers";
import { killAll, startCli } from "./cli-process";
import { lastJson } from "./crash-steps";
import { startPgServer, type PgServer } from "./pg-server";
import { serve } from "./serve-process";

const MANIFEST = path.join(ROOT, "fixtures/sdk/autokitteh.yaml");
const NONDURABLE = path.join(ROOT, "fixtures/sdk/nondurable.yaml");

let pg: PgServer;
let databases = 0;
beforeAll(async () => {
  pg = await startPgServer();
  // Compile once (both manifests share the project), so the runs below measure themselves, not the first compile.
  const dir = tempDir("sdk-warm");
  expect(akts(["run", MANIFEST, "--trigger", "bump", "--event", eventFile(dir, {}), "--store", path.join(dir, "store")]).code).toBe(0);
});
afterAll(() => pg?.stop());
afterEach(() => killAll());

const STORES: Record<string, (name: string) => Promise<string>> = {
  file: async (name) => path.join(tempDir(name), "store"),
  pg: (name) => pg.createDatabase(`${name}${++databases}`),
};

/** The event of the fixture's handlers: `log` in `dir`, and `fields`. */
function eventFile(dir: string, fields: Record<string, unknown>): string {
  const file = path.join(dir, `event-${fs.readdirSync(dir).length}.json`);
  fs.writeFileSync(file, JSON.stringify({ log: path.join(dir, "log"), ...fields }));
  return file;
}

function json(args: string[]): any {
  const r = akts(args);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

function count(list: readonly string[], line: string): number {
  return list.filter((l) => l === line).length;
}

/** `akts resume`'s lines by session id. */
function resumeAll(manifest: string, store: string): Map<string, any> {
  const r = akts(["resume", "--manifest", manifest, "--store", store]);
  expect(r.code, r.stdout + r.stderr).toBe(0);
  return new Map(r.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((l) => [l.session_id, l]));
}

describe.each(Object.keys(STORES))("%s store", (kind) => {
  it("stored values: a durable session SIGKILLed between its additions mutates each value once", async () => {
    const dir = tempDir("sdk-values");
    const store = await STORES[kind]("values");
    const log = path.join(dir, "log");
    const run = ["run", MANIFEST, "--trigger", "values", "--event", eventFile(dir, { pauseMs: 300 }), "--store", store];
    expect((await killWhen(run, () => lines(log).length >= 2)).killed).toBe(true);
    const [outcome] = resumeAll(MANIFEST, store).values();
    expect(outcome).toMatchObject({ action: "resumed", status: "completed" });
    expect(outcome.result).toEqual({ n: 3, swapped: true, kept: false, added: 5, name: "second", keys: ["count", "count.m", "count.name"] });
    expect(json(["values", "--manifest", MANIFEST, "--store", store, "--json"])).toEqual([
      { key: "count", value: 3 },
      { key: "count.m", value: 5 },
      { key: "count.name", value: "second" },
    ]);
    // The journaled log lines ran once; only the one in flight at the kill may have run twice.
    const written = lines(log);
    expect(count(written, "added 1")).toBe(1);
    expect(count(written, "added 3")).toBe(1);
    expect(count(written, "done")).toBe(1);
  });

  it("stored values: a non-durable session, and another project's values apart", async () => {
    const dir = tempDir("sdk-values-nd");
    const store = await STORES[kind]("valuesnd");
    const r = akts(["run", NONDURABLE, "--trigger", "values", "--event", eventFile(dir, {}), "--store", store]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJson(r.stdout).result).toEqual({ n: 3, swapped: true, kept: false, added: 5, name: "second", keys: ["count", "count.m", "count.name"] });
    expect(json(["values", "--manifest", NONDURABLE, "--store", store, "--json"])).toHaveLength(3);
    expect(json(["values", "--manifest", MANIFEST, "--store", store, "--json"])).toEqual([]);
    const table = akts(["values", "--store", store, "--project", "sdk_nondurable"]).stdout.split("\n");
    expect(table[0]).toMatch(/^KEY\s+VALUE$/);
    expect(table).toContainEqual(expect.stringMatching(/^count\.name\s+"second"$/));
  });

  it("stored values: 4 processes adding to one key at once lose no addition", async () => {
    const dir = tempDir("sdk-bump");
    const store = await STORES[kind]("bump");
    const runs = Array.from({ length: 4 }, () => startCli(["run", MANIFEST, "--trigger", "bump", "--event", eventFile(dir, { key: "hits", times: 10 }), "--store", store]));
    for (const run of runs) expect((await run.exited).code, run.stderr()).toBe(0);
    const finals = runs.map((run) => lastJson(run.stdout()).result as number);
    expect(Math.max(...finals)).toBe(40);
    expect(json(["values", "--manifest", MANIFEST, "--store", store, "--json"])).toEqual([{ key: "hits", value: 40 }]);
  });

  it("signals: a durable waiter and sender, each SIGKILLed midway, exchange each signal once", async () => {
    const dir = tempDir("sdk-signals");
    const store = await STORES[kind]("signals");
    const log = path.join(dir, "log");
    const waiterRun = ["run", MANIFEST, "--trigger", "waiter", "--event", eventFile(dir, { pauseMs: 1500 }), "--store", store];
    expect((await killWhen(waiterRun, () => lines(log).includes("waiting"))).killed).toBe(true);
    const [waiter] = json(["sessions", "--store", store, "--json"]);
    const senderRun = ["run", MANIFEST, "--trigger", "sender", "--event", eventFile(dir, { target: waiter.session_id, pauseMs: 400 }), "--store", store];
    expect((await killWhen(senderRun, () => lines(log).includes("sent go"))).killed).toBe(true);

    const resumed = resumeAll(MANIFEST, store);
    expect(resumed.get(waiter.session_id)).toMatchObject({
      status: "completed",
      // A signal sent twice would be the third one the waiter waits for.
      result: { got: [{ name: "go", payload: { n: 1 } }, { name: "stop", payload: { n: 2 } }], extra: null },
    });
    const sender = [...resumed.values()].find((l) => l.session_id !== waiter.session_id);
    expect(sender).toMatchObject({ status: "completed", result: "sent" });
    const received = json(["journal", waiter.session_id, "--store", store, "--json"]).filter((r: any) => r.t === "event" && !r.timedOut);
    expect(received.map((r: any) => r.value.name)).toEqual(["go", "stop"]);
    expect(count(lines(log), "sent stop")).toBe(1);
    expect(count(lines(log), "got go")).toBe(1);
  });

  it("signals: non-durable sessions wake each other across processes; a finished or unknown receiver is an error", async () => {
    const dir = tempDir("sdk-signals-nd");
    const store = await STORES[kind]("signalsnd");
    const log = path.join(dir, "log");
    const waiterRun = startCli(["run", NONDURABLE, "--trigger", "waiter", "--event", eventFile(dir, { pauseMs: 200 }), "--store", store]);
    const [, id] = await waiterRun.waitFor("stderr", /session (ses_\w+) waits for signal 'go' or 'stop'/);
    const sent = akts(["run", NONDURABLE, "--trigger", "sender", "--event", eventFile(dir, { target: id }), "--store", store]);
    expect(sent.code, sent.stderr).toBe(0);
    expect((await waiterRun.exited).code).toBe(0);
    expect(lastJson(waiterRun.stdout()).result.got.map((s: any) => s.name)).toEqual(["go", "stop"]);
    expect(lines(log).filter((l) => l.startsWith("got"))).toEqual(["got go", "got stop"]);

    const toFinished = akts(["run", NONDURABLE, "--trigger", "sender", "--event", eventFile(dir, { target: id }), "--store", store]);
    expect(toFinished.code).toBe(1);
    expect(lastJson(toFinished.stdout).error).toMatchObject({ code: "AKTS6022", message: expect.stringContaining(`session ${id} is completed`) });
    const toNobody = akts(["run", MANIFEST, "--trigger", "sender", "--event", eventFile(dir, { target: "ses_nobody" }), "--store", store]);
    expect(lastJson(toNobody.stdout).error).toMatchObject({ code: "AKTS6021" });
  });

  it("start: a durable parent SIGKILLed between its children starts each child once", async () => {
    const dir = tempDir("sdk-start");
    const store = await STORES[kind]("start");
    const log = path.join(dir, "log");
    const run = ["run", MANIFEST, "--trigger", "parent", "--event", eventFile(dir, { pauseMs: 400 }), "--store", store];
    expect((await killWhen(run, () => lines(log).includes("started 1"))).killed).toBe(true);
    const resumed = resumeAll(MANIFEST, store);
    const sessions = json(["sessions", "--store", store, "--json"]);
    const parent = sessions.find((s: any) => s.parent === undefined);
    const children = sessions.filter((s: any) => s.parent === parent.session_id);
    expect(children).toHaveLength(2);
    expect(sessions).toHaveLength(3);
    expect(resumed.get(parent.session_id)).toMatchObject({ status: "completed" });
    expect([...resumed.get(parent.session_id).result].sort()).toEqual(children.map((c: any) => c.session_id).sort());
    for (const child of children) expect(child).toMatchObject({ status: "completed", mode: "durable", handler: "program.ts:child", trigger: "parent" });
    expect(count(lines(log), "child 2")).toBe(1);
    expect(count(lines(log), "started 2")).toBe(1);
    // The child's argument is AutoKitteh's event: its data, and its own session id.
    const header = json(["journal", children[0].session_id, "--store", store, "--json"])[0];
    expect(header.event).toMatchObject({ data: { n: expect.any(Number) }, event_id: null, event_type: null, session_id: children[0].session_id });
    expect(header.memo).toEqual({ from: "parent" });
  });

  it("start: a non-durable parent's children are non-durable and run in the same akts run", async () => {
    const dir = tempDir("sdk-start-nd");
    const store = await STORES[kind]("startnd");
    const r = akts(["run", NONDURABLE, "--trigger", "parent", "--event", eventFile(dir, {}), "--store", store]);
    expect(r.code, r.stderr).toBe(0);
    const ids: string[] = lastJson(r.stdout).result;
    for (const id of ids) expect(r.stderr).toContain(`akts run: started session ${id} completed`);
    const children = json(["sessions", "--store", store, "--json"]).filter((s: any) => s.parent === lastJson(r.stdout).session_id);
    expect(children.map((c: any) => c.session_id).sort()).toEqual([...ids].sort());
    for (const child of children) expect(child).toMatchObject({ status: "completed", mode: "nondurable" });
    expect(lines(path.join(dir, "log")).sort()).toEqual(["child 1", "child 2", "started 1", "started 2"]);
  });
});

describe("akts serve", () => {
  it("takes over a parent killed between its children, runs the children in its host, and reads the values on admin routes", async () => {
    const dir = tempDir("sdk-serve");
    const store = path.join(dir, "store");
    const log = path.join(dir, "log");
    expect(akts(["run", MANIFEST, "--trigger", "values", "--event", eventFile(dir, {}), "--store", store]).code).toBe(0);
    const run = ["run", MANIFEST, "--trigger", "parent", "--event", eventFile(dir, { pauseMs: 400 }), "--store", store];
    expect((await killWhen(run, () => lines(log).includes("started 1"))).killed).toBe(true);

    const served = await serve(MANIFEST, store);
    const get = (route: string, token = served.token) => fetch(`${served.url}${route}`, { headers: { authorization: `Bearer ${token}` } });
    // Polled over HTTP from the server that runs them (a CLI process a poll cost a core); listed once by the CLI.
    for (const until = Date.now() + 30_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      const listed: any[] = ((await (await get("/sessions")).json()) as any).sessions;
      if (listed.length === 4 && listed.every((s) => s.status === "completed")) break;
    }
    const sessions: any[] = json(["sessions", "--store", store, "--json"]);
    const parent = sessions.find((s) => s.trigger === "parent" && s.parent === undefined);
    expect(sessions.filter((s) => s.parent === parent.session_id).map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(count(lines(log), "child 2")).toBe(1);

    expect(await (await get("/values")).json()).toEqual({
      values: [
        { key: "count", value: 3 },
        { key: "count.m", value: 5 },
        { key: "count.name", value: "second" },
      ],
    });
    expect(await (await get("/values/count.name")).json()).toEqual({ key: "count.name", value: "second" });
    expect((await get("/values/nothing")).status).toBe(404);
    expect((await get("/values", "wrong")).status).toBe(401);
  });
});
