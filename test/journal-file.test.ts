/**
 * Journal files (runtime/journal-file.ts) in this process: reading and cutting a torn tail, the writer's
 * allocation, its policies' write timing, a fencing check that refuses a write.
 * Fast enough for mutation testing to run them for every mutant of the module (journal.test.ts covers the same
 * ground more broadly, with bigger files).
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { datasync, fsyncDir, JournalWriter, readJournal, remainder, type FsyncPolicy } from "../runtime/journal-file";
import { encodeFrame, HEADER_SIZE, type JournalRecord } from "../runtime/journal";
import { tempDir } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("journal-file")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, async: true, end: 2, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, start: 1, value,
});
const HEADER: JournalRecord = { t: "header", v: 1, sessionId: "ses_1", project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "c", event: null, createdAt: 1 };
const values = (file: string) => readJournal(file, { repair: false }).records.map((r) => (r as { value?: unknown }).value);
const size = (file: string) => fs.statSync(file).size;
const KiB = 1024;
const tick = () => new Promise((r) => setImmediate(r));

test("a torn tail is reported; it is cut on disk (zeroed, the file's size kept) unless repair is off", async () => {
  const file = path.join(dir, "j");
  const w = JournalWriter.create(file, { fsync: "always" });
  await w.append(activity(1, "kept"));
  await w.append(activity(2, "torn"));
  await w.close();
  const frameEnd = HEADER_SIZE + encodeFrame(activity(1, "kept")).length;
  const whole = fs.readFileSync(file);
  const tornBytes = encodeFrame(activity(2, "torn")).length - 3;
  // The file cut short by a crash inside the last frame.
  const torn = whole.subarray(0, frameEnd + tornBytes);
  fs.writeFileSync(file, torn);
  const notice = `journal ${file}: cut ${tornBytes} torn bytes at offset ${frameEnd}`;

  const looked = readJournal(file, { repair: false });
  expect(looked).toMatchObject({ notices: [notice], notice, end: frameEnd, torn: tornBytes });
  expect(fs.readFileSync(file).equals(torn)).toBe(true);

  const cut = readJournal(file);
  expect(cut).toMatchObject({ notices: [notice], notice, end: frameEnd, torn: tornBytes });
  expect(cut.records).toEqual([activity(1, "kept")]);
  const after = fs.readFileSync(file);
  expect(after.length).toBe(torn.length);
  expect(after.subarray(0, frameEnd).equals(whole.subarray(0, frameEnd))).toBe(true);
  expect(after.subarray(frameEnd).every((b) => b === 0)).toBe(true);

  const clean = readJournal(file);
  expect(clean.notices).toEqual([]);
  expect(clean.notice).toBeUndefined();
  expect(clean.torn).toBe(0);
});

test("cutting a torn tail leaves no file open", async () => {
  const file = path.join(dir, "fds");
  const w = JournalWriter.create(file, { fsync: "none" });
  await w.append(activity(1, "kept"));
  await w.append(activity(2, "torn"));
  await w.close();
  fs.truncateSync(file, size(file) - 2);
  const open = fs.readdirSync("/proc/self/fd").length;
  expect(readJournal(file).torn).toBeGreaterThan(0);
  expect(fs.readdirSync("/proc/self/fd").length).toBe(open);
});

test("none: a write that fails in the background (a full disk) fails every later call, and close", async () => {
  // Writes to /dev/full fail with ENOSPC; `none` neither allocates nor syncs, so the buffered write is the first to fail.
  const w = JournalWriter.open("/dev/full", 0, { fsync: "none" });
  await w.append(activity(1, "lost"));
  await tick();
  expect(() => w.append(activity(2, "later"))).toThrow(/ENOSPC/);
  await expect(w.close()).rejects.toThrow(/ENOSPC/);
});

/**
 * Puts `device` where the writer of `file` has its file: the same descriptor number, so its next writes and syncs go
 * there. /dev/null takes writes and refuses syncs (EINVAL); a file opened read-only refuses writes (EBADF).
 */
function swapDescriptor(file: string, device: string, flags: string): void {
  const fd = fs.readdirSync("/proc/self/fd").map(Number).find((n) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
    } catch {
      return false;
    }
  });
  expect(fd).toBeDefined();
  fs.closeSync(fd!);
  // The lowest free number is taken first: lower ones that were free are held until the writer's is reached.
  const held: number[] = [];
  for (let n = fs.openSync(device, flags); ; n = fs.openSync(device, flags)) {
    if (n === fd) break;
    held.push(n);
    expect(held.length).toBeLessThan(64);
  }
  for (const n of held) fs.closeSync(n);
}

test("a sync that fails rejects the appends it was for, sync or async, and every later call", async () => {
  for (const sync of [false, true]) {
    const file = path.join(dir, `sync-fails-${sync}`);
    const w = JournalWriter.create(file, { fsync: "always" });
    await w.append(activity(1, "synced"));
    swapDescriptor(file, "/dev/null", "r+");
    if (sync) expect(() => w.appendSync(activity(2, "x"))).toThrow(/EINVAL/);
    else await expect(w.append(activity(2, "x"))).rejects.toThrow(/EINVAL/);
    expect(() => w.appendSync(activity(3, "later"))).toThrow(/EINVAL/);
    await expect(w.close()).rejects.toThrow(/EINVAL/);
  }
});

