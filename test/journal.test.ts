import { afterEach, beforeEach, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { HEADER_SIZE, JournalWriter, readJournal, type JournalRecord } from "../runtime/journal";
import { JournalCorruptError } from "../runtime/errors";
import { tempDir } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("journal")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, value, async: true, start: 1, end: 2,
});

async function writeJournal(file: string, records: JournalRecord[], fsync: "always" | "batch" | "none" = "none"): Promise<void> {
  const w = JournalWriter.create(file, { fsync });
  for (const r of records) await w.append(r);
  await w.close();
}

/** Byte offset where each frame starts, and the end of the data. */
function frameOffsets(file: string): number[] {
  const buf = fs.readFileSync(file);
  const offsets: number[] = [];
  let at = HEADER_SIZE;
  while (at + 4 <= buf.length && buf.readUInt32LE(at) !== 0) {
    offsets.push(at);
    at += 8 + buf.readUInt32LE(at);
  }
  offsets.push(at);
  return offsets;
}

test.each(["always", "batch", "none"] as const)("records round-trip with fsync %s; the file is 0600", async (fsync) => {
  const file = path.join(dir, "j");
  const records = [activity(1, { a: 1 }), activity(2, [1, 2n, new Date(5)]), { t: "end", ok: true, result: "x", at: 3 } as JournalRecord];
  await writeJournal(file, records, fsync);
  expect(readJournal(file).records).toEqual(records);
  expect(fs.statSync(file).mode & 0o777).toBe(0o600);
});

test("appendSync is on disk before it returns, and mixes with async appends in order", async () => {
  const file = path.join(dir, "j");
  const w = JournalWriter.create(file, { fsync: "always" });
  const p = w.append(activity(1, "async"));
  w.appendSync(activity(2, "sync"));
  await p;
  expect(readJournal(file).records.map((r) => (r as { seq: number }).seq)).toEqual([1, 2]);
  await w.close();
});

test("preallocated space is not mistaken for data, and appending after reopen continues the journal", async () => {
  const file = path.join(dir, "j");
  await writeJournal(file, [activity(1, "a")]);
  expect(fs.statSync(file).size).toBeGreaterThanOrEqual(1 << 20);
  const opened = readJournal(file);
  const w = JournalWriter.open(file, opened.end, { fsync: "always" });
  await w.append(activity(2, "b"));
  await w.close();
  expect(readJournal(file).records.map((r) => (r as { value: unknown }).value)).toEqual(["a", "b"]);
});

test("a torn last frame is cut at every byte offset, with a notice, keeping every earlier record", async () => {
  const file = path.join(dir, "j");
  const records = [activity(1, "first"), activity(2, { big: "x".repeat(40) }), activity(3, "last")];
  await writeJournal(file, records);
  const offsets = frameOffsets(file);
  const lastStart = offsets[offsets.length - 2];
  const end = offsets[offsets.length - 1];
  const pristine = fs.readFileSync(file);
  for (let cut = lastStart + 1; cut < end; cut++) {
    // A crash mid-write leaves the frame's first bytes and zeros (preallocated space) after them.
    const torn = Buffer.from(pristine);
    torn.fill(0, cut, end);
    fs.writeFileSync(file, torn);
    const read = readJournal(file);
    expect(read.records).toEqual(records.slice(0, 2));
    expect(read.end).toBe(lastStart);
    let tornBytes = cut - lastStart;
    while (tornBytes > 0 && torn[lastStart + tornBytes - 1] === 0) tornBytes--;
    expect(read.notice).toBe(tornBytes === 0 ? undefined : `journal ${file}: cut ${tornBytes} torn bytes at offset ${lastStart}`);
    // The cut is on disk: reading again finds a clean journal.
    expect(readJournal(file).notice).toBeUndefined();
  }
  // A file truncated short (no preallocated tail) recovers the same way.
  fs.writeFileSync(file, pristine.subarray(0, lastStart + 5));
  expect(readJournal(file).records).toEqual(records.slice(0, 2));
});

test("a flipped byte before the tail is JournalCorruptError with the offset; nothing is changed", async () => {
  const file = path.join(dir, "j");
  await writeJournal(file, [activity(1, "one"), activity(2, "two"), activity(3, "three")]);
  const offsets = frameOffsets(file);
  const buf = fs.readFileSync(file);
  buf[offsets[1] + 10] ^= 0xff;
  fs.writeFileSync(file, buf);
  let err: unknown;
  try {
    readJournal(file);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(JournalCorruptError);
  expect((err as JournalCorruptError).offset).toBe(offsets[1]);
  expect((err as JournalCorruptError).code).toBe("AKTS4001");
  expect((err as Error).message).toContain(`at byte ${offsets[1]}`);
  expect(fs.readFileSync(file).equals(buf)).toBe(true);
});

test("a file that is not a journal is refused at offset 0", () => {
  const file = path.join(dir, "j");
  fs.writeFileSync(file, "hello world, not a journal");
  expect(() => readJournal(file)).toThrow(JournalCorruptError);
});

test("batch: appends from many journals in one window share one flush round, and all are on disk", async () => {
  const writers = Array.from({ length: 16 }, (_, i) => JournalWriter.create(path.join(dir, `j${i}`), { fsync: "batch" }));
  await Promise.all(writers.flatMap((w, i) => [w.append(activity(1, `a${i}`)), w.append(activity(2, `b${i}`))]));
  await Promise.all(writers.map((w) => w.close()));
  for (let i = 0; i < writers.length; i++) {
    expect(readJournal(path.join(dir, `j${i}`)).records.map((r) => (r as { value: unknown }).value)).toEqual([`a${i}`, `b${i}`]);
  }
});
