/**
 * Journal files (runtime/journal-file.ts) in this process: reading and cutting a torn tail, syncing a folder; the code a
 * journal's header records.
 * Fast enough for mutation testing to run them for every mutant of the module (journal.test.ts covers the same
 * ground more broadly, with bigger files).
 */
import { afterEach, beforeEach, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir, readJournal } from "../runtime/journal-file";
import { encodeFrame, HEADER_SIZE, recordedFingerprint, type HeaderRecord, type JournalRecord } from "../runtime/journal";
import { tempDir, writeJournalFile } from "./helpers";

let dir: string;
beforeEach(() => (dir = tempDir("journal-file")));
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const activity = (seq: number, value: unknown): JournalRecord => ({
  t: "activity", seq, async: true, end: 2, site: `p.ts:${seq}:1`, callee: "api.get", ok: true, start: 1, value,
});
const size = (file: string) => fs.statSync(file).size;

test("a torn tail is reported; it is cut on disk (zeroed, the file's size kept) unless repair is off", () => {
  const file = path.join(dir, "j");
  writeJournalFile(file, [activity(1, "kept"), activity(2, "torn")]);
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

test("cutting a torn tail leaves no file open", () => {
  const file = path.join(dir, "fds");
  writeJournalFile(file, [activity(1, "kept"), activity(2, "torn")]);
  fs.truncateSync(file, size(file) - 2);
  const open = fs.readdirSync("/proc/self/fd").length;
  expect(readJournal(file).torn).toBeGreaterThan(0);
  expect(fs.readdirSync("/proc/self/fd").length).toBe(open);
});

test("fsyncDir syncs a folder and leaves no file open, and fails on one that is not there", () => {
  const open = fs.readdirSync("/proc/self/fd").length;
  expect(() => fsyncDir(dir)).not.toThrow();
  expect(fs.readdirSync("/proc/self/fd").length).toBe(open);
  expect(() => fsyncDir(path.join(dir, "none"))).toThrow(/ENOENT/);
});

test("a header's recorded code is its replay fingerprint, else an older journal's code hash, else none", () => {
  const header = { t: "header", v: 1, sessionId: "ses_1", project: "p", trigger: "t", handler: "h", mode: "durable", event: null, createdAt: 1 } as HeaderRecord;
  expect(recordedFingerprint({ ...header, fingerprint: "fp", codeHash: "old" })).toBe("fp");
  expect(recordedFingerprint({ ...header, codeHash: "old" })).toBe("old");
  expect(recordedFingerprint(header)).toBe("");
});