test("create: the header on disk, mode 0600 unless asked, never over a file; the first extent allocated unless the policy is none", async () => {
  for (const fsync of ["always", "batch", "none"] as const) {
    const file = path.join(dir, `c-${fsync}`);
    const w = JournalWriter.create(file, { fsync });
    expect(w.path).toBe(file);
    expect(w.fsync).toBe(fsync);
    expect(size(file)).toBe(fsync === "none" ? HEADER_SIZE : 64 * KiB);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readJournal(file).records).toEqual([]);
    await w.close();
    expect(() => JournalWriter.create(file, { fsync })).toThrow(/EEXIST/);
  }
  const file = path.join(dir, "mode");
  await JournalWriter.create(file, { fsync: "none", mode: 0o640 }).close();
  expect(fs.statSync(file).mode & 0o777).toBe(0o640);
});

test("createWith: the first records are on disk when it resolves, behind the header and the first extent", async () => {
  for (const fsync of ["always", "batch", "none"] as const) {
    const file = path.join(dir, `w-${fsync}`);
    const w = await JournalWriter.createWith(file, [HEADER, { t: "attempt", attempt: 1, at: 2 }], { fsync, mode: 0o640 });
    const end = HEADER_SIZE + encodeFrame(HEADER).length + encodeFrame({ t: "attempt", attempt: 1, at: 2 }).length;
    expect(size(file)).toBe(fsync === "none" ? end : 64 * KiB);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    const read = readJournal(file, { repair: false });
    expect(read.records).toEqual([HEADER, { t: "attempt", attempt: 1, at: 2 }]);
    expect(read.end).toBe(end);
    // The writer appends where the first records end.
    await w.append(activity(1, "next"));
    await w.close();
    expect(values(file)).toEqual([undefined, undefined, "next"]);
    await expect(JournalWriter.createWith(file, [HEADER], { fsync })).rejects.toThrow(/EEXIST/);
  }
  // First records bigger than an extent: the allocation covers them.
  const big = path.join(dir, "big");
  await (await JournalWriter.createWith(big, [HEADER, activity(1, "x".repeat(100 * KiB))], { fsync: "always" })).close();
  expect(size(big)).toBe(128 * KiB);
  expect(values(big)).toEqual([undefined, "x".repeat(100 * KiB)]);
});

test("allocation doubles the file from 64 KiB, then grows 1 MiB at a time; the data fits in it exactly as written", async () => {
  const file = path.join(dir, "grow");
  const w = JournalWriter.create(file, { fsync: "always" });
  const sizes: number[] = [];
  const written: string[] = [];
  for (const kib of [40, 40, 100, 300, 600, 1500, 1100]) {
    written.push(String(kib).padEnd(kib * KiB, "."));
    w.appendSync(activity(written.length, written.at(-1)));
    sizes.push(size(file));
  }
  await w.close();
  // Data end after each: 40, 80, 180, 480, 1080, 2580, 3680 KiB (plus frames): extents 64, 128, 256, 512, 2048, 3072, 4096 KiB.
  expect(sizes.map((s) => s / KiB)).toEqual([64, 128, 256, 512, 2048, 3072, 4096]);
  expect(values(file)).toEqual(written);
  expect(readJournal(file).notices).toEqual([]);
});

test("none: appends are buffered until the next turn of the event loop, or written at once past 256 KiB", async () => {
  const file = path.join(dir, "none");
  const w = JournalWriter.create(file, { fsync: "none" });
  await w.append(activity(1, "a"));
  await w.append(activity(2, "b"));
  expect(values(file)).toEqual([]);
  await tick();
  expect(values(file)).toEqual(["a", "b"]);
  const big = "y".repeat(256 * KiB);
  void w.append(activity(3, big));
  expect(values(file)).toEqual(["a", "b", big]);
  void w.append(activity(4, "c"));
  await w.close();
  expect(values(file)).toEqual(["a", "b", big, "c"]);
  // Closed: nothing more is taken, and a second close does nothing.
  expect(() => w.append(activity(5, "d"))).toThrow(`journal ${file} is closed`);
  expect(() => w.appendSync(activity(5, "d"))).toThrow(`journal ${file} is closed`);
  await w.close();
  expect(size(file)).toBe(readJournal(file).end);
});

test("none: a buffer scheduled for a writer closed before its turn is written by close, once", async () => {
  const file = path.join(dir, "none-close");
  const w = JournalWriter.create(file, { fsync: "none" });
  void w.append(activity(1, "a"));
  await w.close();
  await tick();
  expect(values(file)).toEqual(["a"]);
  expect(size(file)).toBe(readJournal(file).end);
});

test.each(["always", "batch", "none"] as const)("appendSync under %s is in the file when it returns, after appends made before it", async (fsync: FsyncPolicy) => {
  const file = path.join(dir, "sync");
  const w = JournalWriter.create(file, { fsync });
  const p = w.append(activity(1, "async"));
  w.appendSync(activity(2, "sync"));
  expect(values(file)).toEqual(["async", "sync"]);
  await p;
  await w.close();
});

