/**
 * The file store's segments (runtime/store/segment-writer.ts, segment-index.ts) and fsync `batch`, whose group
 * commit they are. Crashes are real processes killed with SIGKILL; torn writes and damage are made in the bytes.
 */
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore } from "../runtime/store";
import { encodeFrame, type JournalRecord } from "../runtime/journal";
import { entryParts, Kind } from "../runtime/store/segment-format";
import { activity, header, storeContract } from "./store-contract";
import { segmentEntries, segmentFiles, sessionEntries } from "./segments";
import { crashThenResume } from "./crash-steps";
import { akts, tempDir } from "./helpers";

const DIST = path.resolve(__dirname, "..", "dist", "runtime");
const requireDist = (module: string) => `require(${JSON.stringify(path.join(DIST, module))})`;

let contractDir: string;
storeContract("file store, fsync batch", {
  make: async () => {
    contractDir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-segment-"));
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

function activities(records: JournalRecord[]): number[] {
  return records.flatMap((r) => (r.t === "activity" ? [r.seq] : []));
}

const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

/** Writes `bytes` just past the data of a segment (where its writer would have written next). */
function writeAtEnd(file: string, bytes: Buffer): number {
  const data = fs.readFileSync(file);
  let end = data.length;
  while (data[end - 1] === 0) end--;
  const fd = fs.openSync(file, "r+");
  fs.writeSync(fd, bytes, 0, bytes.length, end);
  fs.closeSync(fd);
  return end;
}

/** A whole entry as a stale writer of `fence` would append it. */
const staleEntry = (id: string, fence: number, value: string) => Buffer.concat(entryParts(Kind.Record, fence, id, encodeFrame(activity(99, value))));

describe("segments", () => {
  test("appends acknowledged before a SIGKILL are read back; a torn tail is cut with a notice and loses nothing acknowledged", async () => {
    dir = tempDir("segment-kill");
    const r = await runNode(writerScript(dir, 40, `process.kill(process.pid, "SIGKILL");`));
    expect(r.signal).toBe("SIGKILL");
    const id = r.stdout.trim();
    const [segment] = segmentFiles(dir);
    expect(sessionEntries(dir, id)).toHaveLength(41);
    // A round whose write was cut by the crash: the first sector of a 2,000-byte entry, and nothing of the rest.
    const at = writeAtEnd(segment, Buffer.from([0xd0, 0x07, 0, 0, 1, 2, 3, 4, 5, 6, 7]));

    const store = new FileStore(dir, "always");
    const lease = await store.claim(id, "r2");
    expect(lease?.claimed?.notices).toEqual([`segment ${segment}: cut 11 torn bytes at offset ${at}`]);
    expect(fs.readFileSync(segment).subarray(at, at + 11).every((b) => b === 0)).toBe(true);
    await lease!.append(activity(41));
    await lease!.release();
    await store.close();
    const reopened = new FileStore(dir, "always");
    expect(activities((await reopened.read(id)).records)).toEqual(upTo(41));
    await reopened.close();
  });

  test("damage inside a dead runner's segment is AKTS4001 with the segment file and offset; the segment is kept", async () => {
    dir = tempDir("segment-damage");
    const r = await runNode(writerScript(dir, 10, `process.kill(process.pid, "SIGKILL");`));
    const id = r.stdout.trim();
    const fifth = sessionEntries(dir, id)[5];
    const data = fs.readFileSync(fifth.file);
    data[fifth.bodyAt + 10] ^= 0xff;
    fs.writeFileSync(fifth.file, data);
    const store = new FileStore(dir, "always");
    await expect(store.claim(id, "r2")).rejects.toMatchObject({ code: "AKTS4001", file: fifth.file, offset: fifth.frameAt, message: expect.stringContaining("frame checksum or length mismatch") });
    expect(fs.readFileSync(fifth.file).equals(data)).toBe(true);
    expect(await store.get(id)).toMatchObject({ status: "failed", errorCode: "AKTS4001" });
    await store.close();
  });

  test("a claim takes over a stopped holder whose lease expired; what the holder's fence writes after the claim is never read", async () => {
    dir = tempDir("segment-claim");
    let id = "";
    let child: ReturnType<typeof spawn> | undefined;
    const done = runNode(writerScript(dir, 25, `setInterval(() => {}, 1000);`, 300), (out, c) => {
      id = out.trim();
      child = c;
    });
    while (!child) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGSTOP");
    try {
      await new Promise((r) => setTimeout(r, 700));
      const store = new FileStore(dir, "always");
      const lease = await store.claim(id, "r2");
      expect(lease?.fence).toBe(2);
      expect(activities((await store.read(id)).records)).toEqual(upTo(25));
      await lease!.append(activity(26, "new holder"));
      // The frozen holder wakes inside the fencing window and lands one write under fence 1 after the takeover.
      writeAtEnd(segmentFiles(dir).find((f) => sessionEntries(dir, id).some((e) => e.file === f && e.fence === 1))!, staleEntry(id, 1, "stale"));
      expect((await store.read(id)).records.filter((r) => r.t === "activity").map((r) => (r as { value: unknown }).value)).toEqual([...upTo(25), "new holder"]);
      await lease!.release();
      await store.close();
    } finally {
      child.kill("SIGKILL");
      await done;
    }
    const store = new FileStore(dir, "always");
    expect(activities((await store.read(id)).records)).toEqual(upTo(26));
    await store.close();
  });

  test("a full segment rolls over to the next, preallocated one; the journal reads across them", async () => {
    dir = tempDir("segment-roll");
    const store = new FileStore(dir, "always");
    const lease = await store.create(header(), "r");
    const big = "x".repeat(2000);
    for (let i = 1; i <= 1500; i++) await lease.append(activity(i, big));
    await lease.release();
    await store.close();
    expect(segmentFiles(dir).length).toBeGreaterThanOrEqual(2);
    const reopened = new FileStore(dir, "none");
    expect(activities((await reopened.read(lease.id)).records)).toEqual(upTo(1500));
    await reopened.close();
  });

  test("a session's frames among large entries of another are read around them; a segment cut inside an entry is AKTS4001", async () => {
    dir = tempDir("segment-gaps");
    const store = new FileStore(dir, "none");
    const small = await store.create(header(), "r");
    const big = await store.create(header(), "r");
    const large = (i: number) => `${i}`.padEnd(100_000, "x");
    // Each small frame lies 100 KB past the last: the reads of its journal take a frame at a time.
    for (let i = 1; i <= 20; i++) {
      await small.append(activity(i, `small ${i}`));
      await big.append(activity(i, large(i)));
    }
    await small.release();
    await big.release();
    const values = (records: JournalRecord[]) => records.flatMap((r) => (r.t === "activity" && r.ok ? [r.value] : []));
    expect(values((await store.read(small.id)).records)).toEqual(upTo(20).map((i) => `small ${i}`));
    expect(values((await store.read(big.id)).records)).toEqual(upTo(20).map(large));
    const last = sessionEntries(dir, small.id).filter((e) => e.kind === Kind.Record).at(-1)!;
    fs.truncateSync(last.file, last.bodyAt + 5);
    await expect(store.claim(small.id, "r2")).rejects.toMatchObject({ code: "AKTS4001", file: last.file, offset: last.bodyAt + 5, message: expect.stringContaining("the segment ends inside an entry") });
    await store.close();
  });

  test("two processes sharing a store folder, each with its own segment, see each other's sessions", async () => {
    dir = tempDir("segment-shared");
    const script = `(async () => {
      const store = new (${requireDist("store/file-store.js")}.FileStore)(${JSON.stringify(dir)}, "batch");
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
    const store = new FileStore(dir, "none");
    for (const id of ids) expect(activities((await store.read(id)).records)).toEqual(upTo(60));
    expect((await store.unfinished()).map((s) => s.id).sort()).toEqual([...ids].sort());
    expect(new Set(segmentFiles(dir).map((f) => path.basename(f).replace(/-\d+\.seg$/, ""))).size).toBe(2);
    await store.close();
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
      // The killed runner wrote its appends to its segment: one segment, holding the session's records.
      expect(segmentFiles(store)).toHaveLength(1);
      expect(segmentEntries(store).length).toBeGreaterThan(k);
    });
    // The resume wrote the rest under fence 2 in a segment of its own.
    expect(new Set(segmentEntries(store).map((e) => e.fence))).toEqual(new Set([1, 2]));
  });

  test("a bad AKTS_FSYNC is one line", () => {
    const r = akts(["sessions", "--store", tempDir("segment-bad")], { env: { AKTS_FSYNC: "sometimes" } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/AKTS9002.*AKTS_FSYNC must be always, batch or none/);
  });
});
