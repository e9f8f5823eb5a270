/**
 * The file store's index of its segments (runtime/store/segment-index.ts) in this process, over segment files written
 * here: what it finds of each session, a session's journal across fences and claims, other runners' new tails,
 * damage, torn tails and sidecars. The store and real crashes: segment-log.test.ts, segment-sidecar.test.ts.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { SegmentIndex } from "../runtime/store/segment-index";
import { entryParts, Kind, noteBody, recordKind, scanSegment, segmentHeader, SEGMENT_HEADER_SIZE, type Entry } from "../runtime/store/segment-format";
import { readSidecar, sidecarPath } from "../runtime/store/segment-sidecar";
import { decodeFrames, encodeFrame, type JournalRecord } from "../runtime/journal";
import { fileHeader } from "../runtime/journal-frames";
import { JournalCorruptError } from "../runtime/errors";
import { activity, header } from "./store-contract";
import { tempDir } from "./helpers";

let dir: string;
let tmp: string;
beforeEach(() => {
  const root = tempDir("segment-index");
  dir = path.join(root, "segments");
  tmp = path.join(root, "tmp");
  fs.mkdirSync(dir);
  fs.mkdirSync(tmp);
});
afterEach(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

/** One entry to write: a journal record (its kind follows from it) or a note of `kind`. */
type Spec = { id: string; fence?: number } & ({ record: JournalRecord } | { kind: Kind; note: unknown });

function parts(spec: Spec): Buffer[] {
  const fence = spec.fence ?? 1;
  return "record" in spec ? entryParts(recordKind(spec.record), fence, spec.id, encodeFrame(spec.record)) : entryParts(spec.kind, fence, spec.id, noteBody(spec.note));
}

/** Appends entries to segment `name` (made with its header if new); the file's size is what was written. */
function append(name: string, specs: Spec[]): string {
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) fs.writeFileSync(file, segmentHeader());
  fs.appendFileSync(file, Buffer.concat(specs.flatMap(parts)));
  return file;
}

const rec = (id: string, record: JournalRecord, fence = 1): Spec => ({ id, fence, record });
const note = (id: string, kind: Kind, value: unknown, fence = 1): Spec => ({ id, fence, kind, note: value });
const act = (id: string, seq: number, value: unknown = seq, fence = 1) => rec(id, activity(seq, value), fence);
const hdr = (id: string, createdAt = 1000) => rec(id, { ...header(id), createdAt });

/** An index of the folder with every runner in `done` stopped, refreshed once. */
function indexed(done: string[] = [], repair = true, tmpDir: string | undefined = tmp): SegmentIndex {
  const index = new SegmentIndex(dir, (runner) => done.includes(runner), repair, tmpDir);
  index.refresh();
  return index;
}

/** The files this process has open. */
function openFiles(): string[] {
  return fs.readdirSync("/proc/self/fd").flatMap((n) => {
    try {
      return [fs.readlinkSync(`/proc/self/fd/${n}`)];
    } catch {
      return [];
    }
  });
}

/** The JournalCorruptError `read` throws. */
function thrown(read: () => unknown): JournalCorruptError {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(JournalCorruptError);
    return err as JournalCorruptError;
  }
  throw new Error("no error thrown");
}

/** The journal's records as the claim and the reads see them: activities by value, the rest by kind. */
function journalOf(index: SegmentIndex, id: string): unknown[] {
  const { image, records } = index.journal(id);
  const read = decodeFrames(image, id).records;
  expect(read).toHaveLength(records);
  return read.map((r) => (r.t === "activity" ? r.value : r.t));
}