test.each(["always", "batch"] as const)("%s: appends made together all resolve, durable and in order, and close waits for them", async (fsync) => {
  const files = [path.join(dir, "a"), path.join(dir, "b")];
  const writers = files.map((f) => JournalWriter.create(f, { fsync }));
  const appends = writers.flatMap((w, j) => Array.from({ length: 20 }, (_, i) => w.append(activity(i + 1, `${j}.${i}`))));
  await Promise.all(appends);
  for (const [j, f] of files.entries()) expect(values(f)).toEqual(Array.from({ length: 20 }, (_, i) => `${j}.${i}`));
  void writers[0].append(activity(21, "last"));
  await Promise.all(writers.map((w) => w.close()));
  expect(values(files[0]).at(-1)).toBe("last");
});

test("batch: close waits for the group committer's sync of what it wrote, so the append resolves", async () => {
  // A close that saw no written frames waiting while their sync still ran closed the file under it (EBADF).
  for (let i = 0; i < 20; i++) {
    const file = path.join(dir, `close-${i}`);
    const w = JournalWriter.create(file, { fsync: "batch" });
    const appended = w.append(activity(1, i));
    await w.close();
    await expect(appended).resolves.toBeUndefined();
    expect(values(file)).toEqual([i]);
  }
});

test("open continues a journal at the end it is given, allocating past the file's size", async () => {
  const file = path.join(dir, "open");
  const w = JournalWriter.create(file, { fsync: "always" });
  await w.append(activity(1, "one"));
  await w.close();
  for (const fsync of ["always", "none"] as const) {
    const again = JournalWriter.open(file, readJournal(file).end, { fsync });
    await again.append(activity(2, fsync));
    await again.close();
  }
  expect(values(file)).toEqual(["one", "always", "none"]);
  expect(size(file)).toBe(64 * KiB);
  const last = JournalWriter.open(file, readJournal(file).end, { fsync: "always" });
  last.appendSync(activity(4, "z".repeat(70 * KiB)));
  await last.close();
  expect(size(file)).toBe(128 * KiB);
});

test.each(["always", "batch", "none"] as const)("%s: a fencing check that throws fails the frames it guards and every later call; nothing of them is written", async (fsync) => {
  const file = path.join(dir, "fenced");
  let stale = false;
  const lost = new Error("lease lost");
  const w = JournalWriter.create(file, {
    fsync,
    beforeWrite: () => {
      if (stale) throw lost;
    },
  });
  await w.append(activity(1, "before"));
  if (fsync === "none") await tick();
  stale = true;
  if (fsync === "none") {
    await w.append(activity(2, "after"));
    await tick();
  } else {
    await expect(w.append(activity(2, "after"))).rejects.toBe(lost);
  }
  expect(() => w.append(activity(3, "later"))).toThrow(lost);
  expect(() => w.appendSync(activity(3, "later"))).toThrow(lost);
  await expect(w.close()).rejects.toBe(lost);
  expect(values(file)).toEqual(["before"]);
});

test("a fencing check that throws in appendSync, or in a none write past 256 KiB, fails that call", async () => {
  const lost = new Error("lease lost");
  const sync = JournalWriter.create(path.join(dir, "s"), { fsync: "always", beforeWrite: () => { throw lost; } });
  expect(() => sync.appendSync(activity(1, "x"))).toThrow(lost);
  await expect(sync.close()).rejects.toBe(lost);
  const none = JournalWriter.create(path.join(dir, "n"), { fsync: "none", beforeWrite: () => { throw lost; } });
  await expect(none.append(activity(1, "y".repeat(256 * KiB)))).rejects.toBe(lost);
  await expect(none.close()).rejects.toBe(lost);
  expect(values(path.join(dir, "s"))).toEqual([]);
  expect(values(path.join(dir, "n"))).toEqual([]);
});

test("remainder() gives the frames after the bytes written, cutting into the first one not written whole", () => {
  const frames = [Buffer.from("abc"), Buffer.from("de"), Buffer.from("fghi")];
  const joined = (bufs: Buffer[]) => Buffer.concat(bufs).toString();
  for (let written = 0; written <= 9; written++) expect(joined(remainder(frames, written))).toBe("abcdefghi".slice(written));
  expect(remainder(frames, 0)[0]).toBe(frames[0]);
  expect(remainder(frames, 3)).toEqual([frames[1], frames[2]]);
  expect(remainder(frames, 4)).toHaveLength(2);
  expect(remainder(frames, 9)).toEqual([]);
});

test("datasync and fsyncDir sync what they are given, and fail on what is not there", async () => {
  const file = path.join(dir, "f");
  fs.writeFileSync(file, "x");
  const fd = fs.openSync(file, "r+");
  await datasync(fd);
  fs.closeSync(fd);
  await expect(datasync(fd)).rejects.toThrow(/EBADF/);
  expect(() => fsyncDir(dir)).not.toThrow();
  expect(() => fsyncDir(path.join(dir, "none"))).toThrow(/ENOENT/);
});
