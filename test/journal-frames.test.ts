/**
 * The journal's byte format (runtime/journal-frames.ts) on images in memory: the frames, the header and version
 * checks, the torn-tail rule and damage. journal.test.ts tests the same through files (and the writer); these run in
 * milliseconds, so mutation testing can run them for every mutant of the module.
 */
import { expect, test } from "vitest";
import {
  dataEnd,
  decodeFrame,
  decodeFrames,
  encodeFrame,
  fileHeader,
  FRAME_OVERHEAD,
  HEADER_SIZE,
  JOURNAL_VERSION,
  SECTOR,
  validFrameAt,
  zeros,
} from "../runtime/journal-frames";
import type { JournalRecord } from "../runtime/journal-records";
import { corruptError } from "./helpers";
import { crc32Range, frameWord, PAYLOAD_START, RESIDUE } from "../runtime/crc";

const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, async: true, end: 2, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, start: 1, value,
});

const image = (records: JournalRecord[], tail = 0) => Buffer.concat([fileHeader(), ...records.map(encodeFrame), Buffer.alloc(tail)]);

/** Where each frame of an image starts, then the end of its frames. */
function frameStarts(buf: Buffer): number[] {
  const starts: number[] = [];
  let at = HEADER_SIZE;
  while (at + FRAME_OVERHEAD <= buf.length && buf.readUInt32LE(at) !== 0) {
    starts.push(at);
    at += FRAME_OVERHEAD + buf.readUInt32LE(at);
  }
  return [...starts, at];
}

test("a header is the magic and the version; an empty journal has no records and ends after it", () => {
  const header = fileHeader();
  expect(header.length).toBe(HEADER_SIZE);
  expect(header.subarray(0, 8).toString("latin1")).toBe("AKTSJNL\0");
  expect(header.readUInt32LE(8)).toBe(JOURNAL_VERSION);
  expect(header.subarray(12).equals(Buffer.alloc(4))).toBe(true);
  expect(decodeFrames(header, "j")).toEqual({ records: [], activities: undefined, end: HEADER_SIZE, torn: 0 });
  expect(decodeFrames(Buffer.concat([header, Buffer.alloc(3 * 64 * 1024)]), "j")).toEqual({ records: [], activities: undefined, end: HEADER_SIZE, torn: 0 });
});

test("a frame is its payload's length, a check word, then the payload; it fits its buffer exactly", () => {
  const frame = encodeFrame(activity(1, "x".repeat(30)));
  const length = frame.readUInt32LE(0);
  expect(length).toBe(frame.length - FRAME_OVERHEAD);
  expect(validFrameAt(frame, 0)).toBe(length);
  expect(decodeFrame(frame, "rows", 0)).toStrictEqual(activity(1, "x".repeat(30)));
  // Too short to hold its length word, or its payload.
  expect(validFrameAt(frame.subarray(0, FRAME_OVERHEAD - 1), 0)).toBe(-1);
  expect(validFrameAt(frame.subarray(0, frame.length - 1), 0)).toBe(-1);
  // A zero length word is no frame, even when its check word makes the crc come out.
  const empty = Buffer.alloc(FRAME_OVERHEAD + 4);
  empty.writeUInt32LE(frameWord(0, crc32Range(empty, FRAME_OVERHEAD, FRAME_OVERHEAD, PAYLOAD_START)), 4);
  expect(crc32Range(empty, 0, FRAME_OVERHEAD, RESIDUE)).toBe(RESIDUE);
  expect(validFrameAt(empty, 0)).toBe(-1);
  // The check word covers the length word too.
  const longer = Buffer.concat([frame, Buffer.from([0])]);
  longer.writeUInt32LE(length + 1, 0);
  expect(validFrameAt(longer, 0)).toBe(-1);
});

test("decodeFrame takes exactly one whole valid frame and locates damage by the frame's index", () => {
  const frame = encodeFrame({ t: "attempt", attempt: 2, at: 9 });
  expect(decodeFrame(frame, "rows", 3)).toStrictEqual({ t: "attempt", attempt: 2, at: 9 });
  for (const bad of [Buffer.concat([frame, Buffer.from([1])]), frame.subarray(0, frame.length - 1), Buffer.from(frame).fill(0x11, 9, 10)]) {
    const err = corruptError(() => decodeFrame(bad, "rows", 3));
    expect(err.unit).toBe("frame");
    expect(err.offset).toBe(3);
    expect(err.message).toBe("journal is corrupt at frame 3: frame checksum or length mismatch");
  }
});

