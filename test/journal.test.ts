import { afterEach, beforeEach, expect, test } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  decodeFrames,
  encodeFrame,
  FRAME_OVERHEAD,
  HEADER_SIZE,
  JOURNAL_VERSION,
  JournalWriter,
  readJournal,
  SECTOR,
  type FsyncPolicy,
  type JournalRecord,
} from "../runtime/journal";
import { project } from "../runtime/codec";
import { corruptError, tempDir } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("journal")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** In the key order the runtime writes (the codec's version 3 activity structure). */
const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, async: true, end: 2, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, start: 1, value,
});
const SITE = { callee: "api.get", id: "p.ts:1:1" };
const values = (records: JournalRecord[]) => records.map((r) => (r as { value: unknown }).value);

async function writeJournal(file: string, records: JournalRecord[], fsync: FsyncPolicy = "none"): Promise<void> {
  const w = JournalWriter.create(file, { fsync });
  for (const r of records) await w.append(r);
  await w.close();
}

/** Byte offset where each frame starts, then the end of the data. */
function frameOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const offsets: number[] = [];
  let at = HEADER_SIZE;
  while (at + FRAME_OVERHEAD <= buf.length && buf.readUInt32LE(at) !== 0) {
    offsets.push(at);
    at += FRAME_OVERHEAD + buf.readUInt32LE(at);
  }
  offsets.push(at);
  return offsets;
}

const RECORDS: JournalRecord[] = [
  {
    t: "header", v: 1, sessionId: "ses_1", project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable",
    codeHash: "abc", event: { body: new Map([["k", 1n]]) }, createdAt: 1,
  },
  { t: "attempt", attempt: 1, at: 2 },
  activity(1, { a: 1, when: new Date(5), big: 2n ** 70n }),
  { t: "activity", seq: 2, site: "p.ts:2:1", callee: "fs.readFileSync", ok: false, error: new TypeError("nope"), async: false, start: 3, end: 3 },
  { t: "timer", seq: 3, site: "p.ts:3:1", deadline: 99 },
  { t: "event", seq: 4, name: "approve", value: [1, undefined, null], at: 4 },
  { t: "end", ok: true, result: "done", at: 5 },
];

test.each(["always", "batch", "none"] as const)("every record kind round-trips with fsync %s; the file is 0600", async (fsync) => {
  const file = path.join(dir, "j");
  await writeJournal(file, RECORDS, fsync);
  const read = readJournal(file);
  expect(read.records).toEqual(RECORDS);
  expect(read.notices).toEqual([]);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
});

test("a journal is created with the mode asked for, and never over an existing file", async () => {
  const file = path.join(dir, "j");
  await JournalWriter.create(file, { fsync: "none", mode: 0o640 }).close();
  expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  expect(() => JournalWriter.create(file, { fsync: "none" })).toThrow(/EEXIST/);
});

test("appendSync is on disk before it returns, and keeps append order with async appends, under every policy", async () => {
  for (const fsync of ["always", "batch", "none"] as const) {
    const file = path.join(dir, `j-${fsync}`);
    const w = JournalWriter.create(file, { fsync });
    const p = w.append(activity(1, "async"));
    w.appendSync(activity(2, "sync"));
    expect(values(readJournal(file, { repair: false }).records)).toEqual(["async", "sync"]);
    await p;
    await w.close();
  }
});

test("none buffers appends and writes them by the next turn of the event loop, or at close", async () => {
  const file = path.join(dir, "j");
  const w = JournalWriter.create(file, { fsync: "none" });
  await w.append(activity(1, "a"));
  await new Promise((r) => setImmediate(r));
  expect(values(readJournal(file).records)).toEqual(["a"]);
  void w.append(activity(2, "b"));
  await w.close();
  expect(values(readJournal(file).records)).toEqual(["a", "b"]);
  expect(() => w.append(activity(3, "c"))).toThrow(/closed/);
});

test("preallocated space is not mistaken for data, across allocation extents, and reopening continues the journal", async () => {
  const file = path.join(dir, "j");
  const big = "x".repeat(700_000);
  const w = JournalWriter.create(file, { fsync: "always" });
  w.appendSync(activity(1, big));
  await w.append(activity(2, "small"));
  w.appendSync(activity(3, big));
  await w.close();
  const size = fs.statSync(file).size;
  expect(size % (64 * 1024)).toBe(0);
  const opened = readJournal(file);
  expect(opened.end).toBeLessThan(size);
  expect(opened.notices).toEqual([]);
  expect(values(opened.records)).toEqual([big, "small", big]);
  const again = JournalWriter.open(file, opened.end, { fsync: "batch" });
  await again.append(activity(4, "after reopen"));
  await again.close();
  expect(values(readJournal(file).records)).toEqual([big, "small", big, "after reopen"]);
});