describe("what the index finds of each session", () => {
  test("sessions are listed by id, ascending, once each, whatever order their headers were written in; the first header is the session", () => {
    // Found in two looks, so that which header comes first does not depend on the folder's listing order.
    const index = new SegmentIndex(dir, () => false);
    append("a-0.seg", [hdr("ses_c"), hdr("ses_a"), act("ses_a", 1)]);
    index.refresh();
    append("b-0.seg", [hdr("ses_b"), rec("ses_a", { ...header("ses_a"), trigger: "second" }), hdr("ses_d")]);
    index.refresh();
    expect(index.allIds()).toEqual(["ses_a", "ses_b", "ses_c", "ses_d"]);
    expect(index.summary("ses_a")).toMatchObject({ id: "ses_a", trigger: "t", status: "running" });
    // The second header is no frame of the journal.
    expect(journalOf(index, "ses_a")).toEqual(["header", 1]);
  });

  test("a session without a header, or not there, has no summary", () => {
    append("a-0.seg", [act("ses_x", 1), note("ses_x", Kind.Status, { status: "waiting", at: 5 })]);
    const index = indexed();
    expect(index.summary("ses_x")).toBeUndefined();
    expect(index.summary("ses_none")).toBeUndefined();
    expect(index.allIds()).toEqual([]);
  });

  test("a summary: attempts the highest journaled unless a status note says, updatedAt the latest time, status the last unfinished note", () => {
    append("a-0.seg", [
      hdr("ses_a", 1000),
      rec("ses_a", { t: "attempt", attempt: 3, at: 4000 }),
      rec("ses_a", { t: "attempt", attempt: 2, at: 3000 }),
      note("ses_a", Kind.Status, { status: "waiting", at: 2000 }),
    ]);
    expect(indexed().summary("ses_a")).toStrictEqual({ ...fields("ses_a", 1000), status: "waiting", attempts: 3, updatedAt: 4000 });
    append("a-0.seg", [note("ses_a", Kind.Status, { status: "running", at: 5000, attempts: 1 })]);
    expect(indexed().summary("ses_a")).toStrictEqual({ ...fields("ses_a", 1000), status: "running", attempts: 1, updatedAt: 5000 });
    // A header alone: created, never updated since.
    append("a-0.seg", [hdr("ses_b", 7000)]);
    expect(indexed().summary("ses_b")).toStrictEqual({ ...fields("ses_b", 7000), status: "running", attempts: 0, updatedAt: 7000 });
  });

  test("an end record finishes a session: its result made JSON-safe, its error as a line with an akts code if it has one", () => {
    const coded = Object.assign(new Error("limit reached"), { code: "AKTS6001" });
    const uncoded = Object.assign(new Error("boom"), { code: "ENOENT" });
    append("a-0.seg", [
      hdr("ses_ok"), rec("ses_ok", { t: "end", ok: true, result: { n: 2n }, at: 3000 }),
      hdr("ses_coded"), rec("ses_coded", { t: "end", ok: false, error: coded, at: 3000 }),
      hdr("ses_plain"), rec("ses_plain", { t: "end", ok: false, error: uncoded, at: 500 }),
      hdr("ses_cancel"), rec("ses_cancel", { t: "end", ok: false, cancelled: true, error: new Error("cancelled"), at: 3000 }),
      hdr("ses_null"), rec("ses_null", { t: "end", ok: false, error: null, at: 3000 }),
      hdr("ses_near"), rec("ses_near", { t: "end", ok: false, error: { code: "xAKTS6001" }, at: 3000 }),
      hdr("ses_long"), rec("ses_long", { t: "end", ok: false, error: { code: "AKTS60011" }, at: 3000 }),
      hdr("ses_short"), rec("ses_short", { t: "end", ok: false, error: { code: "AKTS601" }, at: 3000 }),
      hdr("ses_array"), rec("ses_array", { t: "end", ok: false, error: { code: ["AKTS6001"] }, at: 3000 }),
    ]);
    const index = indexed();
    expect(index.summary("ses_ok")).toStrictEqual({ ...fields("ses_ok", 1000), status: "completed", attempts: 0, updatedAt: 3000, result: { n: "2n" } });
    expect(index.summary("ses_coded")).toStrictEqual({ ...fields("ses_coded", 1000), status: "failed", attempts: 0, updatedAt: 3000, error: "Error: limit reached", errorCode: "AKTS6001" });
    expect(index.summary("ses_plain")).toStrictEqual({ ...fields("ses_plain", 1000), status: "failed", attempts: 0, updatedAt: 1000, error: "Error: boom" });
    expect(index.summary("ses_cancel")).toMatchObject({ status: "cancelled", error: "Error: cancelled" });
    // A thrown null, and codes that only look like akts codes.
    expect(index.summary("ses_null")).toStrictEqual({ ...fields("ses_null", 1000), status: "failed", attempts: 0, updatedAt: 3000, error: "null" });
    for (const id of ["ses_near", "ses_long", "ses_short", "ses_array"]) expect(index.summary(id)).not.toHaveProperty("errorCode");
  });

  test("a final status note is the summary: its status, error, code and result over the end record's", () => {
    append("a-0.seg", [
      hdr("ses_a"),
      rec("ses_a", { t: "end", ok: false, error: new Error("from the end"), at: 2000 }),
      note("ses_a", Kind.Status, { status: "failed", at: 2500, error: "from the note", errorCode: "AKTS4001" }),
      hdr("ses_b"),
      note("ses_b", Kind.Status, { status: "completed", at: 2500, result: { kept: true } }),
      rec("ses_b", { t: "end", ok: true, result: { kept: false }, at: 2000 }),
      // Unfinished notes after a final one change the unfinished status only.
      note("ses_b", Kind.Status, { status: "waiting", at: 2600 }),
    ]);
    const index = indexed();
    expect(index.summary("ses_a")).toStrictEqual({ ...fields("ses_a", 1000), status: "failed", attempts: 0, updatedAt: 2500, error: "from the note", errorCode: "AKTS4001" });
    expect(index.summary("ses_b")).toStrictEqual({ ...fields("ses_b", 1000), status: "completed", attempts: 0, updatedAt: 2600, result: { kept: true } });
  });

  test("a release note frees its fence until a claim of that fence; the claim notes how many records it read", () => {
    const index = new SegmentIndex(dir, () => false);
    append("a-0.seg", [hdr("ses_a"), note("ses_a", Kind.Released, {}), note("ses_a", Kind.Released, {}, 3)]);
    index.refresh();
    const entry = index.sessions.get("ses_a")!;
    expect(entry.claims).toBeUndefined();
    expect([...entry.released!]).toEqual([1, 3]);
    append("b-0.seg", [note("ses_a", Kind.Claim, { prior: 1 }, 3)]);
    index.refresh();
    expect([...entry.released!]).toEqual([1]);
    expect([...entry.claims!]).toEqual([[3, 1]]);
    expect(entry.creator).toBe("a");
  });
});