test("records come back as written, and only activity records carry a site and a callee", () => {
  const records: JournalRecord[] = [
    { t: "attempt", attempt: 1, at: 2 },
    activity(1, { a: 1 }),
    { t: "timer", seq: 2, site: "p.ts:3:1", deadline: 99 },
    activity(3, [1, 2]),
    { t: "event", seq: 4, name: "approve", value: null, at: 4 },
    { t: "end", ok: true, result: "done", at: 5 },
  ];
  const read = decodeFrames(image(records), "j");
  expect(read.records).toStrictEqual(records);
  expect(read.end).toBe(frameStarts(image(records)).at(-1));
  expect(read.torn).toBe(0);
  // The same strings of every call site are one copy; a string is only ever kept as itself.
  const [, a, , b] = read.records as Array<{ callee?: string }>;
  expect([a.callee, b.callee]).toEqual(["api.get", "api.get"]);
});

test("a frame that holds a plain value, not a record object, decodes as that value", () => {
  expect(decodeFrames(image([null as unknown as JournalRecord, 7 as unknown as JournalRecord]), "j").records).toEqual([null, 7]);
});

test("lazy: activity frames go to the index, the rest to records, in file order", () => {
  const records: JournalRecord[] = [{ t: "attempt", attempt: 1, at: 2 }, activity(1, "a"), { t: "timer", seq: 2, site: "p.ts:3:1", deadline: 9 }, activity(3, "b")];
  const buf = image(records, 1000);
  const read = decodeFrames(buf, "j", { lazy: true });
  expect(read.records).toStrictEqual([records[0], records[2]]);
  const lazy = read.activities!;
  expect(lazy.count).toBe(2);
  expect([...lazy.before.subarray(0, 2)]).toEqual([1, 2]);
  expect(lazy.decode(lazy.at[0])).toStrictEqual(records[1]);
  expect(lazy.decode(lazy.at[1])).toStrictEqual(records[3]);
  expect(read.end).toBe(frameStarts(buf).at(-1));
  // A torn tail ends the index where the good frames end.
  const starts = frameStarts(buf);
  const torn = decodeFrames(buf.subarray(0, starts.at(-1)! - 3), "j", { lazy: true });
  expect(torn.activities!.count).toBe(1);
  expect(torn.records).toStrictEqual([records[0], records[2]]);
  expect(torn.end).toBe(starts[3]);
  expect(torn.activities!.decode(torn.activities!.at[0])).toStrictEqual(records[1]);
});

test("lazy: a journal whose frames all check at once sizes its index to their number", () => {
  const records = Array.from({ length: 200 }, (_, i) => activity(i + 1, i));
  for (const tail of [0, 4096]) {
    const read = decodeFrames(image(records, tail), "j", { lazy: true });
    expect(read.activities!.count).toBe(200);
    // One crc over all the frames counted them: the index was made that size, neither grown nor estimated.
    expect(read.activities!.seq.length).toBe(200);
  }
});

test("a bad magic, a short file and unknown versions are refused at their word", () => {
  const good = image([activity(1, 1)]);
  for (const bad of [Buffer.from("hello world, not a journal"), good.subarray(0, HEADER_SIZE - 1), Buffer.concat([Buffer.from("AKTSJNL\x01", "latin1"), good.subarray(8)])]) {
    const err = corruptError(() => decodeFrames(bad, "j"));
    expect(err.offset).toBe(0);
    expect(err.message).toBe("journal is corrupt at byte 0: not an akts journal (bad magic)");
  }
  for (const version of [1, 2, 3]) {
    const old = Buffer.from(good);
    old.writeUInt32LE(version, 8);
    const err = corruptError(() => decodeFrames(old, "j"));
    expect(err.offset).toBe(8);
    expect(err.message).toContain(`journal format version ${version}, written by an older akts: finish or replay its session with that version`);
  }
  for (const version of [0, JOURNAL_VERSION + 1]) {
    const other = Buffer.from(good);
    other.writeUInt32LE(version, 8);
    const err = corruptError(() => decodeFrames(other, "j"));
    expect(err.offset).toBe(8);
    expect(err.message).toBe(`journal is corrupt at byte 8: unsupported journal version ${version}`);
  }
});