test("a torn last frame is cut, with a notice, keeping every earlier record: a file cut anywhere, or any sectors of the frame never written", async () => {
  const file = path.join(dir, "j");
  const records = [activity(1, "first"), activity(2, { big: "x".repeat(40) }), activity(3, "y".repeat(1500))];
  await writeJournal(file, records);
  const offsets = frameOffsets(file);
  const lastStart = offsets[offsets.length - 2];
  const end = offsets[offsets.length - 1];
  const pristine = fs.readFileSync(file);
  const preallocated = Buffer.concat([pristine, Buffer.alloc(4096)]);
  // A crash mid-write leaves each sector of the frame written or as it was (preallocated zeros), or a short file.
  const images: Buffer[] = [];
  for (let cut = lastStart; cut < end; cut += cut < lastStart + 16 || cut > end - 16 ? 1 : 37) images.push(pristine.subarray(0, cut));
  const sectors: Array<[number, number]> = [];
  for (let from = lastStart; from < end; from = (Math.floor(from / SECTOR) + 1) * SECTOR) sectors.push([from, Math.min(end, (Math.floor(from / SECTOR) + 1) * SECTOR)]);
  expect(sectors.length).toBeGreaterThanOrEqual(3);
  for (const [from, to] of sectors) {
    images.push(Buffer.from(preallocated).fill(0, from, end));
    images.push(Buffer.from(preallocated).fill(0, from, to));
  }
  for (const image of images) {
    fs.writeFileSync(file, image);
    const read = readJournal(file);
    expect(read.records).toEqual(records.slice(0, 2));
    expect(read.end).toBe(lastStart);
    let tornBytes = Math.min(end, image.length) - lastStart;
    while (tornBytes > 0 && image[lastStart + tornBytes - 1] === 0) tornBytes--;
    expect(read.notices).toEqual(tornBytes === 0 ? [] : [`journal ${file}: cut ${tornBytes} torn bytes at offset ${lastStart}`]);
    // The cut is on disk and nothing else changed: reading again finds the same clean journal.
    const again = readJournal(file);
    expect(again.notices).toEqual([]);
    expect(again.records).toEqual(records.slice(0, 2));
    expect(fs.readFileSync(file).subarray(0, lastStart).equals(pristine.subarray(0, lastStart))).toBe(true);
  }
});

test("a frame whose start never reached the disk (zero length word, data after it) is a torn tail", async () => {
  const file = path.join(dir, "j");
  await writeJournal(file, [activity(1, "kept"), activity(2, "lost")]);
  const [, second, end] = frameOffsets(file);
  const buf = Buffer.concat([fs.readFileSync(file), Buffer.alloc(100)]);
  buf.fill(0, second, second + 4);
  fs.writeFileSync(file, buf);
  const read = readJournal(file);
  expect(values(read.records)).toEqual(["kept"]);
  expect(read.notices).toEqual([`journal ${file}: cut ${end - second} torn bytes at offset ${second}`]);
  // Reopen and append after the cut: the new frame is the journal's last, nothing of the torn one remains.
  const w = JournalWriter.open(file, read.end, { fsync: "always" });
  await w.append(activity(2, "rewritten"));
  await w.close();
  expect(values(readJournal(file).records)).toEqual(["kept", "rewritten"]);
  expect(readJournal(file).notices).toEqual([]);
});

test.each([
  ["a frame before the tail", [activity(1, "one"), activity(2, "two"), activity(3, "three")]],
  // Written whole and synced: never cut as a torn tail, whichever byte changed.
  ["the last frame", [activity(1, "one"), activity(2, "z".repeat(1200))]],
])("a flipped byte anywhere in %s is JournalCorruptError at that frame's offset; nothing is changed", async (_, records) => {
  const file = path.join(dir, "j");
  await writeJournal(file, records, "always");
  const offsets = frameOffsets(file);
  const pristine = fs.readFileSync(file);
  for (let at = offsets[1]; at < offsets[2]; at++) {
    const buf = Buffer.from(pristine);
    buf[at] ^= 0x5a;
    fs.writeFileSync(file, buf);
    const err = corruptError(() => readJournal(file));
    expect(err.offset).toBe(offsets[1]);
    expect(err.file).toBe(file);
    expect(err.code).toBe("AKTS4001");
    expect(err.message).toContain(`at byte ${offsets[1]}`);
    expect(fs.readFileSync(file).equals(buf)).toBe(true);
  }
});

test("a zeroed length word before valid frames is damage, not the end of the journal", async () => {
  const file = path.join(dir, "j");
  await writeJournal(file, [activity(1, "one"), activity(2, "two"), activity(3, "three")]);
  const offsets = frameOffsets(file);
  const buf = fs.readFileSync(file);
  buf.fill(0, offsets[1], offsets[1] + 4);
  fs.writeFileSync(file, buf);
  expect(corruptError(() => readJournal(file)).offset).toBe(offsets[1]);
});

