/**
 * fsync `batch` in the file store: the group-commit log (runtime/store/batch-log.ts). Crashes are real processes
 * killed with SIGKILL; a power loss is simulated by zeroing the journal bytes that were written without a sync.
 */
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { FileStore } from "../runtime/store";
import { encodeFrame, readJournal, type JournalRecord } from "../runtime/journal";
import { frameWord, PAYLOAD_START } from "../runtime/crc";
import { logFiles, readLog } from "../runtime/store/batch-log";
import { activity, header, storeContract } from "./store-contract";
import { crashThenResume } from "./crash-steps";
import { akts, tempDir } from "./helpers";

const DIST = path.resolve(__dirname, "..", "dist", "runtime");
const requireDist = (module: string) => `require(${JSON.stringify(path.join(DIST, module))})`;

let contractDir: string;
storeContract("file store, fsync batch", {
  make: async () => {
    contractDir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-batch-"));
    return new FileStore(contractDir, "batch");
  },
  dispose: () => fs.rmSync(contractDir, { recursive: true, force: true }),
  openInChild: (ttlMs) => `const store = new (${requireDist("store/file-store.js")}.FileStore)(${JSON.stringify(contractDir)}, "batch", { leaseTtlMs: ${ttlMs} });`,
});

let dir: string;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs a script in a fresh node process; resolves with its exit (code or signal) and stdout. */
function runNode(script: string, onLine?: (line: string, child: ReturnType<typeof spawn>) => void): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script]);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
      if (onLine && String(d).includes("\n")) onLine(stdout, child);
    });
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A child that creates a session in `store` under `batch`, awaits `n` appends, prints the id, and then `then`. */
function writerScript(store: string, n: number, then: string, ttlMs = 60_000): string {
  return `(async () => {
    const store = new (${requireDist("store/file-store.js")}.FileStore)(${JSON.stringify(store)}, "batch", { leaseTtlMs: ${ttlMs} });
    const id = ${requireDist("store/store.js")}.newSessionId();
    const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "h", event: null, createdAt: 1 }, "child");
    for (let i = 1; i <= ${n}; i++) await lease.append({ t: "activity", seq: i, site: "h.ts:" + i + ":1", callee: "api.get", ok: true, value: i, async: true, start: 1, end: 2 });
    process.stdout.write(id + "\\n");
    ${then}
  })();`;
}

/** What a power loss does to a journal written without a sync: everything after its first (synced) frame is lost. */
function loseUnsyncedJournal(journal: string): void {
  const data = fs.readFileSync(journal);
  const kept = 16 + 8 + data.readUInt32LE(16);
  fs.writeFileSync(journal, Buffer.concat([data.subarray(0, kept), Buffer.alloc(data.length - kept)]));
}

function activities(records: JournalRecord[]): number[] {
  return records.flatMap((r) => (r.t === "activity" ? [r.seq] : []));
}

const journalOf = (store: string, id: string) => path.join(store, "sessions", `${id}.journal`);

