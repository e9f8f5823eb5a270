import { afterEach, beforeEach, expect, test } from "vitest";
import fc from "fast-check";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  decodeFrames,
  encodeFrame,
  FRAME_OVERHEAD,
  HEADER_SIZE,
  fileHeader,
  JOURNAL_VERSION,
  readJournal,
  SECTOR,
  type JournalRecord,
} from "../runtime/journal";
import { project } from "../runtime/codec";
import { corruptError, tempDir, writeJournalFile as writeJournal } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("journal")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** In the key order the runtime writes (the codec's version 3 activity structure). */
const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, async: true, end: 2, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, start: 1, value,
});
const SITE = { callee: "api.get", id: "p.ts:1:1" };
const values = (records: JournalRecord[]) => records.map((r) => (r as { value: unknown }).value);

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

test("every record kind round-trips through a journal file", () => {
  const file = path.join(dir, "j");
  writeJournal(file, RECORDS);
  const read = readJournal(file);
  expect(read.records).toEqual(RECORDS);
  expect(read.notices).toEqual([]);
});

test("preallocated space after the data is not mistaken for data, nor cut as a torn tail", () => {
  const file = path.join(dir, "j");
  const big = "x".repeat(700_000);
  writeJournal(file, [activity(1, big), activity(2, "small"), activity(3, big)], 1 << 20);
  const opened = readJournal(file);
  expect(opened.end).toBe(fs.statSync(file).size - (1 << 20));
  expect(opened.notices).toEqual([]);
  expect(opened.torn).toBe(0);
  expect(values(opened.records)).toEqual([big, "small", big]);
});

test("a torn last frame is cut, with a notice, keeping every earlier record: a file cut anywhere, or any sectors of the frame never written", () => {
  const file = path.join(dir, "j");
  const records = [activity(1, "first"), activity(2, { big: "x".repeat(40) }), activity(3, "y".repeat(1500))];
  writeJournal(file, records);
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

test("a frame whose start never reached the disk (zero length word, data after it) is a torn tail", () => {
  const file = path.join(dir, "j");
  writeJournal(file, [activity(1, "kept"), activity(2, "lost")]);
  const [, second, end] = frameOffsets(file);
  const buf = Buffer.concat([fs.readFileSync(file), Buffer.alloc(100)]);
  buf.fill(0, second, second + 4);
  fs.writeFileSync(file, buf);
  const read = readJournal(file);
  expect(values(read.records)).toEqual(["kept"]);
  expect(read.notices).toEqual([`journal ${file}: cut ${end - second} torn bytes at offset ${second}`]);
  // The cut is on disk: nothing of the torn frame remains, and reading again finds a clean journal.
  expect(fs.readFileSync(file).subarray(second).every((b) => b === 0)).toBe(true);
  expect(readJournal(file).notices).toEqual([]);
});

test.each([
  ["a frame before the tail", [activity(1, "one"), activity(2, "two"), activity(3, "three")]],
  // Written whole and synced: never cut as a torn tail, whichever byte changed.
  ["the last frame", [activity(1, "one"), activity(2, "z".repeat(1200))]],
])("a flipped byte anywhere in %s is JournalCorruptError at that frame's offset; nothing is changed", (_, records) => {
  const file = path.join(dir, "j");
  writeJournal(file, records);
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

test("a zeroed length word before valid frames is damage, not the end of the journal", () => {
  const file = path.join(dir, "j");
  writeJournal(file, [activity(1, "one"), activity(2, "two"), activity(3, "three")]);
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

test("frames from encodeFrame decode with decodeFrames, whatever holds them", () => {
  const header = fileHeader();
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
