/**
 * The file store's layout under crashes (docs/stores.md): a process killed at any step of creating or finishing a
 * session leaves a store that the real CLI lists without failing, where an unacknowledged creation is absent, a
 * whole one is a session, and a session whose journal holds its end is finished and never run again. Also: `akts
 * serve` SIGKILLed under webhook load loses no acknowledged session, and 1,000 unfinished sessions are recovered.
 */
import { describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { akts, lines, ROOT, tempDir } from "./helpers";
import { CRASH_MANIFEST, lastJson, stepsEvent } from "./crash-steps";
import { serve } from "./serve-process";
import { FRAME_OVERHEAD, HEADER_SIZE } from "../runtime/journal";
import { FileStore } from "../runtime/store";

const NONDURABLE_MANIFEST = path.join(ROOT, "fixtures/crash/nondurable.yaml");
const SERVE_MANIFEST = path.join(ROOT, "fixtures/serve/autokitteh.yaml");

/** The lease of a process that exited: what a killed creator leaves in its marker. */
function deadLease(): string {
  const pid = Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
  return JSON.stringify({ runner: "killed", fence: 1, host: os.hostname(), pid, ttlMs: 60_000 });
}

/** A finished session of `manifest`'s `steps` trigger, run by the CLI: its store, id, journal bytes and log. */
function finishedSession(manifest: string): { dir: string; id: string; journal: Buffer; log: string } {
  const dir = tempDir("layout-run");
  const store = path.join(dir, "store");
  const r = akts(["run", manifest, "--trigger", "steps", "--event", stepsEvent(dir), "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  const id = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)[0].session_id;
  return { dir, id, journal: fs.readFileSync(path.join(store, "sessions", `${id}.journal`)), log: path.join(dir, "log") };
}

/** A store holding only what `files` says, under `sessions/` and `unfinished/`. */
function storeWith(files: Record<string, Buffer | string>): string {
  const store = path.join(tempDir("layout-store"), "store");
  for (const dir of ["sessions", "unfinished"]) fs.mkdirSync(path.join(store, dir), { recursive: true, mode: 0o700 });
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(store, name), data, { mode: 0o600 });
  return store;
}

function sessions(store: string): Array<{ id: string; status: string; attempts: number }> {
  const r = akts(["sessions", "--store", store, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ session_id: string; status: string; attempts: number }>).map(({ session_id, ...rest }) => ({ id: session_id, ...rest }));
}

/** The journal up to and including its header frame. */
function headerOnly(journal: Buffer): Buffer {
  return journal.subarray(0, HEADER_SIZE + FRAME_OVERHEAD + journal.readUInt32LE(HEADER_SIZE));
}

/** The journal without its last frame (the end record). */
function withoutEnd(journal: Buffer): Buffer {
  let at = HEADER_SIZE;
  let last = at;
  while (at + FRAME_OVERHEAD <= journal.length && journal.readUInt32LE(at) !== 0) {
    last = at;
    at += FRAME_OVERHEAD + journal.readUInt32LE(at);
  }
  return Buffer.concat([journal.subarray(0, last), Buffer.alloc(journal.length - last)]);
}

describe("a process killed at each step of creating a session", () => {
  test("before the journal's header is whole nothing is a session: listings skip it, resume removes it; after, it is a session and finishes", () => {
    const { id, journal } = finishedSession(CRASH_MANIFEST);
    const header = headerOnly(journal);
    const cut: Array<[string, Record<string, Buffer | string>]> = [
      ["marker created, nothing written in it", { [`unfinished/${id}`]: "" }],
      ["marker written", { [`unfinished/${id}`]: deadLease() }],
      ["journal created", { [`unfinished/${id}`]: deadLease(), [`sessions/${id}.journal`]: "" }],
      ["journal's file header written", { [`unfinished/${id}`]: deadLease(), [`sessions/${id}.journal`]: header.subarray(0, HEADER_SIZE) }],
      ["header frame's sectors not written", { [`unfinished/${id}`]: deadLease(), [`sessions/${id}.journal`]: Buffer.concat([header.subarray(0, HEADER_SIZE), Buffer.alloc(4096)]) }],
    ];
    for (const [step, files] of cut) {
      const store = storeWith(files);
      // A marker with nothing in it may be a creation under way: it is left alone until it is older than a lease ttl.
      if (files[`unfinished/${id}`] === "") fs.utimesSync(path.join(store, "unfinished", id), 1, 1);
      expect([step, sessions(store)]).toEqual([step, []]);
      const resumed = akts(["resume", "--manifest", CRASH_MANIFEST, "--store", store]);
      expect([step, resumed.code, resumed.stdout]).toEqual([step, 0, ""]);
      expect([step, fs.readdirSync(path.join(store, "unfinished")), fs.readdirSync(path.join(store, "sessions"))]).toEqual([step, [], []]);
    }
    // A header frame written whole and damaged since is not a creation cut short: nothing is removed.
    const damaged = Buffer.concat([header, Buffer.alloc(4096)]);
    damaged[HEADER_SIZE + FRAME_OVERHEAD + 3] ^= 0x5a;
    const kept = storeWith({ [`unfinished/${id}`]: deadLease(), [`sessions/${id}.journal`]: damaged });
    expect(sessions(kept)).toEqual([]);
    expect(akts(["resume", "--manifest", CRASH_MANIFEST, "--store", kept]).code).toBe(0);
    expect(fs.readFileSync(path.join(kept, "sessions", `${id}.journal`)).equals(damaged)).toBe(true);
    expect(fs.readdirSync(path.join(kept, "unfinished"))).toEqual([id]);
    // The header synced (with or without the folder syncs that follow): the session exists and runs.
    const store = storeWith({ [`unfinished/${id}`]: deadLease(), [`sessions/${id}.journal`]: Buffer.concat([header, Buffer.alloc(4096)]) });
    expect(sessions(store).map((s) => [s.id, s.status])).toEqual([[id, "running"]]);
    const resumed = akts(["resume", "--manifest", CRASH_MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(lastJson(resumed.stdout)).toMatchObject({ status: "completed", result: { values: [10, 20, 30] } });
  }, 120_000);
});

describe("a process killed at each step of finishing a session", () => {
  for (const [mode, manifest] of [
    ["durable", CRASH_MANIFEST],
    ["non-durable", NONDURABLE_MANIFEST],
  ] as const) {
    test(`${mode}: once the end record is journaled the session is finished, whatever its summary says, and is never run again`, () => {
      const { id, journal, log } = finishedSession(manifest);
      const ranBefore = lines(log);
      const finishing: Array<[string, Record<string, Buffer | string>]> = [
        ["end journaled, no summary", { [`sessions/${id}.journal`]: journal, [`unfinished/${id}`]: deadLease() }],
        ["summary cut short", { [`sessions/${id}.journal`]: journal, [`sessions/${id}.json`]: "", [`unfinished/${id}`]: deadLease() }],
        ["summary says waiting", { [`sessions/${id}.journal`]: journal, [`sessions/${id}.json`]: JSON.stringify({ id, status: "waiting", attempts: 1, createdAt: 1, updatedAt: 1 }), [`unfinished/${id}`]: deadLease() }],
      ];
      for (const [step, files] of finishing) {
        const store = storeWith(files);
        expect([step, sessions(store).map((s) => [s.id, s.status])]).toEqual([step, [[id, "completed"]]]);
        const resumed = akts(["resume", "--manifest", manifest, "--store", store]);
        expect([step, resumed.code, resumed.stdout]).toEqual([step, 0, ""]);
        expect([step, fs.readdirSync(path.join(store, "unfinished"))]).toEqual([step, []]);
        expect(JSON.parse(fs.readFileSync(path.join(store, "sessions", `${id}.json`), "utf8"))).toMatchObject({ id, status: "completed" });
        const records = JSON.parse(akts(["journal", id, "--store", store, "--json"]).stdout).map((r: { t: string }) => r.t);
        expect([step, records.filter((t: string) => t === "end").length]).toEqual([step, 1]);
      }
      // The summary written, the marker not yet removed: only the marker goes.
      const store = storeWith({ [`sessions/${id}.journal`]: journal, [`unfinished/${id}`]: deadLease() });
      akts(["resume", "--manifest", manifest, "--store", store]);
      expect(fs.readdirSync(path.join(store, "unfinished"))).toEqual([]);
      expect(lines(log)).toEqual(ranBefore);
      // Before the end record: an unfinished session, resumed (durable: replayed; non-durable: run again).
      const unfinished = storeWith({ [`sessions/${id}.journal`]: withoutEnd(journal), [`unfinished/${id}`]: deadLease() });
      expect(sessions(unfinished).map((s) => s.status)).toEqual(["running"]);
      const resumed = akts(["resume", "--manifest", manifest, "--store", unfinished]);
      expect(lastJson(resumed.stdout)).toMatchObject({ status: "completed" });
      if (mode === "durable") expect(lines(log)).toEqual(ranBefore);
      else expect(lines(log).length).toBeGreaterThan(ranBefore.length);
    }, 120_000);
  }
});

describe("akts serve SIGKILLed under webhook load (50 clients at once, 5 kills)", () => {
  test("every session answered 202 is in the store, listings never fail, and every one finishes after a restart", async () => {
    const store = path.join(tempDir("layout-kill"), "store");
    const acknowledged = new Set<string>();
    const kills = 5;
    for (let round = 0; round < kills; round++) {
      const s = await serve(SERVE_MANIFEST, store);
      let stop = false;
      const client = async () => {
        while (!stop) {
          try {
            const res = await fetch(`${s.url}/webhooks/received`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ note: "n" }) });
            if (res.status === 202) acknowledged.add(((await res.json()) as { session_id: string }).session_id);
            else await res.arrayBuffer();
          } catch {
            // The server died under this request: it was not acknowledged.
          }
        }
      };
      const clients = Array.from({ length: 50 }, client);
      const target = acknowledged.size + 60;
      while (acknowledged.size < target) await new Promise((r) => setTimeout(r, 5));
      s.child.kill("SIGKILL");
      await s.exited;
      stop = true;
      await Promise.all(clients);
      const listed = new Set(sessions(store).map((x) => x.id));
      expect([...acknowledged].filter((id) => !listed.has(id))).toEqual([]);
    }
    const resumed = akts(["resume", "--manifest", SERVE_MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const byId = new Map(sessions(store).map((x) => [x.id, x.status]));
    const lost = [...acknowledged].filter((id) => byId.get(id) !== "completed");
    console.log(`fault SIGKILL under load: ${JSON.stringify({ kills, accepted: acknowledged.size, completed: acknowledged.size - lost.length, lost: lost.length })}`);
    expect(lost).toEqual([]);
    // What is left is creations killed before their marker said who made them: removed once older than a lease ttl.
    const left = fs.readdirSync(path.join(store, "unfinished"));
    for (const id of left) {
      expect([id, fs.readFileSync(path.join(store, "unfinished", id), "utf8"), acknowledged.has(id), byId.has(id)]).toEqual([id, "", false, false]);
      fs.utimesSync(path.join(store, "unfinished", id), 1, 1);
    }
    expect(akts(["resume", "--manifest", SERVE_MANIFEST, "--store", store]).code).toBe(0);
    expect(fs.readdirSync(path.join(store, "unfinished"))).toEqual([]);
  }, 180_000);
});

describe("recovery at scale", () => {
  test("1,000 unfinished sessions of a SIGKILLed process are all listed as unfinished and all claimed", async () => {
    const store = path.join(tempDir("layout-many"), "store");
    const dist = path.join(ROOT, "dist/runtime/store");
    const script = `
      (async () => {
        const { FileStore } = require(${JSON.stringify(path.join(dist, "file-store.js"))});
        const { newSessionId } = require(${JSON.stringify(path.join(dist, "store.js"))});
        const store = new FileStore(${JSON.stringify(store)}, "always");
        for (let batch = 0; batch < 10; batch++) {
          await Promise.all(Array.from({ length: 100 }, async (_, i) => {
            const id = newSessionId();
            const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t" + (i % 3), handler: "h.ts:h", mode: "durable", codeHash: "h", event: { i }, createdAt: Date.now() }, "r");
            await lease.append({ t: "attempt", attempt: 1, at: Date.now() });
            await lease.append({ t: "activity", seq: 1, site: "h.ts:1:1", callee: "f", ok: true, value: id, async: true, start: 1, end: 2 });
          }));
        }
        process.stdout.write("ready");
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("ready") && resolve()));
    child.kill("SIGKILL");
    await new Promise((r) => child.on("exit", r));
    const recovering = new FileStore(store, "always");
    try {
      const unfinished = await recovering.unfinished();
      expect(unfinished).toHaveLength(1000);
      expect(unfinished.map((s) => s.id)).toEqual(unfinished.map((s) => s.id).sort());
      const leases = await Promise.all(unfinished.map((s) => recovering.claim(s.id, "recovery")));
      expect(leases.every((l) => l?.fence === 2)).toBe(true);
      await Promise.all(leases.map((l) => l!.release()));
      for (const lease of leases) {
        const { records } = await recovering.read(lease!.id);
        expect(records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", lease!.id]);
      }
      expect((await recovering.list({ trigger: "t1", limit: 5 })).every((s) => s.trigger === "t1")).toBe(true);
      const page = await recovering.list({ limit: 10 });
      const next = await recovering.list({ before: page[9].id, limit: 10 });
      expect(next.every((s) => s.id < page[9].id)).toBe(true);
      expect([...page, ...next].map((s) => s.id)).toEqual(unfinished.map((s) => s.id).reverse().slice(0, 20));
    } finally {
      await recovering.close();
    }
  }, 180_000);
});

describe("fsync batch", () => {
  test("a session created and killed before its journal was ever synced is restored from the log, file header included", async () => {
    const store = path.join(tempDir("layout-batch"), "store");
    const dist = path.join(ROOT, "dist/runtime/store");
    const script = `
      (async () => {
        const store = new (require(${JSON.stringify(path.join(dist, "file-store.js"))}).FileStore)(${JSON.stringify(store)}, "batch");
        const id = require(${JSON.stringify(path.join(dist, "store.js"))}).newSessionId();
        const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "h", event: { n: 1 }, createdAt: 1 }, "child", { t: "attempt", attempt: 1, at: 1 });
        for (let i = 1; i <= 5; i++) await lease.append({ t: "activity", seq: i, site: "h.ts:" + i + ":1", callee: "api.get", ok: true, value: i, async: true, start: 1, end: 2 });
        process.stdout.write(id);
        process.kill(process.pid, "SIGKILL");
      })();`;
    const child = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(child.signal).toBe("SIGKILL");
    const id = child.stdout;
    // A power loss takes everything of a file that was never synced: its bytes read as zeros.
    const journal = path.join(store, "sessions", `${id}.journal`);
    fs.writeFileSync(journal, Buffer.alloc(fs.statSync(journal).size));
    const recovering = new FileStore(store, "always");
    try {
      expect((await recovering.unfinished()).map((s) => s.id)).toEqual([id]);
      const lease = await recovering.claim(id, "r2");
      await lease!.release();
      expect((await recovering.read(id)).records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", 1, 2, 3, 4, 5]);
    } finally {
      await recovering.close();
    }
  });
});
