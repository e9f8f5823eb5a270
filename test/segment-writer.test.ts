/**
 * A runner's segment writer (runtime/store/segment-writer.ts) in this process: group commit, allocation, a failed
 * write or sync, close, the fencing check. Fast enough for mutation testing; segment-log.test.ts covers segments
 * through the store and real crashes.
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { datasync, remainder, SegmentWriter, type Item } from "../runtime/store/segment-writer";
import { Kind, scanSegment, SEGMENT_HEADER_SIZE } from "../runtime/store/segment-format";
import type { FsyncPolicy } from "../runtime/journal";
import { tempDir } from "./helpers";

let dir: string;
let writer: SegmentWriter | undefined;
beforeEach(() => (dir = tempDir("segment-writer")));
afterEach(async () => {
  await writer?.close().catch(() => {});
  writer = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

const MiB = 1 << 20;
const item = (session: string, text: string, extra: Partial<Item> = {}): Item => ({ kind: Kind.Record, fence: 1, session, body: Buffer.from(text), value: text, ...extra });
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

/**
 * Puts `device` where the writer has segment `file` open: the same descriptor number, so its next writes and syncs go
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
    const appended = w.append(item("ses_a", `v${i}`));
    w.note(item("ses_a", "note"));
    await w.close();
    await expect(appended).resolves.toBeUndefined();
    const file = path.join(sub, "r-0.seg");
    expect(scanSegment(fs.readFileSync(file), 0, file).entries).toHaveLength(2);
  }
});

test.each(["always", "batch", "none"] as const)("%s: a fencing check that throws fails its entries, which are not written; other sessions' entries in the round are", async (fsync) => {
  const w = await opened(fsync);
  const lost = new Error("lease lost");
  let checks = 0;
  const failed: unknown[] = [];
  const stale = { check: () => { checks++; throw lost; }, failed: (err: unknown) => failed.push(err) };
  const stalePs = [w.append(item("ses_old", "x", stale)), w.append(item("ses_old", "y", stale))];
  const fresh = w.append(item("ses_new", "kept", { check: () => {} }));
  if (fsync === "none") {
    await Promise.all(stalePs);
    await new Promise((r) => setImmediate(r));
  } else {
    for (const p of stalePs) await expect(p).rejects.toBe(lost);
  }
  await fresh;
  expect(failed).toEqual([lost, lost]);
  // One check per lease per round.
  expect(checks).toBe(1);
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_new:kept"]);
  // The refusal is the lease's: the writer goes on.
  await w.append(item("ses_new", "after"));
  w.flushNow();
  expect(bodies(0)).toEqual(["ses_new:kept", "ses_new:after"]);
  expect(() => w.appendSync(item("ses_old", "z", stale))).toThrow(lost);
});

test.each([false, true])("a sync that fails rejects the appends it was for (appendSync: %s), and every later call, and close", async (sync) => {
  const w = await opened("always");
  await w.append(item("ses_a", "synced"));
  swapDescriptor(segment(0), "/dev/null", "r+");
  if (sync) expect(() => w.appendSync(item("ses_a", "x"))).toThrow(/EINVAL/);
  else await expect(w.append(item("ses_a", "x"))).rejects.toThrow(/EINVAL/);
  await expect(w.append(item("ses_a", "later"))).rejects.toThrow(/EINVAL/);
  expect(() => w.appendSync(item("ses_a", "later"))).toThrow(/EINVAL/);
  expect(() => w.note(item("ses_a", "later"))).toThrow(/EINVAL/);
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

test("remainder() gives the parts after the bytes written, cutting into the first one not written whole", () => {
  const parts = [Buffer.from("abc"), Buffer.from("de"), Buffer.from("fghi")];
  const joined = (bufs: Buffer[]) => Buffer.concat(bufs).toString();
  for (let written = 0; written <= 9; written++) expect(joined(remainder(parts, written))).toBe("abcdefghi".slice(written));
  expect(remainder(parts, 0)[0]).toBe(parts[0]);
  expect(remainder(parts, 3)).toEqual([parts[1], parts[2]]);
  expect(remainder(parts, 4)).toHaveLength(2);
  expect(remainder(parts, 9)).toEqual([]);
});

test("datasync syncs what it is given, and fails on a closed file", async () => {
  const file = path.join(dir, "f");
  fs.writeFileSync(file, "x");
  const fd = fs.openSync(file, "r+");
  await datasync(fd);
  fs.closeSync(fd);
  await expect(datasync(fd)).rejects.toThrow(/EBADF/);
});
