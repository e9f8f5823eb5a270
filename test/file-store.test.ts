/** The file store: the store contract (store-contract.ts), and what is particular to files. */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore, newSessionId } from "../runtime/store";
import type { JournalRecord } from "../runtime/journal";
import { activity, header, storeContract } from "./store-contract";
import { writeJournalFile } from "./helpers";

const DIST_STORE = path.resolve(__dirname, "..", "dist", "runtime", "store", "file-store.js");

let contractDir: string;
storeContract("file store", {
  make: async () => {
    contractDir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-store-"));
    return new FileStore(contractDir, "none");
  },
  dispose: () => fs.rmSync(contractDir, { recursive: true, force: true }),
  openInChild: (ttlMs) => `const store = new (require(${JSON.stringify(DIST_STORE)}).FileStore)(${JSON.stringify(contractDir)}, "none", { leaseTtlMs: ${ttlMs} });`,
});

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-store-"));
  store = new FileStore(dir, "none");
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("file store", () => {
  test("a summary is told by the journal: an end record without its status note finishes the session, with its error code", async () => {
    const done = await store.create(header(), "r");
    await done.append({ t: "attempt", attempt: 1, at: 1500 });
    // The runner died after its end record, before its status note.
    await done.append({ t: "end", ok: false, error: new TypeError("bad"), at: 2000 });
    const coded = await store.create(header(), "r");
    await coded.append({ t: "end", ok: false, error: Object.assign(new Error("no retry"), { code: "AKTS6031" }), at: 2000 });
    const open = await store.create(header(), "r");
    await open.setStatus("waiting");
    await store.close();
    for (const reader of [store, new FileStore(dir, "none")]) {
      expect(await reader.get(done.id)).toMatchObject({ status: "failed", attempts: 1, error: "TypeError: bad", updatedAt: 2000 });
      expect(await reader.get(coded.id)).toMatchObject({ status: "failed", errorCode: "AKTS6031" });
      expect((await reader.unfinished()).map((s) => [s.id, s.status])).toEqual([[open.id, "waiting"]]);
      expect(await reader.claim(done.id, "other")).toBeUndefined();
    }
  });

  test.each([
    ["alone", 0, false],
    ["beside live sessions (written with the next round)", 2, false],
    ["while a round is due (written with it)", 0, true],
  ])("a create with deferSync, %s, has written its header and attempt when it resolves (another store lists the session); durable() syncs them", async (_, live, due) => {
    const deferred = new FileStore(path.join(dir, "deferred"), "always");
    try {
      const others = await Promise.all(Array.from({ length: live + (due ? 1 : 0) }, () => deferred.create(header(), "r")));
      // Released with its end queued: no session is live, and the next round is due.
      if (due) {
        const ending = others.pop()!;
        void ending.append({ t: "end", ok: true, result: 0, at: 2 });
        await ending.release();
      }
      const lease = await deferred.create(header(), "r", { t: "attempt", attempt: 1, at: 1 }, { deferSync: true });
      // In the file as the create resolves, before any other turn: a SIGKILL from here on keeps the session.
      const segments = path.join(dir, "deferred", "segments");
      expect(fs.readdirSync(segments).filter((f) => f.endsWith(".seg")).map((f) => fs.readFileSync(path.join(segments, f), "latin1")).join("")).toContain(lease.id);
      for (const other of others) await other.release();
      const reader = new FileStore(path.join(dir, "deferred"), "always", { readOnly: true });
      expect(await reader.get(lease.id)).toMatchObject({ status: "running", attempts: 1 });
      await lease.durable!();
      await lease.append({ t: "end", ok: true, result: 1, at: 2 });
      await lease.setStatus("completed");
      await lease.release();
      expect(await reader.get(lease.id)).toMatchObject({ status: "completed", result: 1 });
      await reader.close();
    } finally {
      await deferred.close();
    }
  });

  test("a session creates no file: its frames and notes go to the runner's segment", async () => {
    const before = fs.readdirSync(path.join(dir, "segments"));
    const first = await store.create(header(), "r");
    const files = () => fs.readdirSync(dir, { recursive: true }).map(String).sort();
    const after = files();
    for (let i = 0; i < 20; i++) {
      const lease = await store.create(header(), "r");
      await lease.append(activity(1));
      await lease.append({ t: "end", ok: true, result: i, at: 2 });
      await lease.setStatus("completed");
      await lease.release();
    }
    await first.release();
    expect(before).toEqual([]);
    expect(files()).toEqual(after);
    expect(after.filter((f) => f.startsWith("segments/"))).toEqual([expect.stringMatching(/^segments\/[^/]+-0\.seg$/), expect.stringMatching(/^segments\/[^/]+\.lease$/)]);
  });

  test("files are 0600 and folders 0700", async () => {
    const lease = await store.create(header(), "r");
    await lease.append(activity(1));
    await lease.setStatus("waiting");
    await store.deliver(lease.id, "approval", { ok: true });
    await lease.release();
    const walk = (d: string): string[] => fs.readdirSync(d).flatMap((f) => [path.join(d, f), ...(fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [])]);
    const modes = walk(dir).map((f) => [path.relative(dir, f), (fs.statSync(f).mode & 0o777).toString(8)]);
    expect(modes.map(([f]) => f.replace(lease.id, "<id>").replace(/evt_\w+/, "<evt>").replace(/segments\/[^/]+?(-0\.seg|\.lease)$/, "segments/<runner>$1")).sort()).toEqual([
      "segments",
      "segments/<runner>-0.seg",
      "segments/<runner>.lease",
      "sessions",
      "sessions/<id>.inbox",
      "sessions/<id>.inbox/<evt>",
      "tmp",
    ]);
    for (const [file, mode] of modes) expect([file, mode]).toEqual([file, fs.statSync(path.join(dir, file)).isDirectory() ? "700" : "600"]);
  });

  test("a store of the one-file-per-session layout is migrated into a segment when opened", async () => {
    const legacy = fs.mkdtempSync(path.join(os.tmpdir(), "akts-legacy-"));
    try {
      for (const d of ["sessions", "unfinished"]) fs.mkdirSync(path.join(legacy, d));
      const [done, open] = [header(), header()];
      const write = (h: ReturnType<typeof header>, records: JournalRecord[]) => writeJournalFile(path.join(legacy, "sessions", `${h.sessionId}.journal`), [h, ...records], 4096);
      write(done, [{ t: "attempt", attempt: 1, at: 2 }, activity(1), { t: "end", ok: false, error: new Error("x"), at: 3 }]);
      fs.writeFileSync(path.join(legacy, "sessions", `${done.sessionId}.json`), JSON.stringify({ id: done.sessionId, status: "failed", attempts: 1, error: "Error: x", errorCode: "AKTS5001", createdAt: 1, updatedAt: 3 }));
      write(open, [{ t: "attempt", attempt: 1, at: 2 }, activity(1)]);
      fs.writeFileSync(path.join(legacy, "unfinished", open.sessionId), "");
      const migrated = new FileStore(legacy, "none");
      expect(fs.readdirSync(path.join(legacy, "sessions"))).toEqual([]);
      expect(await migrated.get(done.sessionId)).toMatchObject({ status: "failed", errorCode: "AKTS5001", attempts: 1 });
      expect((await migrated.unfinished()).map((s) => s.id)).toEqual([open.sessionId]);
      const lease = await migrated.claim(open.sessionId, "r2");
      expect(lease?.fence).toBe(2);
      expect((await migrated.read(open.sessionId)).records.map((r) => r.t)).toEqual(["header", "attempt", "activity"]);
      await lease!.release();
      await migrated.close();
    } finally {
      fs.rmSync(legacy, { recursive: true, force: true });
    }
  });

  test("session ids are unique and sort in creation order", () => {
    const ids = Array.from({ length: 5000 }, () => newSessionId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^ses_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(newSessionId(0) < newSessionId(1)).toBe(true);
  });
});
