/**
 * The file store's segment bytes (runtime/store/segment-format.ts) and their index sidecars (segment-sidecar.ts), on
 * images and small files built in the test: what a scan finds, reports as damage or leaves as a torn tail, and which
 * sidecars a store may trust instead of its segment's frames.
 */
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { decode, encode } from "../runtime/codec";
import { encodeFrame } from "../runtime/journal";
import { RESIDUE } from "../runtime/crc";
import type { HeaderRecord, JournalRecord } from "../runtime/journal-records";
import {
  entryParts,
  isRecordKind,
  Kind,
  noteBody,
  readAt,
  recordKind,
  scanSegment,
  SEGMENT_HEADER_SIZE,
  segmentHeader,
} from "../runtime/store/segment-format";
import { readSidecar, rowEntry, sidecarPath, SidecarRows, writeSidecar, type Row } from "../runtime/store/segment-sidecar";
import { tempDir } from "./helpers";

const activity = (seq: number, value: unknown): JournalRecord => ({ t: "activity", seq, site: "a.ts:1:1", callee: "f", ok: true, value, async: true, start: 1, end: 2 });

const A = "ses_01AAAAAAAAAAAAAAAAAAAAAAAA";
const B = "ses_7b";

interface Spec {
  kind: Kind;
  fence: number;
  session: string;
  body: Buffer;
}

/** A segment image: its header and the entries, each at the offset returned (its frame's start). */
function image(specs: Spec[]): { buf: Buffer; starts: number[] } {
  const parts: Buffer[] = [segmentHeader()];
  const starts: number[] = [];
  let at = SEGMENT_HEADER_SIZE;
  for (const s of specs) {
    starts.push(at);
    const entry = Buffer.concat(entryParts(s.kind, s.fence, s.session, s.body));
    parts.push(entry);
    at += entry.length;
  }
  return { buf: Buffer.concat(parts), starts };
}

const SPECS: Spec[] = [
  { kind: Kind.Record, fence: 1, session: A, body: encodeFrame(activity(1, "one")) },
  { kind: Kind.Status, fence: 0x01020304, session: B, body: noteBody({ status: "waiting" }) },
  { kind: Kind.Record, fence: 2, session: A, body: encodeFrame(activity(2, "x".repeat(300))) },
  { kind: Kind.Claim, fence: 3, session: A, body: noteBody({ prior: 2 }) },
];