test("a flipped byte anywhere in a frame before the last is damage at that frame, naming the valid frame after it", () => {
  const buf = image([activity(1, "one"), activity(2, "two"), activity(3, "three")], 200);
  const starts = frameStarts(buf);
  for (let at = starts[1]; at < starts[2]; at++) {
    const damaged = Buffer.from(buf);
    damaged[at] ^= 0x5a;
    for (const lazy of [false, true]) {
      const err = corruptError(() => decodeFrames(damaged, "j", { lazy }));
      expect(err.offset).toBe(starts[1]);
      expect(err.file).toBe("j");
      // The next frame is found by its checksum, however the damaged length word reads.
      expect(err.message).toMatch(new RegExp(`^journal is corrupt at byte ${starts[1]}: frame checksum or length mismatch \\(a valid frame follows at byte \\d+\\)$`));
    }
  }
  const lengthZeroed = Buffer.from(buf).fill(0, starts[1], starts[1] + 4);
  expect(corruptError(() => decodeFrames(lengthZeroed, "j")).message).toContain(`a valid frame follows at byte ${starts[2]}`);
});

test("a flipped byte anywhere in the last frame, written whole across sectors, is damage, not a torn tail", () => {
  const records = [activity(1, "one"), activity(2, "z".repeat(1200))];
  for (const tail of [0, 4096]) {
    const buf = image(records, tail);
    const starts = frameStarts(buf);
    expect(Math.floor((starts[2] - 1) / SECTOR) - Math.floor(starts[1] / SECTOR)).toBeGreaterThanOrEqual(2);
    // Every byte of the words and the payload's start, then a byte in every 13 (each sector is reached).
    for (let at = starts[1]; at < starts[2]; at += at < starts[1] + 32 ? 1 : 13) {
      const damaged = Buffer.from(buf);
      damaged[at] ^= 0x5a;
      const err = corruptError(() => decodeFrames(damaged, "j"));
      expect(err.offset).toBe(starts[1]);
      expect(err.message).toBe(`journal is corrupt at byte ${starts[1]}: a whole frame fails its checksum: damage, not a torn write`);
    }
  }
});

test("a damaged length word of a last frame whose payload ends in zeros is damage too", () => {
  // 0x10000 is written as ce 00 01 00 00: the data seems to end two bytes before the frame does.
  const buf = image([activity(1, "one"), activity(2, 0x10000)], 100);
  const starts = frameStarts(buf);
  expect(buf.subarray(starts[2] - 2, starts[2]).equals(Buffer.alloc(2))).toBe(true);
  expect(dataEnd(buf, HEADER_SIZE)).toBe(starts[2] - 2);
  for (const byte of [1, 2, 3]) {
    const damaged = Buffer.from(buf);
    damaged[starts[1] + byte] ^= 0x01;
    expect(corruptError(() => decodeFrames(damaged, "j")).offset).toBe(starts[1]);
  }
  // A payload that ends in 64 zeros (the most the rule allows) still reads as a frame whose length word was damaged.
  const zeroTail = image([activity(1, "one"), activity(2, Buffer.alloc(64))], 100);
  const zs = frameStarts(zeroTail);
  const hit = Buffer.from(zeroTail);
  hit[zs[1] + 2] ^= 0x01;
  expect(corruptError(() => decodeFrames(hit, "j")).offset).toBe(zs[1]);
  // Undamaged, the same images read whole.
  expect(decodeFrames(buf, "j").records).toHaveLength(2);
  expect(decodeFrames(zeroTail, "j").records).toHaveLength(2);
});