describe("batch log", () => {
  test("appends acknowledged before a SIGKILL survive the loss of the unsynced journal writes; a torn log tail is ignored", async () => {
    dir = tempDir("batch-kill");
    const r = await runNode(writerScript(dir, 40, `process.kill(process.pid, "SIGKILL");`));
    expect(r.signal).toBe("SIGKILL");
    const id = r.stdout.trim();
    const [log] = logFiles(dir);
    expect(log).toBeDefined();
    expect(readLog(log!).filter((e) => e.session === id).length).toBeGreaterThan(0);
    loseUnsyncedJournal(journalOf(dir, id));
    expect(activities(readJournal(journalOf(dir, id), { repair: false }).records)).toEqual([]);
    // A round whose sync never completed: a partial entry at the end of the log's data.
    const data = fs.readFileSync(log!);
    let end = data.length;
    while (data[end - 1] === 0) end--;
    const fd = fs.openSync(log!, "r+");
    fs.writeSync(fd, Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]), 0, 11, end);
    fs.closeSync(fd);

    // Opening the store recovers the dead process's log into the journal and removes it.
    const store = new FileStore(dir, "always");
    expect(logFiles(dir)).toEqual([]);
    const lease = await store.claim(id, "r2");
    expect(lease).toBeDefined();
    await lease!.release();
    await store.close();
    expect(activities(readJournal(journalOf(dir, id)).records)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
  });

  test("damage inside a dead process's log is reported with the log file and offset, and the log is kept", async () => {
    dir = tempDir("batch-damage");
    const r = await runNode(writerScript(dir, 10, `process.kill(process.pid, "SIGKILL");`));
    const id = r.stdout.trim();
    const [log] = logFiles(dir);
    const data = fs.readFileSync(log!);
    data[16 + 8 + 20] ^= 0xff;
    fs.writeFileSync(log!, data);
    const store = new FileStore(dir, "always");
    expect(logFiles(dir)).toEqual([log]);
    await expect(store.claim(id, "r2")).rejects.toMatchObject({ code: "AKTS4001", file: log, offset: 16, message: expect.stringContaining("log entry checksum or length mismatch") });
    await store.close();
  });

  test("a claim applies the log of a live holder whose lease expired, and only that fence's entries", async () => {
    dir = tempDir("batch-claim");
    let id = "";
    let child: ReturnType<typeof spawn> | undefined;
    const done = runNode(writerScript(dir, 25, `setInterval(() => {}, 1000);`, 300), (out, c) => {
      id = out.trim();
      child = c;
    });
    while (!child) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGSTOP");
    try {
      loseUnsyncedJournal(journalOf(dir, id));
      await new Promise((r) => setTimeout(r, 700));
      const store = new FileStore(dir, "always");
      // The stopped holder is alive: its log stays until a claim of its session reads it.
      expect(logFiles(dir)).toHaveLength(1);
      const lease = await store.claim(id, "r2");
      expect(lease?.fence).toBe(2);
      expect(activities((await store.read(id)).records)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      await lease!.append(activity(26, "new holder"));
      await lease!.release();
      await store.close();
    } finally {
      child.kill("SIGKILL");
      await done;
    }
    // The dead holder's log holds fence-1 entries only: the store opened now leaves the new holder's record alone.
    const store = new FileStore(dir, "always");
    expect(logFiles(dir)).toEqual([]);
    const { records } = await store.read(id);
    expect(activities(records)).toEqual(Array.from({ length: 26 }, (_, i) => i + 1));
    await store.close();
  });

  test("an entry of a stale fence is never written into a journal taken over since", async () => {
    dir = tempDir("batch-fence");
    const store = new FileStore(dir, "always");
    const first = await store.create(header(), "r1");
    await first.append(activity(1));
    await first.release();
    const second = await store.claim(first.id, "r2");
    await second!.append(activity(2, "fence 2"));
    await second!.release();
    const end = (await store.read(first.id)).end!;
    // A log of a dead process holding what a stale fence-1 writer would have written where fence 2 wrote.
    const frame = encodeFrame(activity(2, "stale"));
    const id = Buffer.from(first.id);
    const payload = Buffer.alloc(14 + id.length);
    payload.writeUInt32LE(1, 0);
    payload.writeUIntLE(end - frame.length, 4, 6);
    payload.writeUInt16LE(id.length, 12);
    id.copy(payload, 14);
    const length = payload.length + frame.length;
    const entryHead = Buffer.alloc(8);
    entryHead.writeUInt32LE(length, 0);
    entryHead.writeUInt32LE(frameWord(length, crc32(frame, crc32(payload, PAYLOAD_START))), 4);
    const logHeader = Buffer.alloc(16);
    logHeader.write("AKTSBLG\0", 0, "latin1");
    logHeader.writeUInt32LE(2, 8);
    fs.mkdirSync(path.join(dir, "batch"));
    const hostTag = crc32(os.hostname()).toString(16).padStart(8, "0");
    const forged = path.join(dir, "batch", `${hostTag}-999999999--0.log`);
    fs.writeFileSync(forged, Buffer.concat([logHeader, entryHead, payload, frame]));
    expect(readLog(forged)).toEqual([expect.objectContaining({ session: first.id, fence: 1 })]);
    // A log of version 1 (journal format 3's crc where the check word is) names the akts that can apply it.
    const old = Buffer.from(logHeader);
    old.writeUInt32LE(1, 8);
    const oldLog = path.join(dir, "old.log");
    fs.writeFileSync(oldLog, old);
    expect(() => readLog(oldLog)).toThrow(/at byte 8: batch log version 1, written by an older akts: open the store once with that version/);
    fs.rmSync(oldLog);

    const reopened = new FileStore(dir, "always");
    expect(logFiles(dir)).toEqual([]);
    const third = await reopened.claim(first.id, "r3");
    const { records } = await reopened.read(first.id);
    expect(records.filter((r) => r.t === "activity").map((r) => (r as { value: unknown }).value)).toEqual([1, "fence 2"]);
    await third!.release();
    await reopened.close();
    await store.close();
  });

  test("the log is checkpointed (journals synced, log emptied) and removed at close", async () => {
    dir = tempDir("batch-checkpoint");
    const store = new FileStore(dir, "batch", { batchCheckpointBytes: 4096 });
    const leases = await Promise.all(Array.from({ length: 4 }, () => store.create(header(), "r")));
    await Promise.all(leases.map(async (l) => {
      for (let i = 1; i <= 100; i++) await l.append(activity(i));
    }));
    const [log] = logFiles(dir);
    // About 30 KiB of frames went through the log; a checkpoint emptied it whenever it passed 4 KiB.
    expect(readLog(log!).reduce((n, e) => n + e.frames.length, 0)).toBeLessThan(4096);
    for (const l of leases) {
      expect(activities((await store.read(l.id)).records)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      await l.release();
    }
    await store.close();
    expect(logFiles(dir)).toEqual([]);
  });

  test("two processes sharing a store folder, each with its own log", async () => {
    dir = tempDir("batch-shared");
    const script = `(async () => {
      const store = new (${requireDist("store/file-store.js")}.FileStore)(${JSON.stringify(dir)}, "batch", { batchCheckpointBytes: 16384 });
      const { newSessionId } = ${requireDist("store/store.js")};
      const ids = [];
      await Promise.all(Array.from({ length: 8 }, async () => {
        const id = newSessionId();
        ids.push(id);
        const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "h", event: null, createdAt: 1 }, "child");
        for (let i = 1; i <= 60; i++) await lease.append({ t: "activity", seq: i, site: "h.ts:" + i + ":1", callee: "api.get", ok: true, value: i, async: true, start: 1, end: 2 });
        await lease.release();
      }));
      await store.close();
      process.stdout.write(JSON.stringify(ids));
    })();`;
    const [a, b] = await Promise.all([runNode(script), runNode(script)]);
    expect(a.stderr + b.stderr).toBe("");
    const ids: string[] = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)];
    expect(new Set(ids).size).toBe(16);
    for (const id of ids) expect(activities(readJournal(journalOf(dir, id)).records)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(logFiles(dir)).toEqual([]);
  });
});

describe("akts run with AKTS_FSYNC=batch: SIGKILL after k activities, then resume", () => {
  beforeAll(() => {
    process.env.AKTS_FSYNC = "batch";
  });

  test.each([2, 4])("k = %i", async (k) => {
    dir = tempDir(`batch-crash-${k}`);
    const store = path.join(dir, "store");
    await crashThenResume(dir, store, k, () => {
      // The killed runner wrote its appends through its group-commit log: batch mode ran.
      const logs = logFiles(store);
      expect(logs).toHaveLength(1);
      expect(readLog(logs[0]!).length).toBeGreaterThan(0);
    });
    // The resume's store checkpointed and removed the log of the killed run and its own.
    expect(logFiles(store)).toEqual([]);
  });

  test("a bad AKTS_FSYNC is one line", () => {
    const r = akts(["sessions", "--store", tempDir("batch-bad")], { env: { AKTS_FSYNC: "sometimes" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AKTS9002.*AKTS_FSYNC must be always, batch or none/);
  });
});