describe("segment entries", () => {
  test("a segment's header is its magic and version; each record kind has its entry kind", () => {
    const header = segmentHeader();
    expect(header.length).toBe(SEGMENT_HEADER_SIZE);
    expect(header.toString("latin1", 0, 8)).toBe("AKTSSEG\0");
    expect(header.readUInt32LE(8)).toBe(1);
    expect(header.subarray(12).every((b) => b === 0)).toBe(true);
    expect(recordKind({ t: "header" } as HeaderRecord)).toBe(Kind.Header);
    expect(recordKind({ t: "attempt", attempt: 2, at: 1 })).toBe(Kind.Attempt);
    expect(recordKind({ t: "end", ok: true, at: 1 })).toBe(Kind.End);
    expect(recordKind(activity(1, "v"))).toBe(Kind.Record);
    expect(recordKind({ t: "timer", seq: 1, site: "s", deadline: 1 })).toBe(Kind.Record);
    expect([0, 1, 2, 3, 4, 5, 6, 7].filter(isRecordKind)).toEqual([Kind.Header, Kind.Attempt, Kind.End, Kind.Record]);
    expect(decode(noteBody({ status: "waiting", n: 2 }))).toEqual({ status: "waiting", n: 2 });
  });

  test("a scan gives each entry's kind, fence, session and body place; preallocated zeros after them end the data", () => {
    const { buf, starts } = image(SPECS);
    const file = Buffer.concat([buf, Buffer.alloc(4096)]);
    const scan = scanSegment(file, 0, "s.seg");
    expect(scan.damage).toEqual([]);
    expect(scan.torn).toBe(0);
    expect(scan.end).toBe(buf.length);
    expect(scan.entries.map(({ kind, fence, session }) => ({ kind, fence, session }))).toEqual(
      SPECS.map(({ kind, fence, session }) => ({ kind, fence, session })),
    );
    scan.entries.forEach((e, i) => {
      expect(e.at).toBe(starts[i] + 8 + 6 + SPECS[i].session.length);
      expect(file.subarray(e.at, e.at + e.length).equals(SPECS[i].body)).toBe(true);
    });
  });

  // Entries of one session follow one another, then differ in one field each.
  const REPEATED: Spec[] = [
    { kind: Kind.Record, fence: 1, session: A, body: encodeFrame(activity(1, "one")) },
    { kind: Kind.Record, fence: 1, session: A, body: encodeFrame(activity(2, "two")) },
    { kind: Kind.Status, fence: 1, session: A, body: noteBody({ status: "waiting" }) },
    { kind: Kind.Status, fence: 2, session: A, body: noteBody({ status: "running" }) },
    { kind: Kind.Status, fence: 2, session: B, body: noteBody({ status: "running" }) },
    { kind: Kind.Status, fence: 2, session: B, body: noteBody({ status: "waiting" }) },
    { kind: Kind.Record, fence: 2, session: B, body: encodeFrame(activity(3, "three")) },
  ];

  test.each([["different entries", SPECS], ["a session's entries one after another", REPEATED]])("an entry's head is its length, kind, fence and session id, and a check word that makes the entry's crc RESIDUE; every byte is written (%s)", (_, specs) => {
    // The head's buffers (its fields', its own) come from the pool unzeroed: here all 0xa5, so a byte left unwritten shows.
    const pooled = vi.spyOn(Buffer, "allocUnsafe").mockImplementation((size: number) => Buffer.alloc(size, 0xa5));
    let entries: Buffer[][];
    try {
      entries = specs.map((s) => entryParts(s.kind, s.fence, s.session, s.body));
      expect(pooled).toHaveBeenCalledTimes(2 * specs.length);
    } finally {
      pooled.mockRestore();
    }
    specs.forEach((s, i) => {
      const [head, body] = entries[i];
      expect(body).toBe(s.body);
      const id = Buffer.from(s.session, "latin1");
      const fields = Buffer.alloc(6 + id.length);
      fields.writeUInt8(s.kind, 0);
      fields.writeUInt32LE(s.fence, 1);
      fields.writeUInt8(id.length, 5);
      id.copy(fields, 6);
      expect(head.length).toBe(8 + fields.length);
      expect(head.readUInt32LE(0)).toBe(fields.length + body.length);
      expect(head.subarray(8).equals(fields)).toBe(true);
      expect(crc32(Buffer.concat([head, body]), RESIDUE)).toBe(RESIDUE);
    });
  });

  test("a scan from an entry boundary gives the entries after it at their file offsets", () => {
    const { buf, starts } = image(SPECS);
    const whole = scanSegment(buf, 0, "s.seg");
    const later = scanSegment(buf.subarray(starts[2]), starts[2], "s.seg");
    expect(later).toEqual({ entries: whole.entries.slice(2), end: buf.length, torn: 0, damage: [] });
  });

  test("an empty or all-zero file has no entries; a bad magic, a short header or another version is damage", () => {
    for (const empty of [Buffer.alloc(0), Buffer.alloc(4096)]) {
      expect(scanSegment(empty, 0, "z.seg")).toEqual({ entries: [], end: 0, torn: 0, damage: [] });
    }
    const { buf } = image(SPECS);
    const magic = Buffer.from(buf);
    magic[3] ^= 1;
    expect(scanSegment(magic, 0, "m.seg")).toEqual({ entries: [], end: 0, torn: 0, damage: [{ at: 0, detail: "not an akts segment (bad magic): m.seg" }] });
    expect(scanSegment(buf.subarray(0, 12), 0, "h.seg").damage).toEqual([{ at: 0, detail: "not an akts segment (bad magic): h.seg" }]);
    const version = Buffer.from(buf);
    version.writeUInt32LE(2, 8);
    expect(scanSegment(version, 0, "v.seg")).toEqual({ entries: [], end: 0, torn: 0, damage: [{ at: 8, detail: "unsupported segment version 2" }] });
  });

  test("a last entry cut short is a torn tail from its start; nothing is damage", () => {
    const { buf, starts } = image(SPECS);
    // A file cut inside the entry (its end runs past the data): a write the crash did not finish.
    const cut = buf.subarray(0, buf.length - 5);
    const scan = scanSegment(cut, 0, "t.seg");
    expect(scan.damage).toEqual([]);
    expect(scan.entries).toHaveLength(3);
    expect(scan.end).toBe(starts[3]);
    expect(scan.torn).toBe(cut.length - starts[3]);
  });

  test("a damaged entry followed by a valid one is skipped and reported with its offset and session", () => {
    const { buf, starts } = image(SPECS);
    // Damage in the fence, in the session id (the entry names no session then), and in the body's journal frame:
    // the journal frame inside a damaged entry's body is valid on its own, but it is no entry.
    for (const [offset, session] of [[9, A], [8 + 6 + 3, undefined], [8 + 6 + A.length + 40, A]] as const) {
      const damaged = Buffer.from(buf);
      damaged[starts[2] + offset] ^= 0xff;
      const scan = scanSegment(damaged, 0, "d.seg");
      expect(scan.damage).toEqual([
        { at: starts[2], detail: `frame checksum or length mismatch (a valid entry follows at byte ${starts[3]})`, ...(session ? { session } : {}) },
      ]);
      expect(scan.entries.map((e) => e.fence)).toEqual([1, 0x01020304, 3]);
      expect(scan.end).toBe(buf.length);
      expect(scan.torn).toBe(0);
      // Scanned from an entry boundary before it, the offsets are the file's.
      expect(scanSegment(damaged.subarray(starts[1]), starts[1], "d.seg").damage[0].detail).toContain(`at byte ${starts[3]}`);
    }
  });

  test("a damaged last entry written whole is damage; its valid body frame does not make it an entry", () => {
    const { buf, starts } = image(SPECS.slice(0, 3));
    const damaged = Buffer.from(buf);
    damaged[starts[2] + 9] ^= 0xff;
    const scan = scanSegment(damaged, 0, "w.seg");
    expect(scan.entries).toHaveLength(2);
    expect(scan.damage).toEqual([{ at: starts[2], detail: expect.stringMatching(/valid frame follows/), session: A }]);
    expect(scan.end).toBe(buf.length);
  });

  test("a damaged entry's session is named only when its head still reads as a session id", () => {
    for (const id of ["not-a-session", "my-ses_1", "ses_1-x"]) {
      const odd = image([
        { kind: Kind.Record, fence: 1, session: id, body: encodeFrame(activity(1, "a")) },
        { kind: Kind.Record, fence: 1, session: A, body: encodeFrame(activity(2, "b")) },
      ]);
      const damaged = Buffer.from(odd.buf);
      damaged[odd.starts[1] - 3] ^= 0xff;
      expect(scanSegment(damaged, 0, "o.seg").damage).toEqual([{ at: odd.starts[0], detail: expect.stringMatching(/valid entry follows/) }]);
    }
    // A last entry whose id length runs past the segment's end: the id's bytes up to the end are not taken for it.
    const last = image([...SPECS.slice(0, 1), { kind: Kind.Released, fence: 1, session: "ses_abcdef", body: Buffer.alloc(0) }]);
    const whole = Buffer.from(last.buf);
    last.buf[last.starts[1] + 8 + 5] = 20;
    expect(scanSegment(last.buf, 0, "e.seg").damage).toEqual([{ at: last.starts[1], detail: "a whole frame fails its checksum: damage, not a torn write" }]);
    // Its fence damaged instead: the id, which ends exactly at the segment's end, still names it.
    whole[last.starts[1] + 9] ^= 0xff;
    expect(scanSegment(whole, 0, "e.seg").damage).toEqual([{ at: last.starts[1], detail: "a whole frame fails its checksum: damage, not a torn write", session: "ses_abcdef" }]);
    // An id length that runs past the data: the head names no session.
    const { buf, starts } = image(SPECS.slice(0, 2));
    const long = Buffer.from(buf);
    long[starts[1] + 8 + 5] = 200;
    const scan = scanSegment(Buffer.concat([long, encodeFrame(activity(9, "after"))]), 0, "l.seg");
    expect(scan.damage).toHaveLength(1);
    expect(scan.damage[0]).not.toHaveProperty("session");
    // A head cut inside its fixed bytes, written whole (a valid frame after it): no session either.
    const short = Buffer.concat([buf.subarray(0, starts[1] + 8 + 3)]);
    short[starts[1] + 9] ^= 1;
    const scanShort = scanSegment(short, 0, "s.seg");
    expect(scanShort.entries).toHaveLength(1);
  });

  test("a valid frame too short to hold an entry's head is not an entry", () => {
    const { buf } = image(SPECS.slice(0, 1));
    // A journal frame whose payload (a msgpack fixint) is one byte: its crc checks, but it has no kind, fence or id.
    const tiny = encodeFrame(5 as never);
    const scan = scanSegment(Buffer.concat([buf, tiny, Buffer.concat(entryParts(Kind.Record, 4, B, encodeFrame(activity(2, "b"))))]), 0, "x.seg");
    expect(scan.entries.map((e) => e.fence)).toEqual([1, 4]);
    expect(scan.damage).toEqual([{ at: buf.length, detail: `frame checksum or length mismatch (a valid entry follows at byte ${buf.length + tiny.length})` }]);
    // As the last thing in the segment: damage (it was written whole), with no session read past its end.
    expect(scanSegment(Buffer.concat([buf, tiny]), 0, "x.seg").damage).toEqual([{ at: buf.length, detail: "a whole frame fails its checksum: damage, not a torn write" }]);
  });

  test("a valid frame of no known kind is not an entry", () => {
    const { buf } = image(SPECS.slice(0, 1));
    for (const kind of [0, 8]) {
      const odd = Buffer.concat(entryParts(kind as Kind, 4, B, noteBody(1)));
      const scan = scanSegment(Buffer.concat([buf, odd, Buffer.concat(entryParts(Kind.Record, 5, B, encodeFrame(activity(2, "b"))))]), 0, "k.seg");
      expect(scan.entries.map((e) => e.fence)).toEqual([1, 5]);
      expect(scan.damage.map((d) => d.at)).toEqual([buf.length]);
    }
  });

  test("readAt reads the bytes asked for at an offset, fewer at the file's end", () => {
    const dir = tempDir("segfmt");
    try {
      const file = path.join(dir, "f");
      const data = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
      fs.writeFileSync(file, data);
      const fd = fs.openSync(file, "r");
      try {
        expect(readAt(fd, 10, 100).equals(data.subarray(10, 110))).toBe(true);
        expect(readAt(fd, 250, 100).equals(data.subarray(250))).toBe(true);
        expect(readAt(fd, 400, 10).length).toBe(0);
      } finally {
        fs.closeSync(fd);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("segment sidecars", () => {
  let dir: string;
  let tmp: string;
  let seg: string;
  beforeEach(() => {
    dir = tempDir("sidecar");
    tmp = path.join(dir, "tmp");
    fs.mkdirSync(tmp);
    seg = path.join(dir, "r-1.seg");
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const HEADER: HeaderRecord = {
    t: "header", v: 1, sessionId: A, project: "p", trigger: "t", handler: "h", mode: "durable", event: { big: "e".repeat(500) }, createdAt: 7,
    fingerprint: "f", manifest: "/m",
  };

  /** writeSidecar of `rows`, added as the index adds them. */
  function writeRows(segment: string, tmpDir: string, size: number, end: number, rows: Row[]): Promise<void> {
    const compact = new SidecarRows();
    for (const [kind, fence, session, at, length, value] of rows) compact.add(kind, fence, session, at, length, value);
    return writeSidecar(segment, tmpDir, size, end, compact);
  }

  /** A sealed segment of `specs` padded with zeros, its scan's rows, and the size and end a sidecar records. */
  function sealed(specs: Spec[], values: unknown[]): { rows: Row[]; size: number; end: number } {
    const { buf } = image(specs);
    fs.writeFileSync(seg, Buffer.concat([buf, Buffer.alloc(1000)]));
    const scan = scanSegment(fs.readFileSync(seg), 0, seg);
    const rows = scan.entries.map((e, i): Row => (values[i] === undefined ? [e.kind, e.fence, e.session, e.at, e.length] : [e.kind, e.fence, e.session, e.at, e.length, values[i]]));
    return { rows, size: buf.length + 1000, end: scan.end };
  }

  const withHeader = (): { rows: Row[]; size: number; end: number } =>
    sealed(
      [
        { kind: Kind.Header, fence: 1, session: A, body: encodeFrame(HEADER) },
        { kind: Kind.Record, fence: 1, session: A, body: encodeFrame(activity(1, "v")) },
        { kind: Kind.Status, fence: 1, session: B, body: noteBody({ status: "waiting" }) },
        { kind: Kind.Released, fence: 1, session: B, body: noteBody(null) },
        { kind: Kind.End, fence: 2, session: A, body: encodeFrame({ t: "end", ok: true, result: 1, at: 9 }) },
      ],
      [HEADER, undefined, { status: "waiting" }, undefined, { t: "end", ok: true, result: 1, at: 9 }],
    );

  /** Rewrites the sidecar with `edit` applied to its decoded body, its checksum made right again. */
  function rewrite(edit: (body: Record<string, unknown>) => unknown): void {
    const data = fs.readFileSync(sidecarPath(seg));
    const body = encode(edit(decode(data.subarray(16)) as Record<string, unknown>));
    const head = Buffer.from(data.subarray(0, 16));
    head.writeUInt32LE(crc32(body), 12);
    fs.writeFileSync(sidecarPath(seg), Buffer.concat([head, body]));
  }

  test("a sidecar gives back its segment's rows and end; headers keep their index fields only; nothing is left in tmp", async () => {
    const { rows, size, end } = withHeader();
    const open = fs.readdirSync("/proc/self/fd").length;
    await writeRows(seg, tmp, size, end, rows);
    expect(readSidecar(seg)).toBeDefined();
    // Neither the write nor the read (of the sidecar and of its segment's last entry) leaves a file open.
    expect(fs.readdirSync("/proc/self/fd").length).toBe(open);
    expect(sidecarPath(seg)).toBe(path.join(dir, "r-1.idx"));
    expect(sidecarPath("/srv/app.seg/.akts/segments/r-1.seg")).toBe("/srv/app.seg/.akts/segments/r-1.idx");
    expect(fs.statSync(sidecarPath(seg)).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(tmp)).toEqual([]);
    const read = readSidecar(seg)!;
    expect(read.end).toBe(end);
    const { t, sessionId, project, trigger, handler, mode, createdAt } = HEADER;
    expect(read.rows).toEqual([[...rows[0].slice(0, 5), { t, sessionId, project, trigger, handler, mode, createdAt }], ...rows.slice(1)]);
    expect(read.rows.map(rowEntry)).toEqual(scanSegment(fs.readFileSync(seg), 0, seg).entries);
  });

  test("rows kept over several chunks give the sidecar every entry in order, each session's id once", () => {
    const rows = new SidecarRows();
    const expected: number[] = [];
    let at = SEGMENT_HEADER_SIZE;
    for (let i = 0; i < 2 * 4096 + 3; i++) {
      const head = 20 + (i % 7);
      rows.add(Kind.Record, 1 + (i % 3), i % 2 ? A : B, at + head, i);
      expected.push(Kind.Record, 1 + (i % 3), i % 2 ? 1 : 0, head, i);
      at += head + i;
    }
    expect(rows.ids).toEqual([B, A]);
    expect(rows.entries()).toEqual(expected);
    expect(rows.values).toEqual([]);
  });

  test("a header's parent is kept in the sidecar", async () => {
    const child = { ...HEADER, parent: "ses_parent" };
    const { rows, size, end } = sealed([{ kind: Kind.Header, fence: 1, session: A, body: encodeFrame(child) }], [child]);
    await writeRows(seg, tmp, size, end, rows);
    expect(readSidecar(seg)!.rows[0][5]).toMatchObject({ parent: "ses_parent" });
  });

  test("an empty sealed segment's sidecar reads back; one whose end is past the header does not", async () => {
    fs.writeFileSync(seg, Buffer.concat([segmentHeader(), Buffer.alloc(200)]));
    await writeRows(seg, tmp, 216, SEGMENT_HEADER_SIZE, []);
    expect(readSidecar(seg)).toEqual({ rows: [], end: SEGMENT_HEADER_SIZE });
    await writeRows(seg, tmp, 216, SEGMENT_HEADER_SIZE + 8, []);
    expect(readSidecar(seg)).toBeUndefined();
  });

  test("a sidecar that is missing, damaged, of another version or of another segment is not read", async () => {
    const { rows, size, end } = withHeader();
    expect(readSidecar(seg)).toBeUndefined();
    await writeRows(seg, tmp, size, end, rows);
    const good = fs.readFileSync(sidecarPath(seg));
    const broken = (edit: (b: Buffer) => Buffer): unknown => {
      fs.writeFileSync(sidecarPath(seg), edit(Buffer.from(good)));
      return readSidecar(seg);
    };
    expect(broken((b) => b.subarray(0, 12))).toBeUndefined();
    expect(broken((b) => ((b[2] ^= 1), b))).toBeUndefined();
    expect(broken((b) => (b.writeUInt32LE(2, 8), b))).toBeUndefined();
    expect(broken((b) => ((b[b.length - 1] ^= 1), b))).toBeUndefined();
    // A checksum that is right over bytes that are not msgpack.
    expect(broken((b) => {
      const junk = Buffer.from([0xc1, 0xc1]);
      b.writeUInt32LE(crc32(junk), 12);
      return Buffer.concat([b.subarray(0, 16), junk]);
    })).toBeUndefined();
    fs.writeFileSync(sidecarPath(seg), good);
    expect(readSidecar(seg)).toBeDefined();
    // The same sidecar beside a copy of its segment under another name.
    const other = path.join(dir, "r-2.seg");
    fs.copyFileSync(seg, other);
    fs.copyFileSync(sidecarPath(seg), sidecarPath(other));
    expect(readSidecar(other)).toBeUndefined();
  });

  test("a sidecar whose rows do not add up is not read", async () => {
    const { rows, size, end } = withHeader();
    await writeRows(seg, tmp, size, end, rows);
    rewrite((b) => ({ ...b, entries: (b.entries as number[]).slice(0, -1) }));
    expect(readSidecar(seg)).toBeUndefined();
    await writeRows(seg, tmp, size, end, rows);
    rewrite((b) => ({ ...b, values: (b.values as unknown[]).slice(1) }));
    expect(readSidecar(seg)).toBeUndefined();
    await writeRows(seg, tmp, size, end, rows);
    rewrite((b) => ({ ...b, values: [...(b.values as unknown[]), 1] }));
    expect(readSidecar(seg)).toBeUndefined();
    for (const field of ["ids", "entries", "values"]) {
      await writeRows(seg, tmp, size, end, rows);
      rewrite((b) => ({ ...b, [field]: 5 }));
      expect(readSidecar(seg)).toBeUndefined();
    }
    await writeRows(seg, tmp, size, end, rows);
    rewrite(() => null);
    expect(readSidecar(seg)).toBeUndefined();
  });

  test("a sidecar that disagrees with its segment is not read: size, header, last entry, bytes after the end", async () => {
    const { rows, size, end } = withHeader();
    const original = fs.readFileSync(seg);
    const check = async (segment: Buffer, sidecarEnd = end, sidecarRows = rows): Promise<unknown> => {
      fs.writeFileSync(seg, segment);
      await writeRows(seg, tmp, segment.length, sidecarEnd, sidecarRows);
      return readSidecar(seg);
    };
    expect(await check(original)).toBeDefined();
    fs.writeFileSync(seg, Buffer.concat([original, Buffer.alloc(1)]));
    expect(readSidecar(seg)).toBeUndefined();
    const header = Buffer.from(original);
    header[12] = 1;
    expect(await check(header)).toBeUndefined();
    // An entry appended after the sidecar's end, within the bytes it checks.
    const appended = Buffer.from(original);
    appended[end + 63] = 1;
    expect(await check(appended)).toBeUndefined();
    const further = Buffer.from(original);
    further[end + 64] = 1;
    expect(await check(further)).toBeDefined();
    // The last entry damaged, or its row's place not where the sidecar's end says.
    const last = Buffer.from(original);
    last[end - 2] ^= 0xff;
    expect(await check(last)).toBeUndefined();
    expect(await check(original, end - 1)).toBeUndefined();
    const moved = rows.map((r, i): Row => (i === rows.length - 1 ? [r[0], r[1], r[2], r[3] - 1, r[4] + 1, ...r.slice(5)] as Row : r));
    expect(await check(original, end, moved)).toBeUndefined();
    const short = rows.map((r, i): Row => (i === rows.length - 1 ? [r[0], r[1], r[2], r[3], r[4] - 1, ...r.slice(5)] as Row : r));
    expect(await check(original, end, short)).toBeUndefined();
    fs.rmSync(seg);
    expect(readSidecar(seg)).toBeUndefined();
    expect(size).toBe(original.length);
  });

  test("a sidecar that cannot be written rejects and leaves no temporary file", async () => {
    const { rows, size, end } = withHeader();
    await expect(writeRows(seg, path.join(dir, "none"), size, end, rows)).rejects.toThrow(/ENOENT/);
    fs.mkdirSync(sidecarPath(seg));
    fs.writeFileSync(path.join(sidecarPath(seg), "in-the-way"), "x");
    await expect(writeRows(seg, tmp, size, end, rows)).rejects.toThrow();
    expect(fs.readdirSync(tmp)).toEqual([]);
  });
});