test("a file that is not a journal, or of another version, is refused", () => {
  const file = path.join(dir, "j");
  fs.writeFileSync(file, "hello world, not a journal");
  expect(corruptError(() => readJournal(file)).offset).toBe(0);
  const header = Buffer.alloc(HEADER_SIZE);
  header.write("AKTSJNL\0", "latin1");
  header.writeUInt32LE(5, 8);
  fs.writeFileSync(file, header);
  expect(corruptError(() => readJournal(file)).message).toContain("unsupported journal version 5");
  // Versions 1 (records defined inline in every frame), 2 (activity fields in another order) and 3 (the payload's
  // crc where the check word is) are refused by name, at the version word.
  for (const version of [1, 2, 3]) {
    header.writeUInt32LE(version, 8);
    fs.writeFileSync(file, header);
    const old = corruptError(() => readJournal(file));
    expect(old.offset).toBe(8);
    expect(old.message).toContain(`journal format version ${version}, written by an older akts`);
  }
});

test("frames from encodeFrame decode with decodeFrames, whatever holds them", async () => {
  await JournalWriter.create(path.join(dir, "h"), { fsync: "none" }).close();
  const header = fs.readFileSync(path.join(dir, "h"));
  expect(header.length).toBe(HEADER_SIZE);
  const image = Buffer.concat([header, ...RECORDS.map(encodeFrame)]);
  expect(decodeFrames(image, "rows").records).toEqual(RECORDS);
  const frame = encodeFrame(RECORDS[2]);
  expect(frame.readUInt32LE(0)).toBe(frame.length - FRAME_OVERHEAD);
  const cyclic: Record<string, unknown> = { name: "loop" };
  cyclic.self = cyclic;
  const back = decodeFrames(Buffer.concat([header, encodeFrame(activity(1, cyclic))]), "rows").records[0] as { value: Record<string, unknown> };
  expect(back.value.self).toBe(back.value);
});

test("any records survive framing, and any tear of the last frame recovers the ones before it (property)", () => {
  const header = Buffer.alloc(HEADER_SIZE);
  header.write("AKTSJNL\0", "latin1");
  header.writeUInt32LE(JOURNAL_VERSION, 8);
  // Values are projected before they are journaled (as the runtime does); `__proto__` keys are a documented exception.
  const json = fc.jsonValue().filter((v) => !JSON.stringify(v).includes('"__proto__"'));
  const record = fc.tuple(fc.nat(), json, fc.boolean()).map(([seq, value, ok]) => activity(seq, ok ? value : { nested: [value] }));
  const frame = (r: JournalRecord) => encodeFrame({ ...r, value: project((r as { value: unknown }).value, SITE).value } as JournalRecord);
  fc.assert(
    fc.property(fc.array(record, { minLength: 1, maxLength: 6 }), fc.nat(), (records, where) => {
      const frames = records.map(frame);
      const image = Buffer.concat([header, ...frames]);
      expect(decodeFrames(image, "j").records).toEqual(records);
      const lastStart = image.length - frames[frames.length - 1].length;
      const cut = lastStart + (where % (image.length - lastStart));
      // Cut short at any byte, or written up to a sector boundary with preallocated zeros after it.
      const sectorCut = Math.max(lastStart, Math.floor(cut / SECTOR) * SECTOR);
      for (const torn of [image.subarray(0, cut), Buffer.concat([image.subarray(0, sectorCut), Buffer.alloc(image.length - sectorCut + 64)])]) {
        const read = decodeFrames(torn, "j");
        expect(read.records).toEqual(records.slice(0, -1));
        expect(read.end).toBe(lastStart);
      }
    }),
    { numRuns: 200 },
  );
});

test("batch: concurrent appends from 64 journals are all on disk, in order, when they resolve", async () => {
  const writers = Array.from({ length: 64 }, (_, i) => JournalWriter.create(path.join(dir, `j${i}`), { fsync: "batch" }));
  await Promise.all(
    writers.map(async (w, i) => {
      for (let round = 0; round < 3; round++) {
        await Promise.all([w.append(activity(2 * round, `a${i}.${round}`)), w.append(activity(2 * round + 1, `b${i}.${round}`))]);
        expect(readJournal(w.path, { repair: false }).records).toHaveLength(2 * round + 2);
      }
    }),
  );
  await Promise.all(writers.map((w) => w.close()));
  for (let i = 0; i < writers.length; i++) {
    expect(values(readJournal(path.join(dir, `j${i}`)).records)).toEqual([0, 1, 2].flatMap((r) => [`a${i}.${r}`, `b${i}.${r}`]));
  }
});

test("always: appends issued together are all durable when they resolve, in append order", async () => {
  const file = path.join(dir, "j");
  const w = JournalWriter.create(file, { fsync: "always" });
  await Promise.all(Array.from({ length: 50 }, (_, i) => w.append(activity(i, i))));
  expect(values(readJournal(file, { repair: false }).records)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  await w.close();
});