test("a last frame torn by a crash is cut, keeping the frames before it: cut short anywhere, or any of its sectors never written", () => {
  const records = [activity(1, "first"), activity(2, { big: "x".repeat(40) }), activity(3, "y".repeat(1500))];
  const pristine = image(records);
  const starts = frameStarts(pristine);
  const lastStart = starts[2];
  const end = starts[3];
  const preallocated = Buffer.concat([pristine, Buffer.alloc(4096)]);
  const images: Buffer[] = [];
  for (let cut = lastStart; cut < end; cut += cut < lastStart + 16 || cut > end - 16 ? 1 : 37) images.push(pristine.subarray(0, cut));
  for (let from = lastStart; from < end; from = (Math.floor(from / SECTOR) + 1) * SECTOR) {
    const to = Math.min(end, (Math.floor(from / SECTOR) + 1) * SECTOR);
    images.push(Buffer.from(preallocated).fill(0, from, end));
    images.push(Buffer.from(preallocated).fill(0, from, to));
  }
  expect(images.length).toBeGreaterThan(40);
  for (const torn of images) {
    for (const lazy of [false, true]) {
      const read = decodeFrames(torn, "j", { lazy });
      expect(read.end).toBe(lastStart);
      let tornBytes = Math.min(end, torn.length) - lastStart;
      while (tornBytes > 0 && torn[lastStart + tornBytes - 1] === 0) tornBytes--;
      expect(read.torn).toBe(tornBytes);
      if (lazy) expect(read.activities!.count).toBe(2);
      else expect(read.records).toStrictEqual(records.slice(0, 2));
    }
  }
});

test("a last frame cut short just before the zeros its payload ends with is a torn tail: nothing is read past the data", () => {
  // 0x10000 is written as ce 00 01 00 00; a crc over the missing bytes read as zeros would come out right.
  const records = [activity(1, "one"), activity(2, 0x10000)];
  const whole = image(records);
  const starts = frameStarts(whole);
  for (const missing of [1, 2]) {
    const cut = whole.subarray(0, whole.length - missing);
    for (const lazy of [false, true]) {
      const read = decodeFrames(cut, "j", { lazy });
      expect(read.end).toBe(starts[1]);
      expect(read.torn).toBe(starts[2] - starts[1] - 2);
      expect(lazy ? read.activities!.count : read.records.length).toBe(1);
    }
    expect(validFrameAt(cut, starts[1])).toBe(-1);
  }
});

test("a torn frame whose start never reached the disk, and damage before a torn tail", () => {
  const buf = image([activity(1, "kept"), activity(2, "lost")], 100);
  const starts = frameStarts(buf);
  const startLost = Buffer.from(buf).fill(0, starts[1], starts[1] + 4);
  expect(decodeFrames(startLost, "j")).toMatchObject({ end: starts[1], torn: starts[2] - starts[1] });
  // The first frame damaged and the second torn: no valid frame follows the damage, but the damaged frame was written whole.
  const both = Buffer.from(startLost);
  both[starts[0] + 10] ^= 0x01;
  expect(corruptError(() => decodeFrames(both, "j")).message).toBe(`journal is corrupt at byte ${starts[0]}: a whole frame fails its checksum: damage, not a torn write`);
});

test("the data ends at its last non-zero byte, over any stretch of preallocated zeros", () => {
  const data = Buffer.from([1, 0, 2, 0, 0]);
  for (const zerosAfter of [0, 1, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 7, 5 * 64 * 1024]) {
    const buf = Buffer.concat([Buffer.alloc(HEADER_SIZE, 9), data, Buffer.alloc(zerosAfter)]);
    expect(dataEnd(buf, HEADER_SIZE)).toBe(HEADER_SIZE + 3);
  }
  // Data at the very end of a block, and none at all after `from`.
  const block = Buffer.alloc(2 * 64 * 1024);
  block[64 * 1024 - 1] = 1;
  expect(dataEnd(block, 0)).toBe(64 * 1024);
  expect(dataEnd(Buffer.alloc(70_000, 0), 10)).toBe(10);
  expect(dataEnd(Buffer.alloc(20, 3), 10)).toBe(20);
  // Data through blocks of 64 KiB to the very end.
  expect(dataEnd(Buffer.alloc(200_000, 1), 0)).toBe(200_000);
});

test("zeros() gives exactly the size asked for, all zero, growing its block as needed", () => {
  for (const size of [0, 5, 100_000, 3, 200_000]) {
    const z = zeros(size);
    expect(z.length).toBe(size);
    expect(z.every((b) => b === 0)).toBe(true);
  }
});
