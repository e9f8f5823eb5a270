/**
 * A runner's segment writer (runtime/store/segment-writer.ts) in this process: group commit, allocation, a failed
 * write or sync, close, the fencing check. Fast enough for mutation testing; segment-log.test.ts covers segments
 * through the store and real crashes.
 */
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHook } from "node:async_hooks";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { datasync, FILL_CHUNK, QUEUED_BODY, SegmentWriter, TURN_BUDGET_MS, WRITE_CHUNK, type Item } from "../runtime/store/segment-writer";
import { entryHead, entryParts, Kind, scanSegment, SEGMENT_HEADER_SIZE } from "../runtime/store/segment-format";
import type { FsyncPolicy } from "../runtime/journal";
import { FileStore } from "../runtime/store/file-store";
import { activity, header } from "./store-contract";
import { tempDir } from "./helpers";

let dir: string;
let writer: SegmentWriter | undefined;
beforeEach(() => {
  dir = tempDir("segment-writer");
  syncs.length = 0;
  held = undefined;
  shortWrites = undefined;
  segmentWrites = undefined;
  fills.length = 0;
  shortFills = undefined;
});
const spied = Symbol.for("segment-writer.test spies");
afterEach(async () => {
  release();
  await writer?.close().catch(() => {});
  writer = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const MiB = 1 << 20;
const item = (session: string, text: string, extra: Partial<Item> = {}): Item => ({ head: entryHead(Kind.Record, 1, session), body: Buffer.from(text), value: text, ...extra });
const segment = (n: number) => path.join(dir, `r-${n}.seg`);
/** The bodies in segment `n`, by session, as a reader finds them. */
function bodies(n: number): string[] {
  const buf = fs.readFileSync(segment(n));
  return scanSegment(buf, 0, segment(n)).entries.map((e) => `${e.session}:${buf.toString("latin1", e.at, e.at + e.length)}`);
}

async function opened(fsync: FsyncPolicy, written: Array<{ value: unknown; segment: number; at: number }> = []): Promise<SegmentWriter> {
  writer = new SegmentWriter(dir, "r", fsync, (it, s, at) => written.push({ value: it.value, segment: s.n, at }));
  await writer.open();
  return writer;
}

/** The descriptor this process has open on `file`, if any. */
function descriptorOf(file: string): number | undefined {
  return fs.readdirSync("/proc/self/fd").map(Number).find((n) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${n}`) === file;
    } catch {
      return false;
    }
  });
}

/**
 * Puts `device` where the writer has segment `file` open: the same descriptor number, so its next writes and syncs go
 * there. /dev/null takes writes and refuses syncs (EINVAL); a file opened read-only refuses writes (EBADF).
 */
function swapDescriptor(file: string, device: string, flags: string): void {
  const fd = descriptorOf(file);
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

test("the first segment is zero-filled to 1 MiB and synced before use (under none: its header only), mode 0600, never over a file", async () => {
  for (const fsync of ["always", "batch", "none"] as const) {
    const sub = path.join(dir, fsync);
    fs.mkdirSync(sub);
    const w = new SegmentWriter(sub, "r", fsync, () => {});
    await w.open();
    const file = path.join(sub, "r-0.seg");
    expect(fs.statSync(file).size).toBe(fsync === "none" ? SEGMENT_HEADER_SIZE : MiB);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(scanSegment(fs.readFileSync(file), 0, file)).toEqual({ entries: [], end: SEGMENT_HEADER_SIZE, torn: 0, damage: [] });
    await w.close();
    await expect(new SegmentWriter(sub, "r", fsync, () => {}).open()).rejects.toThrow(/EEXIST/);
  }
});

test.each(["always", "batch"] as const)("%s: appends of many sessions made together all resolve, in the file and in append order, and the index is told where each body is", async (fsync) => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened(fsync, written);
  const texts = Array.from({ length: 40 }, (_, i) => `${i % 4}.${i}`);
  await Promise.all(texts.map((t) => w.append(item(`ses_${t[0]}`, t))));
  expect(bodies(0)).toEqual(texts.map((t) => `ses_${t[0]}:${t}`));
  const buf = fs.readFileSync(segment(0));
  expect(written.map((x) => x.value)).toEqual(texts);
  for (const x of written) expect(buf.toString("latin1", x.at, x.at + String(x.value).length)).toBe(x.value);
  // The file kept its allocated size: appends only overwrote zeros.
  expect(fs.statSync(segment(0)).size).toBe(MiB);
});

test.each(["always", "batch", "none"] as const)("%s: appendSync is in the file when it returns, after the appends made before it", async (fsync) => {
  const w = await opened(fsync);
  const p = w.append(item("ses_a", "async"));
  w.appendSync(item("ses_a", "sync"));
  expect(bodies(0)).toEqual(["ses_a:async", "ses_a:sync"]);
  await p;
});

test.each(["always", "batch", "none"] as const)("%s: appendThen tells its waiter when append's promise would resolve: after the entry's sync (under batch its write; under none at once, written on the next turn)", async (fsync) => {
  const w = await opened(fsync);
  let told = false;
  w.appendThen(item("ses_a", "then"), { resolve: () => (told = true), reject: (err) => expect.fail(String(err)) });
  expect(told).toBe(fsync === "none");
  while (!told) await new Promise((r) => setImmediate(r));
  if (fsync === "none") await new Promise((r) => setImmediate(r));
  expect(bodies(0)).toEqual(["ses_a:then"]);
});

test("none: entries are written on the next turn of the event loop, or at once by flushNow; notes go with them", async () => {
  const w = await opened("none");
  await w.append(item("ses_a", "a"));
  w.note(item("ses_a", "note"));
  expect(bodies(0)).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(bodies(0)).toEqual(["ses_a:a", "ses_a:note"]);
  void w.append(item("ses_a", "b"));
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_a:a", "ses_a:note", "ses_a:b"]);
});

test.each(["always", "batch", "none"] as const)("%s: close writes what is queued and waits for the sync of what was written, so every append resolves", async (fsync) => {
  for (let i = 0; i < 10; i++) {
    const sub = path.join(dir, `c${i}`);
    fs.mkdirSync(sub);
    const w = new SegmentWriter(sub, "r", fsync, () => {});
    await w.open();
    let resolved = false;
    const appended = w.append(item("ses_a", `v${i}`)).then(() => (resolved = true));
    w.note(item("ses_a", "note"));
    await w.close();
    // Before close returns: a caller that closes and exits has every append's answer.
    expect(resolved).toBe(true);
    await appended;
    const file = path.join(sub, "r-0.seg");
    expect(scanSegment(fs.readFileSync(file), 0, file).entries).toHaveLength(2);
  }
});

test.each(["always", "none"] as const)("%s: a round's entries of several sessions, kinds and fences are one write of what entryParts makes of each, and the index is told where each body is", async (fsync) => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened(fsync, written);
  const specs: Array<[Kind, number, string, string]> = [
    [Kind.Header, 1, "ses_a", "header a"],
    [Kind.Record, 1, "ses_b", "b1"],
    [Kind.Record, 1, "ses_a", "a1".repeat(40)],
    [Kind.Status, 3, "ses_b", ""],
    [Kind.Record, 3, "ses_b", "b2"],
    [Kind.Released, 1, "ses_a", "{}"],
  ];
  await Promise.all(specs.map(([kind, fence, session, text]) => w.append({ ...item(session, text), head: entryHead(kind, fence, session) })));
  w.flushNow();
  const expected = Buffer.concat(specs.flatMap(([kind, fence, session, text]) => entryParts(kind, fence, session, Buffer.from(text))));
  const file = fs.readFileSync(segment(0));
  expect(file.subarray(SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE + expected.length).equals(expected)).toBe(true);
  expect(written.map((x) => file.toString("latin1", x.at, x.at + String(x.value).length))).toEqual(specs.map((s) => s[3]));
});

test("a round longer than WRITE_CHUNK is copied and written a chunk at a time, an entry longer than a chunk alone", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("none", written);
  const texts = [..."abcdefgh"].map((c, i) => c.repeat(i === 5 ? WRITE_CHUNK + 10 : WRITE_CHUNK / 3));
  for (const [i, text] of texts.entries()) w.note(item(`ses_${i % 3}`, text));
  segmentWrites = [];
  shortWrites = 100_000;
  w.flushNow();
  shortWrites = undefined;
  const sizes = texts.map((t, i) => entryParts(Kind.Record, 1, `ses_${i % 3}`, Buffer.from(t)).reduce((n, b) => n + b.length, 0));
  // Each write short, and continued. Asked: two entries (a third would not fit), two, one (the long one would not
  // fit with it), the long one alone, two.
  expect(segmentWrites).toEqual([sizes[0] + sizes[1], sizes[2] + sizes[3], sizes[4], sizes[5], sizes[6] + sizes[7]]);
  expect(sizes[0] + sizes[1] + sizes[2]).toBeGreaterThan(WRITE_CHUNK);
  const expected = Buffer.concat(texts.flatMap((t, i) => entryParts(Kind.Record, 1, `ses_${i % 3}`, Buffer.from(t))));
  const file = fs.readFileSync(segment(0));
  expect(file.subarray(SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE + expected.length).equals(expected)).toBe(true);
  expect(written.map((x) => file.toString("latin1", x.at, x.at + String(x.value).length))).toEqual(texts);
});

test.each(["always", "batch", "none"] as const)("%s: entries of a shared item (appendBody) are written with their own bodies, in order with the others, and fail their lease's check", async (fsync) => {
  const written: string[] = [];
  writer = new SegmentWriter(dir, "r", fsync, (it, s, at, body) => written.push(`${it.head.session}:${body.toString("latin1")}@${at > SEGMENT_HEADER_SIZE}`));
  await writer.open();
  const w = writer;
  let stale = false;
  const lost = new Error("lease lost");
  const failed: unknown[] = [];
  const shared: Item = { head: entryHead(Kind.Record, 1, "ses_a"), body: QUEUED_BODY, value: undefined, check: () => { if (stale) throw lost; }, failed: (err) => failed.push(err) };
  const told = (body: string) => new Promise<void>((resolve, reject) => w.appendBody(shared, Buffer.from(body), { resolve, reject }));
  const first = [told("a1"), w.append(item("ses_b", "b1")), told("a2")];
  await Promise.all(first);
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_a:a1", "ses_b:b1", "ses_a:a2"]);
  expect(written).toEqual(["ses_a:a1@true", "ses_b:b1@true", "ses_a:a2@true"]);
  // The shared item is never handed a waiter of its own (each entry's waiter is told, once).
  expect(shared.waiter).toBeUndefined();
  stale = true;
  const refused = told("a3");
  const kept = w.append(item("ses_b", "b2"));
  if (fsync === "none") await refused;
  else await expect(refused).rejects.toBe(lost);
  await kept;
  w.flushNow();
  expect(failed).toEqual([lost]);
  expect(bodies(0)).toEqual(["ses_a:a1", "ses_b:b1", "ses_a:a2", "ses_b:b2"]);
});

test.each(["always", "batch", "none"] as const)("%s: a fencing check that throws fails its entries, which are not written; other sessions' entries in the round are", async (fsync) => {
  const w = await opened(fsync);
  const lost = new Error("lease lost");
  let checks = 0;
  const failed: unknown[] = [];
  const stale = { check: () => { checks++; throw lost; }, failed: (err: unknown) => failed.push(err) };
  let passed = 0;
  const held = { check: () => void passed++ };
  const stalePs = [w.append(item("ses_old", "x", stale)), w.append(item("ses_old", "y", stale))];
  const fresh = Promise.all([w.append(item("ses_new", "kept", held)), w.append(item("ses_new", "too", held))]);
  if (fsync === "none") {
    await Promise.all(stalePs);
    await new Promise((r) => setImmediate(r));
  } else {
    for (const p of stalePs) await expect(p).rejects.toBe(lost);
  }
  await fresh;
  expect(failed).toEqual([lost, lost]);
  // One check per lease per round, whether it passes or not.
  expect(checks).toBe(1);
  expect(passed).toBe(1);
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_new:kept", "ses_new:too"]);
  // The refusal is the lease's: the writer goes on.
  await w.append(item("ses_new", "after"));
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_new:kept", "ses_new:too", "ses_new:after"]);
  expect(() => w.appendSync(item("ses_old", "z", stale))).toThrow(lost);
});

test.each([false, true])("a sync that fails rejects the appends it was for (appendSync: %s), and every later call, and close", async (sync) => {
  const w = await opened("always");
  await w.append(item("ses_a", "synced"));
  swapDescriptor(segment(0), "/dev/null", "r+");
  // Queued before appendSync, which writes it too: its sync fails for it as well.
  const earlier = sync ? w.append(item("ses_a", "earlier")) : undefined;
  if (sync) expect(() => w.appendSync(item("ses_a", "x"))).toThrow(/EINVAL/);
  else await expect(w.append(item("ses_a", "x"))).rejects.toThrow(/EINVAL/);
  if (earlier) await expect(earlier).rejects.toThrow(/EINVAL/);
  // At once: the failure is kept, not found again by a later write or sync.
  expect(() => w.note(item("ses_a", "later"))).toThrow(/EINVAL/);
  await expect(w.append(item("ses_a", "later"))).rejects.toThrow(/EINVAL/);
  expect(() => w.appendSync(item("ses_a", "later"))).toThrow(/EINVAL/);
  expect(() => w.note(item("ses_a", "later"))).toThrow(/EINVAL/);
  await expect(w.synced()).rejects.toThrow(/EINVAL/);
  await expect(w.close()).rejects.toThrow(/EINVAL/);
  writer = undefined;
});

test("synced() resolves after a sync that covers what was written before it, notes too", async () => {
  const w = await opened("always");
  w.note(item("ses_a", "header"));
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_a:header"]);
  await w.synced();
  // Syncs now fail: a synced() that resolved without syncing would pass here.
  swapDescriptor(segment(0), "/dev/null", "r+");
  w.note(item("ses_a", "more"));
  w.flushNow();
  await expect(w.synced()).rejects.toThrow(/EINVAL/);
  await expect(w.close()).rejects.toThrow(/EINVAL/);
  writer = undefined;
});

test("none: synced() resolves at once, syncing nothing", async () => {
  const none = await opened("none");
  none.note(item("ses_b", "header"));
  none.flushNow();
  swapDescriptor(segment(0), "/dev/null", "r+");
  await none.synced();
});

test("a write that fails rejects its appends and every later one", async () => {
  const w = await opened("batch");
  const failed: unknown[] = [];
  swapDescriptor(segment(0), segment(0), "r");
  await expect(w.append(item("ses_a", "x", { failed: (err) => failed.push(err) }))).rejects.toThrow(/EBADF/);
  expect(failed).toHaveLength(1);
  await expect(w.append(item("ses_a", "later"))).rejects.toThrow(/EBADF/);
  await expect(w.close()).rejects.toThrow(/EBADF/);
  writer = undefined;
});

test("past half of a segment the next one is prepared, twice as big; a full segment rolls over to it", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  const big = (c: string) => c.repeat(300 * 1024);
  for (const c of "abc") await w.append(item("ses_a", big(c)));
  // Past half: the next segment is created, zero-filled and synced off the event loop; it is taken once it is ready.
  const ready = () => (w as unknown as { next?: { n: number } }).next?.n === 1;
  while (!ready()) await new Promise((r) => setTimeout(r, 5));
  expect(fs.statSync(segment(1)).size).toBe(2 * MiB);
  await w.append(item("ses_a", big("d")));
  expect(written.map((x) => x.segment)).toEqual([0, 0, 0, 1]);
  expect(bodies(0).map((b) => b.slice(0, 7))).toEqual(["ses_a:a", "ses_a:b", "ses_a:c"]);
  expect(bodies(1).map((b) => b.slice(0, 7))).toEqual(["ses_a:d"]);
  expect(fs.statSync(segment(0)).size).toBe(MiB);
  expect(fs.statSync(segment(1)).size).toBe(2 * MiB);
});

test("datasync syncs what it is given, and fails on a closed file", async () => {
  const file = path.join(dir, "f");
  fs.writeFileSync(file, "x");
  const fd = fs.openSync(file, "r+");
  await datasync(fd);
  fs.closeSync(fd);
  await expect(datasync(fd)).rejects.toThrow(/EBADF/);
});

/**
 * The writer's data syncs, seen through node:fs: every fdatasync (on the thread pool) and fdatasyncSync (on the main
 * thread) still runs, and is logged by file. While `held` is set, a thread-pool sync's completion waits in it until
 * the test lets it go: that is "while a sync runs", without timing.
 */
const syncs: string[] = [];
let held: Array<() => void> | undefined;
/** While set, each writeSync of a segment writes at most this many bytes, as a write the kernel takes in part. */
let shortWrites: number | undefined;
/** While set, the length asked of each writeSync of a segment from its buffer's start (not a short write's rest). */
let segmentWrites: number[] | undefined;
/** The thread-pool writes of segments (their zero fill), as [position, length]; while `shortFills` is set each takes at most that many bytes. */
const fills: Array<[number, number]> = [];
let shortFills: number | undefined;
const nodeFs = createRequire(__filename)("node:fs") as typeof fs & { [spied]?: true };
const fileOf = (fd: number) => {
  try {
    return path.basename(fs.readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return "closed";
  }
};
if (!nodeFs[spied]) {
  const { fdatasync, fdatasyncSync, writeSync, write } = nodeFs;
  // Segments only: the test runner's own files are none of the writer's.
  nodeFs.fdatasync = ((fd: number, done: (err: NodeJS.ErrnoException | null) => void) => {
    const file = fileOf(fd);
    if (!file.endsWith(".seg")) return fdatasync(fd, done);
    syncs.push(`async ${file}`);
    fdatasync(fd, (err) => (held ? held.push(() => done(err)) : done(err)));
  }) as typeof fs.fdatasync;
  nodeFs.fdatasyncSync = (fd: number) => {
    const file = fileOf(fd);
    if (file.endsWith(".seg")) syncs.push(`sync ${file}`);
    fdatasyncSync(fd);
  };
  nodeFs.writeSync = ((...args: Parameters<typeof fs.writeSync>) => {
    if ((shortWrites === undefined && segmentWrites === undefined) || !fileOf(args[0]).endsWith(".seg")) return (writeSync as Function)(...args);
    const [fd, buffer, offset, length, position] = args as unknown as [number, Buffer, number, number, number];
    // A write continued after a short one starts past the buffer's start.
    if (offset === 0) segmentWrites?.push(length);
    return writeSync(fd, buffer, offset, Math.min(length, shortWrites ?? length), position);
  }) as typeof fs.writeSync;
  nodeFs.write = ((fd: number, buffer: Buffer, offset: number, length: number, position: number, done: (err: NodeJS.ErrnoException | null, written: number) => void) => {
    if (!fileOf(fd).endsWith(".seg")) return (write as Function)(fd, buffer, offset, length, position, done);
    const taken = Math.min(length, shortFills ?? length);
    fills.push([position, taken]);
    write(fd, buffer, offset, taken, position, done);
  }) as typeof fs.write;
  nodeFs[spied] = true;
  syncBuiltinESMExports();
}
const turn = () => new Promise((r) => setImmediate(r));
/** Lets the held syncs complete, and syncs that complete later complete at once. */
function release(): void {
  const waiting = held ?? [];
  held = undefined;
  for (const done of waiting) done();
}
/** Lets the first held sync complete, once the disk has done it. */
async function completeOne(): Promise<void> {
  for (let i = 0; held!.length === 0; i++) {
    expect(i).toBeLessThan(10_000);
    await new Promise((r) => setTimeout(r, 1));
  }
  held!.shift()!();
}
/** Turns of the event loop until `n` syncs were started (each turn lets a round start). */
async function syncsStarted(n: number): Promise<void> {
  for (let i = 0; syncs.length < n; i++) {
    expect(i).toBeLessThan(1000);
    await turn();
  }
}

test.each(["always", "batch"] as const)("%s: appends made while a sync runs are not told durable by it: they share the next one (under batch, durable ones)", async (fsync) => {
  const w = await opened(fsync);
  held = [];
  const resolved: string[] = [];
  const a = w.append(item("ses_a", "a", { durable: true })).then(() => resolved.push("a"));
  await syncsStarted(1);
  const later = ["b", "c"].map((t) => w.append(item(`ses_${t}`, t, { durable: true })).then(() => resolved.push(t)));
  for (let i = 0; i < 5; i++) await turn();
  expect(syncs).toEqual(["async r-0.seg"]);
  expect(resolved).toEqual([]);
  // Only the first sync completes.
  await completeOne();
  await a;
  await syncsStarted(2);
  expect(resolved).toEqual(["a"]);
  release();
  await Promise.all(later);
  expect(resolved).toEqual(["a", "b", "c"]);
  expect(syncs).toEqual(["async r-0.seg", "async r-0.seg"]);
  expect(bodies(0)).toEqual(["ses_a:a", "ses_b:b", "ses_c:c"]);
});

test.each(["always", "batch", "none"] as const)("%s: writeSoon writes with the next round, after what was queued before it, and tells its waiter once written, with no sync", async (fsync) => {
  const w = await opened(fsync);
  held = [];
  const told: string[] = [];
  expect(w.roundDue()).toBe(false);
  const other = w.append(item("ses_a", "step", { durable: true })).then(() => told.push("step"));
  expect(w.roundDue()).toBe(true);
  w.writeSoon([item("ses_b", "header"), item("ses_b", "attempt")], { resolve: () => told.push("created"), reject: (err) => told.push(`failed: ${err}`) });
  expect(bodies(0)).toEqual([]);
  expect(told).toEqual([]);
  await turn();
  expect(bodies(0)).toEqual(["ses_a:step", "ses_b:header", "ses_b:attempt"]);
  expect(w.roundDue()).toBe(false);
  // Every sync is held: the creation was told without one, the durable step (under none, told at once) waits for it.
  expect(told).toEqual(fsync === "none" ? ["step", "created"] : ["created"]);
  release();
  await other;
  expect(told).toContain("step");
});

test("writeSoon on a writer whose write failed rejects its waiter at once", async () => {
  const w = await opened("batch");
  swapDescriptor(segment(0), "/proc/self/cmdline", "r");
  await expect(w.append(item("ses_a", "a"))).rejects.toThrow();
  const outcome = await new Promise((resolve) => w.writeSoon([item("ses_b", "header")], { resolve: () => resolve("written"), reject: resolve }));
  expect(outcome).toBeInstanceOf(Error);
});

test("a lone append of the only session syncs on the main thread under always; two appends, other sessions, or batch sync on the thread pool", async () => {
  const cases = [["always", true, 1, "sync"], ["always", true, 2, "async"], ["always", false, 1, "async"], ["batch", true, 1, "async"]] as const;
  for (const [i, [fsync, solo, n, how]] of cases.entries()) {
    const sub = path.join(dir, `s${i}`);
    fs.mkdirSync(sub);
    const w = new SegmentWriter(sub, "r", fsync, () => {}, () => solo);
    await w.open();
    syncs.length = 0;
    await Promise.all(Array.from({ length: n }, (_, k) => w.append(item("ses_a", `${k}`))));
    expect(syncs).toEqual([`${how} r-0.seg`]);
    await w.close();
  }
});

test("always: a lone session's round, synced on the main thread, makes no promise between its append and its waiter", async () => {
  const w = (writer = new SegmentWriter(dir, "r", "always", () => {}, () => true));
  await w.open();
  let counting = false;
  let promises = 0;
  const hook = createHook({ init: (_id, type) => void (counting && type === "PROMISE" && promises++) }).enable();
  try {
    await new Promise<void>((resolve, reject) => {
      // From the turn the round runs in (this callback runs before it), so the test's own await is not counted.
      setImmediate(() => (counting = true));
      w.appendThen(item("ses_a", "one"), { resolve: () => resolve(void (counting = false)), reject });
    });
  } finally {
    hook.disable();
  }
  expect(promises).toBe(0);
  expect(bodies(0)).toEqual(["ses_a:one"]);
});

test("always: a lone session's rounds follow one another without a turn of the event loop for TURN_BUDGET_MS, then take one; with other sessions every round waits for a turn", async () => {
  // The budget's clock, and only it, is the test's: how long a real sync takes does not decide what is checked.
  vi.useFakeTimers({ toFake: ["performance"] });
  try {
    for (const solo of [true, false]) {
      const sub = path.join(dir, `t-${solo}`);
      fs.mkdirSync(sub);
      const w = new SegmentWriter(sub, "r", "always", () => {}, () => solo);
      await w.open();
      syncs.length = 0;
      await w.append(item("ses_a", "first"));
      let turned = false;
      setImmediate(() => (turned = true));
      await w.append(item("ses_a", "second"));
      await w.append(item("ses_a", "third"));
      expect(turned).toBe(!solo);
      vi.advanceTimersByTime(TURN_BUDGET_MS);
      turned = false;
      setImmediate(() => (turned = true));
      await w.append(item("ses_a", "fourth"));
      expect(turned).toBe(true);
      // Each append was synced before it resolved, turn or not.
      expect(syncs).toEqual(Array.from({ length: 4 }, () => `${solo ? "sync" : "async"} r-0.seg`));
      await w.close();
    }
  } finally {
    vi.useRealTimers();
  }
});

test.each(["always", "batch"] as const)("%s: close while a sync runs waits for it, then writes (under batch: written already) and syncs what came after it", async (fsync) => {
  const w = await opened(fsync);
  held = [];
  const a = w.append(item("ses_a", "a", { durable: true }));
  await syncsStarted(1);
  const b = w.append(item("ses_b", "b", { durable: true }));
  let closed = false;
  const closing = w.close().then(() => (closed = true));
  writer = undefined;
  for (let i = 0; i < 5; i++) await turn();
  // Nothing is synced beside the running sync; under batch writes go on meanwhile.
  expect(syncs).toEqual(["async r-0.seg"]);
  expect(bodies(0)).toEqual(fsync === "batch" ? ["ses_a:a", "ses_b:b"] : ["ses_a:a"]);
  expect(closed).toBe(false);
  release();
  await closing;
  await Promise.all([a, b]);
  expect(syncs).toEqual(["async r-0.seg", "async r-0.seg"]);
  expect(bodies(0)).toEqual(["ses_a:a", "ses_b:b"]);
});

test("none: appendSync, synced() and close sync nothing, and a failed write fails the appends after it", async () => {
  const w = await opened("none");
  w.appendSync(item("ses_a", "a"));
  await w.synced();
  // Nothing waits for a sync under `none`: appendSync's waiter is not kept for one (it was, for the process's life).
  expect((w as unknown as { written: unknown[] }).written).toEqual([]);
  await w.close();
  expect(syncs).toEqual([]);
  fs.rmSync(segment(0));
  const v = await opened("none");
  swapDescriptor(segment(0), segment(0), "r");
  await v.append(item("ses_a", "x"));
  await turn();
  await expect(v.append(item("ses_a", "later"))).rejects.toThrow(/EBADF/);
  await expect(v.close()).rejects.toThrow(/EBADF/);
  writer = undefined;
});

test("a round of notes only is written and not synced; a later append's sync covers them, and close syncs those left", async () => {
  const w = await opened("always");
  w.note(item("ses_a", "n1"));
  for (let i = 0; i < 3; i++) await turn();
  expect(bodies(0)).toEqual(["ses_a:n1"]);
  expect(syncs).toEqual([]);
  await w.append(item("ses_a", "a"));
  expect(syncs).toEqual(["async r-0.seg"]);
  w.note(item("ses_a", "n2"));
  for (let i = 0; i < 3; i++) await turn();
  expect(syncs).toHaveLength(1);
  await w.close();
  writer = undefined;
  expect(syncs).toEqual(["async r-0.seg", "async r-0.seg"]);
  expect(bodies(0)).toEqual(["ses_a:n1", "ses_a:a", "ses_a:n2"]);
});

test.each(["always", "batch"] as const)("%s: an append closed before its round starts is told durable only after its sync completes (under batch, a durable one)", async (fsync) => {
  const w = await opened(fsync);
  held = [];
  let resolved = false;
  const a = w.append(item("ses_a", "a", { durable: true })).then(() => (resolved = true));
  const closing = w.close();
  writer = undefined;
  await syncsStarted(1);
  for (let i = 0; i < 5; i++) await turn();
  expect(resolved).toBe(false);
  release();
  await closing;
  await a;
  expect(syncs).toEqual(["async r-0.seg"]);
});

const big = (c: string) => c.repeat(300 * 1024);
/** Appends 300 KiB entries, one for each of `chars`, then waits until the next segment is ready. */
async function nextReady(w: SegmentWriter, chars: string): Promise<void> {
  for (const c of chars) await w.append(item("ses_a", big(c)));
  while ((w as unknown as { next?: { n: number } }).next?.n !== 1) await new Promise((r) => setTimeout(r, 5));
}

test("a segment is prepared only past its half; an entry that fills the current one exactly stays in it; a full one is sealed and closed once its writes are synced", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const sealed: Array<[number, number]> = [];
  const onWritten = (it: Item, s: { n: number }, at: number) => written.push({ value: it.value, segment: s.n, at });
  const w = (writer = new SegmentWriter(dir, "r", "always", onWritten, () => false, async (s, size) => void sealed.push([s.n, size])));
  await w.open();
  const inside = w as unknown as { preparing?: Promise<void>; current: { offset: number } };
  await w.append(item("ses_a", big("a")));
  expect(inside.preparing).toBeUndefined();
  await nextReady(w, "bc");
  // An entry exactly as long as the room left, the next segment ready.
  const room = MiB - inside.current.offset;
  const headSize = entryParts(Kind.Record, 1, "ses_a", Buffer.alloc(0))[0].length;
  await w.append(item("ses_a", "e".repeat(room - headSize)));
  expect(fs.statSync(segment(0)).size).toBe(MiB);
  expect(sealed).toEqual([]);
  await w.append(item("ses_a", "d"));
  expect(written.map((x) => x.segment)).toEqual([0, 0, 0, 0, 1]);
  // Segment 0's writes were synced by the round before: it is sealed and its descriptor closed.
  expect(sealed).toEqual([[0, MiB]]);
  expect(descriptorOf(segment(0))).toBeUndefined();
  await w.close();
  writer = undefined;
  expect(sealed).toEqual([[0, MiB], [1, 2 * MiB]]);
  expect(descriptorOf(segment(1))).toBeUndefined();
  expect(bodies(0).map((b) => b.slice(0, 7))).toEqual(["ses_a:a", "ses_a:b", "ses_a:c", "ses_a:e"]);
  expect(bodies(1)).toEqual(["ses_a:d"]);
});

test("a full segment written again while a sync runs is sealed only once a later sync covers it", async () => {
  const sealed: number[] = [];
  const w = (writer = new SegmentWriter(dir, "r", "always", () => {}, () => false, async (s) => void sealed.push(s.n)));
  await w.open();
  await nextReady(w, "abc");
  syncs.length = 0;
  held = [];
  const a = w.append(item("ses_a", "a"));
  await syncsStarted(1);
  // While it runs: a note into segment 0, and one that does not fit there, so segment 0 is full and not synced.
  w.note(item("ses_a", "n1"));
  w.flushNow();
  w.note(item("ses_a", big("n")));
  w.flushNow();
  expect(bodies(1).map((b) => b.slice(0, 7))).toEqual(["ses_a:n"]);
  release();
  await a;
  expect(sealed).toEqual([]);
  await w.append(item("ses_a", "b"));
  expect(sealed).toEqual([0]);
  expect(bodies(0).slice(-2)).toEqual(["ses_a:a", "ses_a:n1"]);
});

test("an append queued while a sync runs that then fails is neither written nor told to the index", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  swapDescriptor(segment(0), "/dev/null", "r+");
  const a = w.append(item("ses_a", "a"));
  // One turn: the round has written `a` and its sync is on the thread pool.
  await turn();
  const b = w.append(item("ses_a", "b"));
  await expect(a).rejects.toThrow(/EINVAL/);
  await expect(b).rejects.toThrow(/EINVAL/);
  expect(written.map((x) => x.value)).toEqual(["a"]);
  await expect(w.close()).rejects.toThrow(/EINVAL/);
  writer = undefined;
});

test.each(["always", "batch"] as const)("%s: a round whose entries all fail their fencing check syncs nothing", async (fsync) => {
  const w = await opened(fsync);
  const lost = new Error("lease lost");
  const stale = { check: () => { throw lost; } };
  await expect(w.append(item("ses_old", "x", stale))).rejects.toBe(lost);
  await expect(w.synced()).resolves.toBeUndefined();
  expect(syncs).toEqual([]);
  expect(bodies(0)).toEqual([]);
});

test("a next segment that cannot be created is tried again by a later round; writes go on in the current one meanwhile", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  // A stray file where segment 1 would go: its creation fails (EEXIST).
  fs.writeFileSync(segment(1), "stray");
  for (const c of "abc") await w.append(item("ses_a", big(c)));
  // Each round past half tries again while no attempt is under way.
  while ((w as unknown as { next?: { n: number } }).next?.n !== 2) {
    await w.append(item("ses_a", "small"));
    await new Promise((r) => setTimeout(r, 5));
  }
  await w.append(item("ses_a", big("d")));
  const segments = written.map((x) => x.segment);
  expect(segments.slice(0, -1).every((n) => n === 0)).toBe(true);
  expect(segments.at(-1)).toBe(2);
  expect(fs.readFileSync(segment(1), "latin1")).toBe("stray");
  expect(fs.statSync(segment(2)).size).toBe(4 * MiB);
});

test("a segment is zero-filled in writes within one FILL_CHUNK each (small page-cache folios), a short one continued where it stopped", async () => {
  for (const short of [undefined, 5000]) {
    const sub = path.join(dir, `fill-${short}`);
    fs.mkdirSync(sub);
    fills.length = 0;
    shortFills = short;
    const w = new SegmentWriter(sub, "r", "always", () => {});
    await w.open();
    shortFills = undefined;
    const file = path.join(sub, "r-0.seg");
    expect(fs.statSync(file).size).toBe(MiB);
    expect(scanSegment(fs.readFileSync(file), 0, file)).toEqual({ entries: [], end: SEGMENT_HEADER_SIZE, torn: 0, damage: [] });
    // One after another from the start to the end, none across a multiple of FILL_CHUNK.
    let end = 0;
    for (const [at, length] of fills) {
      expect(at).toBe(end);
      expect(Math.floor(at / FILL_CHUNK)).toBe(Math.floor((at + length - 1) / FILL_CHUNK));
      end += length;
    }
    expect(end).toBe(MiB);
    if (short === undefined) expect(fills).toHaveLength(MiB / FILL_CHUNK);
    await w.close();
  }
});

test("a write the file takes in part is continued where it stopped: every entry is whole, where the index was told", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  shortWrites = 7;
  const texts = ["first", "second ".repeat(10), "third"];
  await Promise.all(texts.map((t) => w.append(item("ses_a", t))));
  w.appendSync(item("ses_b", "sync"));
  shortWrites = undefined;
  expect(bodies(0)).toEqual([...texts.map((t) => `ses_a:${t}`), "ses_b:sync"]);
  const buf = fs.readFileSync(segment(0));
  expect(written.map((x) => buf.toString("latin1", x.at, x.at + String(x.value).length))).toEqual([...texts, "sync"]);
});

test("past half of a segment the next one is created once, however many writes come before it is ready", async () => {
  const w = await opened("always");
  w.note(item("ses_a", big("a").repeat(2)));
  w.flushNow();
  // Each of these writes is past half, in this step: the first creation is under way for all but the first.
  for (let i = 0; i < 5; i++) {
    w.note(item("ses_a", `${i}`));
    w.flushNow();
  }
  await w.close();
  writer = undefined;
  expect(fs.readdirSync(dir).sort()).toEqual(["r-0.seg", "r-1.seg"]);
  expect(fs.statSync(segment(1)).size).toBe(2 * MiB);
});

test("a sync that fails at close fails the close, and nothing is sealed", async () => {
  const sealed: number[] = [];
  const w = (writer = new SegmentWriter(dir, "r", "always", () => {}, () => false, async (s) => void sealed.push(s.n)));
  await w.open();
  w.note(item("ses_a", "note"));
  w.flushNow();
  swapDescriptor(segment(0), "/dev/null", "r+");
  await expect(w.close()).rejects.toThrow(/EINVAL/);
  writer = undefined;
  expect(sealed).toEqual([]);
});

test("a segment whose size cannot be read at close is not sealed", async () => {
  const sealed: Array<[number, number]> = [];
  const w = (writer = new SegmentWriter(dir, "r", "none", () => {}, () => false, async (s, size) => void sealed.push([s.n, size])));
  await w.open();
  // Its descriptor closed behind the writer's back: fstat fails, and so does the writer's own close of it.
  fs.closeSync(descriptorOf(segment(0))!);
  await expect(w.close()).rejects.toThrow(/EBADF/);
  writer = undefined;
  expect(sealed).toEqual([]);
});

test("creating a segment leaves no descriptor open on its folder", async () => {
  const w = await opened("always");
  await w.close();
  writer = undefined;
  expect(descriptorOf(dir)).toBeUndefined();
});

test.each([["batch", 2], ["always", 3]] as const)("%s: a session a sync lets go appends again, and joins the appends made during that sync in the next round under batch (syncs: %i)", async (fsync, n) => {
  const w = await opened(fsync);
  held = [];
  const a = w.append(item("ses_a", "a1", { durable: true })).then(() => w.append(item("ses_a", "a2", { durable: true })));
  await syncsStarted(1);
  const b = w.append(item("ses_b", "b1", { durable: true }));
  for (let i = 0; i < 3; i++) await turn();
  release();
  await Promise.all([a, b]);
  expect(syncs).toHaveLength(n);
  expect(bodies(0)).toEqual(["ses_a:a1", "ses_b:b1", "ses_a:a2"]);
});

test("a lone append whose round finds two segments written since the last sync syncs both", async () => {
  const segments: number[] = [];
  const w = (writer = new SegmentWriter(dir, "r", "always", (_, s) => segments.push(s.n), () => true));
  await w.open();
  // Notes are written and not synced. Past half, the next segment is prepared; notes that do not fit go on past
  // segment 0's end until it is ready, then into it.
  w.note(item("ses_a", big("a").repeat(2)));
  w.flushNow();
  for (let i = 0; segments.at(-1) !== 1; i++) {
    expect(i).toBeLessThan(2000);
    await new Promise((r) => setTimeout(r, 5));
    w.note(item("ses_a", big("n")));
    w.flushNow();
  }
  expect(syncs).toEqual([]);
  await w.append(item("ses_a", "a"));
  expect(syncs.sort()).toEqual(["async r-0.seg", "async r-1.seg"]);
});

test("an entry that does not fit while the next segment is not ready goes on past the current one's end, whole", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  // In one step: the second write finds the next segment still being created.
  w.note(item("ses_a", big("a").repeat(2)));
  w.flushNow();
  w.note(item("ses_a", big("b").repeat(2)));
  w.flushNow();
  expect(written.map((x) => x.segment)).toEqual([0, 0]);
  expect(fs.statSync(segment(0)).size).toBeGreaterThan(MiB);
  expect(bodies(0).map((b) => b.length)).toEqual([6 + 600 * 1024, 6 + 600 * 1024]);
});

test("an entry the next segment cannot hold whole stays in the current one, past its end; one that fills the next exactly goes there", async () => {
  const written: Array<{ value: unknown; segment: number; at: number }> = [];
  const w = await opened("always", written);
  await nextReady(w, "abc");
  const room = 2 * MiB - SEGMENT_HEADER_SIZE - entryParts(Kind.Record, 1, "ses_a", Buffer.alloc(0))[0].length;
  await w.append(item("ses_a", "x".repeat(room + 1)));
  expect(written.at(-1)!.segment).toBe(0);
  await w.append(item("ses_a", "y".repeat(room)));
  expect(written.at(-1)!.segment).toBe(1);
  expect(fs.statSync(segment(1)).size).toBe(2 * MiB);
  expect(bodies(1).map((b) => b.length)).toEqual([6 + room]);
});

test("a write that fails with notes in it: the append written with them fails with the write's error", async () => {
  const w = await opened("batch");
  const failed: unknown[] = [];
  swapDescriptor(segment(0), segment(0), "r");
  w.note(item("ses_a", "note", { failed: (err) => failed.push(err) }));
  w.note(item("ses_a", "quiet"));
  expect(() => w.appendSync(item("ses_a", "x"))).toThrow(/EBADF/);
  expect(failed).toEqual([expect.objectContaining({ code: "EBADF" })]);
  await expect(w.close()).rejects.toThrow(/EBADF/);
  writer = undefined;
});

test("batch: a step's append is told once written, before any sync completes; a durable append and synced() wait for a sync that began after their write", async () => {
  const w = await opened("batch");
  held = [];
  const told: string[] = [];
  const a = w.append(item("ses_a", "a")).then(() => told.push("a"));
  const end = w.append(item("ses_b", "end", { durable: true })).then(() => told.push("end"));
  await a;
  // Written (a SIGKILL keeps it: the page cache has it), its sync started and not completed.
  expect(bodies(0)).toEqual(["ses_a:a", "ses_b:end"]);
  expect(syncs).toEqual(["async r-0.seg"]);
  // While that sync runs, another append is written and told; synced() waits for the next sync.
  const c = w.append(item("ses_c", "c")).then(() => told.push("c"));
  const synced = w.synced().then(() => told.push("synced"));
  await c;
  expect(bodies(0)).toEqual(["ses_a:a", "ses_b:end", "ses_c:c"]);
  expect(told).toEqual(["a", "c"]);
  await completeOne();
  await end;
  await syncsStarted(2);
  for (let i = 0; i < 3; i++) await turn();
  expect(told).toEqual(["a", "c", "end"]);
  release();
  await synced;
  expect(syncs).toEqual(["async r-0.seg", "async r-0.seg"]);
});

test("batch: appendSync writes and returns without a sync; a sync on the thread pool follows", async () => {
  const w = await opened("batch");
  w.appendSync(item("ses_a", "sync"));
  expect(bodies(0)).toEqual(["ses_a:sync"]);
  expect(syncs).toEqual([]);
  await syncsStarted(1);
  expect(syncs).toEqual(["async r-0.seg"]);
});

test("batch: a sync that fails fails the durable appends waiting for one, and every later call", async () => {
  const w = await opened("batch");
  swapDescriptor(segment(0), "/dev/null", "r+");
  // Written (to /dev/null, which takes writes), so told; the sync that follows fails.
  await w.append(item("ses_a", "written"));
  await expect(w.append(item("ses_a", "end", { durable: true }))).rejects.toThrow(/EINVAL/);
  await expect(w.append(item("ses_a", "later"))).rejects.toThrow(/EINVAL/);
  await expect(w.synced()).rejects.toThrow(/EINVAL/);
  await expect(w.close()).rejects.toThrow(/EINVAL/);
  writer = undefined;
});

test("batch, through the store: a creation is acknowledged, an event's file removed and a finish's `durable` told only after a sync that began after their write; a step's append before", async () => {
  const location = path.join(dir, "store");
  const store = new FileStore(location, "batch");
  try {
    // The first create opens the segment (made on the thread pool, for many turns): done before syncs are held.
    await store.create(header(), "r");
    syncs.length = 0;
    held = [];
    let created = false;
    const creating = store.create(header(), "r", { t: "attempt", attempt: 1, at: 1 }).then((lease) => ((created = true), lease));
    await syncsStarted(1);
    for (let i = 0; i < 3; i++) await turn();
    expect(created).toBe(false);
    await completeOne();
    const lease = await creating;
    // A step: told while the sync that follows its write is held.
    await lease.append(activity(1));
    await syncsStarted(2);
    await store.deliver(lease.id, "go", 1);
    const inbox = store.inbox(lease.id, new Set());
    const got = (await inbox.take("go", undefined))!;
    await lease.append({ t: "event", seq: 2, name: "go", value: 1, at: 2, id: got.id });
    const file = path.join(location, "sessions", `${lease.id}.inbox`, got.id);
    const consuming = inbox.consumed(got.id);
    await completeOne();
    await syncsStarted(3);
    for (let i = 0; i < 3; i++) await turn();
    // The second sync began before the event's entry was written: the file stays until the third.
    expect(fs.existsSync(file)).toBe(true);
    await completeOne();
    await consuming;
    expect(fs.existsSync(file)).toBe(false);
    let answered = false;
    const finishing = lease.finish({ t: "end", ok: true, result: 1, at: 3 }, "completed", {}, () => (answered = true));
    await syncsStarted(4);
    for (let i = 0; i < 3; i++) await turn();
    expect(answered).toBe(false);
    await completeOne();
    await finishing;
    expect(answered).toBe(true);
    expect(syncs).toHaveLength(4);
  } finally {
    release();
    await store.close();
  }
});