/** The summary fields a header of `header()` gives. */
const fields = (id: string, createdAt: number) => ({ id, project: "p", trigger: "t", handler: "program.ts:handler", mode: "durable", createdAt });

describe("a session's journal", () => {
  test("fences in order, each one's frames by segment number and then as written, whatever order the segments were read in", () => {
    // Runner b took the session over (fence 2) and wrote in its first segment; runner a's fence 1 spans two. The
    // index finds them in the reverse order, one look each.
    const index = new SegmentIndex(dir, () => false);
    append("b-0.seg", [act("ses_a", 3, "b3", 2), act("ses_a", 4, "b4", 2)]);
    index.refresh();
    append("a-1.seg", [act("ses_a", 2, "a2")]);
    index.refresh();
    append("a-0.seg", [hdr("ses_a"), act("ses_a", 1, "a1")]);
    index.refresh();
    expect(journalOf(index, "ses_a")).toEqual(["header", "a1", "a2", "b3", "b4"]);
    // A runner that took a session back wrote its newer fence first in the file: each fence's frames are read apart.
    append("c-0.seg", [hdr("ses_c"), act("ses_c", 2, "c2", 3), act("ses_c", 1, "c1".repeat(500))]);
    expect(journalOf(indexed(), "ses_c")).toEqual(["header", "c1".repeat(500), "c2"]);
    // A session's next segment: its frame there lies further into that file than the last one in the segment before.
    append("d-0.seg", [hdr("ses_d"), act("ses_d", 1, "d1")]);
    append("d-1.seg", [hdr("ses_other"), act("ses_other", 1, "o".repeat(5000)), act("ses_d", 2, "d2")]);
    expect(journalOf(indexed(), "ses_d")).toEqual(["header", "d1", "d2"]);
  });

  test("a claim's prior cuts what older fences wrote after it; later claims cut what was kept", () => {
    const a = (seq: number, fence = 1) => act("ses_a", seq, `f${fence}:${seq}`, fence);
    append("a-0.seg", [hdr("ses_a"), a(1), a(2), a(3)]);
    append("b-0.seg", [note("ses_a", Kind.Claim, { prior: 3 }, 2)]);
    // Claimed, nothing written since: the stale holder's 3 is cut.
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f1:2"]);
    fs.rmSync(path.join(dir, "b-0.seg"));
    // Fence 2 read 3 records (header, 1, 2): the stale holder's 3 is cut.
    append("b-0.seg", [note("ses_a", Kind.Claim, { prior: 3 }, 2), a(3, 2), a(4, 2)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f1:2", "f2:3", "f2:4"]);
    // Fence 3 read 4 of those: fence 2's 4 is cut, and what fence 3 writes follows.
    append("c-0.seg", [note("ses_a", Kind.Claim, { prior: 4 }, 3), a(4, 3)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f1:2", "f2:3", "f3:4"]);
    // Fence 4 read everything and wrote nothing yet; fence 5's claim read less than fence 3 kept.
    append("d-0.seg", [note("ses_a", Kind.Claim, { prior: 5 }, 4)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f1:2", "f2:3", "f3:4"]);
    append("e-0.seg", [note("ses_a", Kind.Claim, { prior: 2 }, 5), a(2, 5)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f5:2"]);
    // A claim note that says it read more than is kept cuts nothing.
    append("f-0.seg", [note("ses_a", Kind.Claim, { prior: 9 }, 6)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", "f1:1", "f5:2"]);
  });

  test("claims are applied in fence order, whatever order the index found them in", () => {
    const a = (seq: number, fence = 1) => act("ses_a", seq, `f${fence}:${seq}`, fence);
    const index = new SegmentIndex(dir, () => false);
    append("a-0.seg", [hdr("ses_a"), a(1), a(2), a(3)]);
    index.refresh();
    append("c-0.seg", [note("ses_a", Kind.Claim, { prior: 4 }, 3), a(4, 3)]);
    index.refresh();
    append("b-0.seg", [note("ses_a", Kind.Claim, { prior: 3 }, 2), a(3, 2), a(4, 2)]);
    index.refresh();
    expect(journalOf(index, "ses_a")).toEqual(["header", "f1:1", "f1:2", "f2:3", "f3:4"]);
  });

  test("a claim that read everything cuts nothing, and one of a fence nobody wrote in keeps the frames after it", () => {
    append("a-0.seg", [hdr("ses_a"), act("ses_a", 1)]);
    append("b-0.seg", [note("ses_a", Kind.Claim, { prior: 2 }, 2), act("ses_a", 2, 2, 2)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", 1, 2]);
    // Fence 3 claimed it and died before writing; fence 4 read the three records.
    append("c-0.seg", [note("ses_a", Kind.Claim, { prior: 3 }, 3)]);
    append("d-0.seg", [note("ses_a", Kind.Claim, { prior: 3 }, 4), act("ses_a", 3, 3, 4)]);
    expect(journalOf(indexed(), "ses_a")).toEqual(["header", 1, 2, 3]);
  });

  test("a session's frames between other sessions' entries are moved into place, near ones read at once and far ones apart", () => {
    const big = "x".repeat(100 << 10);
    append("a-0.seg", [
      hdr("ses_a"), hdr("ses_b"),
      act("ses_b", 1, "b1"), act("ses_a", 1, "a1"), act("ses_b", 2, big), act("ses_a", 2, "a2"),
      act("ses_b", 3, big), act("ses_b", 4, big), act("ses_b", 5, big), act("ses_a", 3, "a3"), act("ses_a", 4, big),
    ]);
    append("a-1.seg", [act("ses_b", 6, "b6"), act("ses_a", 5, "a5")]);
    // A gap just over the slack of a short journal (64 KiB), then a frame longer than it: read apart.
    append("a-2.seg", [hdr("ses_c"), act("ses_c", 1, "c1"), act("ses_b", 7, "g".repeat(66 << 10)), act("ses_c", 2, big)]);
    const index = indexed();
    expect(journalOf(index, "ses_c")).toEqual(["header", "c1", big]);
    expect(journalOf(index, "ses_a")).toEqual(["header", "a1", "a2", "a3", big, "a5"]);
    expect(journalOf(index, "ses_b")).toEqual(["header", "b1", big, big, big, big, "b6", "g".repeat(66 << 10)]);
    // The image is exactly the journal: a file header, then the frames.
    const { image } = index.journal("ses_a");
    // Its reads leave no file open.
    expect(openFiles().filter((f) => f.startsWith(dir))).toEqual([]);
    const frames = ["a1", "a2", "a3", big, "a5"].map((v, i) => encodeFrame(activity(i + 1, v)));
    expect(image.equals(Buffer.concat([fileHeader(), encodeFrame(header("ses_a")), ...frames]))).toBe(true);
  });

  test("a segment cut inside an entry the index found is damage, named with the segment", () => {
    const file = append("a-0.seg", [hdr("ses_a"), act("ses_a", 1, "y".repeat(1000))]);
    const index = indexed();
    fs.truncateSync(file, fs.statSync(file).size - 10);
    expect(thrown(() => index.journal("ses_a"))).toMatchObject({ file, offset: fs.statSync(file).size, message: expect.stringMatching(/the segment ends inside an entry/) });
  });
});

describe("other runners' segments", () => {
  test("a live runner's new entries are read from where the last look stopped; a stopped runner's segment is read once, to its end", async () => {
    append("a-0.seg", [hdr("ses_a")]);
    append("b-0.seg", [hdr("ses_b")]);
    let stopped = false;
    const index = new SegmentIndex(dir, (runner) => runner === "b" && stopped, true, tmp);
    index.refresh();
    append("a-0.seg", [act("ses_a", 1), note("ses_a", Kind.Status, { status: "waiting", at: 2000 }), hdr("ses_a2", 3000)]);
    append("b-0.seg", [act("ses_b", 1)]);
    stopped = true;
    index.refresh();
    expect(journalOf(index, "ses_a")).toEqual(["header", 1]);
    expect(journalOf(index, "ses_b")).toEqual(["header", 1]);
    // What the tail's notes and headers say (decoded from the bytes of that look).
    expect(index.summary("ses_a")).toMatchObject({ status: "waiting", updatedAt: 2000 });
    expect(index.summary("ses_a2")).toMatchObject({ id: "ses_a2", createdAt: 3000 });
    // b stopped and was read to its end: its segment gets a sidecar of everything read, over both looks.
    await settled();
    expect(readSidecar(path.join(dir, "b-0.seg"))?.rows.map((r) => r[0])).toEqual([Kind.Header, Kind.Record]);
    append("a-0.seg", [act("ses_a", 2)]);
    // Written after b stopped (no runner does that): not read again.
    append("b-0.seg", [act("ses_b", 2)]);
    index.refresh();
    index.refresh();
    expect(journalOf(index, "ses_a")).toEqual(["header", 1, 2]);
    expect(journalOf(index, "ses_b")).toEqual(["header", 1]);
    // A new segment of a runner, and files that are no segments, in the folder.
    fs.writeFileSync(path.join(dir, "a.lease"), "{}");
    fs.writeFileSync(path.join(dir, "notes.txt"), "");
    append("a-1.seg", [act("ses_a", 3)]);
    index.refresh();
    expect(journalOf(index, "ses_a")).toEqual(["header", 1, 2, 3]);
    // A live segment cut shorter than what was read of it (by hand): the next looks read nothing of it, and do not fail.
    fs.truncateSync(path.join(dir, "a-1.seg"), SEGMENT_HEADER_SIZE);
    index.refresh();
    expect(index.summary("ses_a")).toMatchObject({ status: "waiting" });
  });

  test("no segments folder yet: nothing indexed; a segments path that is no folder is an error", () => {
    fs.rmSync(dir, { recursive: true });
    const index = indexed();
    expect(index.allIds()).toEqual([]);
    fs.writeFileSync(dir, "");
    expect(() => index.refresh()).toThrow(/ENOTDIR/);
  });

  test("a stopped runner's torn tail is cut to zeros once, with a notice for its sessions' reads; a live one's, or a reader's, is left", () => {
    const file = append("a-0.seg", [hdr("ses_a"), act("ses_a", 1)]);
    const whole = fs.statSync(file).size;
    const torn = Buffer.concat(parts(act("ses_a", 2, "z".repeat(50)))).subarray(0, 40);
    fs.appendFileSync(file, torn);
    for (const [done, repair] of [[[], true], [["a"], false]] as const) {
      const index = indexed([...done], repair);
      expect(journalOf(index, "ses_a")).toEqual(["header", 1]);
      expect(index.journal("ses_a").notices).toEqual([]);
      expect(fs.readFileSync(file).subarray(whole).equals(torn)).toBe(true);
    }
    // An index repairs unless told it only reads.
    const index = new SegmentIndex(dir, (runner) => runner === "a");
    index.refresh();
    expect(index.journal("ses_a").notices).toEqual([`segment ${file}: cut ${torn.length} torn bytes at offset ${whole}`]);
    expect(fs.readFileSync(file).subarray(whole).equals(Buffer.alloc(torn.length))).toBe(true);
    expect(fs.statSync(file).size).toBe(whole + torn.length);
    // Cut: the next look finds a clean end.
    expect(indexed(["a"]).journal("ses_a").notices).toEqual([]);
  });

  test("damage before the end fails the reads of its session only, and a segment with damage gets no sidecar", async () => {
    const file = append("a-0.seg", [
      hdr("ses_a"), hdr("ses_b"), act("ses_a", 1, "q".repeat(100)), act("ses_b", 1), act("ses_a", 2, "r".repeat(100)), act("ses_b", 2), act("ses_b", 3), act("ses_b", 4),
    ]);
    const buf = fs.readFileSync(file);
    const [damaged, later, nameless] = [2, 4, 6].map((i) => scanSegment(buf, 0, file).entries[i]);
    // Two damaged entries of the session: the first is named. A third whose head no longer names a session.
    buf[damaged.at + 50] ^= 1;
    buf[later.at + 50] ^= 1;
    buf[nameless.at - "ses_b".length] = "X".charCodeAt(0);
    fs.writeFileSync(file, buf);
    const index = indexed(["a"]);
    await settled();
    expect(thrown(() => index.journal("ses_a"))).toMatchObject({ file, offset: damaged.at - 6 - "ses_a".length - 8 });
    // The damage that names no session is no session's: ses_b's entries around it read.
    expect(journalOf(index, "ses_b")).toEqual(["header", 1, 2, 4]);
    expect(fs.existsSync(sidecarPath(file))).toBe(false);
    expect([...index.sessions.keys()].sort()).toEqual(["ses_a", "ses_b"]);
  });
});

/** Lets the sidecar writes an index started (not awaited: they are a shortcut) finish. */
async function settled(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setTimeout(r, 5));
}

describe("sidecars", () => {
  test("a stopped runner's segment read whole gets a sidecar, which the next index reads instead: the same sessions, journals and summaries", async () => {
    const file = append("a-0.seg", [
      hdr("ses_a"), rec("ses_a", { t: "attempt", attempt: 1, at: 1500 }), act("ses_a", 1, "value-to-damage"),
      note("ses_a", Kind.Status, { status: "waiting", at: 1600 }), note("ses_a", Kind.Released, {}),
      hdr("ses_b"), rec("ses_b", { t: "end", ok: true, result: 7, at: 1700 }), note("ses_b", Kind.Claim, { prior: 1 }, 2),
    ]);
    const first = indexed(["a"]);
    await settled();
    const sidecar = readSidecar(file)!;
    expect(sidecar.end).toBe(fs.statSync(file).size);
    // Values for what the index decodes; none for journal records or releases.
    expect(sidecar.rows.map((r) => [r[0], r.length])).toEqual([
      [Kind.Header, 6], [Kind.Attempt, 6], [Kind.Record, 5], [Kind.Status, 6], [Kind.Released, 5], [Kind.Header, 6], [Kind.End, 6], [Kind.Claim, 6],
    ]);
    // Its frames are no longer read at open: garbage in one of them proves it, and is found when the journal is read.
    const buf = fs.readFileSync(file);
    buf[buf.indexOf("value-to-damage")] = "V".charCodeAt(0);
    fs.writeFileSync(file, buf);
    const second = indexed(["a"]);
    for (const id of ["ses_a", "ses_b"]) expect(second.summary(id)).toEqual(first.summary(id));
    expect(second.sessions.get("ses_a")!.released).toEqual(new Set([1]));
    expect(second.sessions.get("ses_b")!.claims).toEqual(new Map([[2, 1]]));
    // Its claim read the header only.
    expect(journalOf(second, "ses_b")).toEqual(["header"]);
    const frameAt = first.sessions.get("ses_a")!.frames[2].at - 6 - "ses_a".length - 8;
    expect(thrown(() => second.journal("ses_a"))).toMatchObject({ file, offset: frameAt, message: expect.stringMatching(/fails its checksum/) });
  });

  test("no sidecar for a live runner's segment, for a reader that does not repair, or without a folder for temporary files", async () => {
    const file = append("a-0.seg", [hdr("ses_a")]);
    indexed([]);
    indexed(["a"], false);
    new SegmentIndex(dir, () => true, true, undefined).refresh();
    await settled();
    expect(fs.existsSync(sidecarPath(file))).toBe(false);
    expect(fs.readdirSync(tmp)).toEqual([]);
  });

  test("an own segment is indexed as written, never read back; sealed, its sidecar holds its rows, once", async () => {
    const index = indexed();
    const file = path.join(dir, "me-0.seg");
    const info = index.ownSegment(file, "me", 0);
    const entries: Entry[] = [];
    let at = SEGMENT_HEADER_SIZE;
    const bodies: Buffer[] = [];
    for (const spec of [hdr("ses_m"), act("ses_m", 1)]) {
      const [head, body] = parts(spec);
      const entry: Entry = { kind: head[8], fence: 1, session: "ses_m", at: at + head.length, length: body.length };
      at += head.length + body.length;
      entries.push(entry);
      bodies.push(head, body);
      index.add(info, entry, () => body, "record" in spec ? spec.record : undefined);
    }
    fs.writeFileSync(file, Buffer.concat([segmentHeader(), ...bodies]));
    index.refresh();
    expect(index.allIds()).toEqual(["ses_m"]);
    expect(journalOf(index, "ses_m")).toEqual(["header", 1]);
    // Five numbers an entry; a value for the header only.
    expect(info.rows!.entries()).toHaveLength(10);
    expect(info.rows!.values).toHaveLength(1);
    await index.seal(info, at, at);
    expect(readSidecar(file)?.rows.map((r) => r.slice(0, 5))).toEqual(entries.map((e) => [e.kind, 1, "ses_m", e.at, e.length]));
    expect(info.rows).toBeUndefined();
    fs.rmSync(sidecarPath(file));
    await index.seal(info, at, at);
    expect(fs.existsSync(sidecarPath(file))).toBe(false);
    const reader = new SegmentIndex(dir, () => false);
    const other = reader.ownSegment(path.join(dir, "me-1.seg"), "me", 1);
    await reader.seal(other, SEGMENT_HEADER_SIZE, SEGMENT_HEADER_SIZE);
    expect(fs.existsSync(sidecarPath(path.join(dir, "me-1.seg")))).toBe(false);
  });
});
