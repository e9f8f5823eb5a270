/**
 * The byte format of a file store segment (docs/journal.md#segments): a 16-byte header (`AKTSSEG\0`, version), then
 * entries framed as journal frames are (`[u32 length][u32 check][payload]`, the check word making the whole frame's
 * crc a constant), payload `[u8 kind][u32 fence][u8 id length][session id][body]`. The body of a journal record is
 * the record's whole journal frame, so a session's journal is its bodies one after another behind a journal file
 * header; the body of a store note (kinds 5-7) is one msgpack value.
 */
import * as fs from "node:fs";
import { encode } from "../codec";
import { crc32Range, frameWord, PAYLOAD_START } from "../crc";
import { badFrame, dataEnd, FRAME_OVERHEAD, validFrameAt } from "../journal-frames";
import type { JournalRecord } from "../journal-records";

export const SEGMENT_MAGIC = Buffer.from("AKTSSEG\0", "latin1");
export const SEGMENT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 16;

/** What an entry holds. Journal records are split by kind so that an index is built without decoding activities. */
export enum Kind {
  Header = 1,
  Attempt = 2,
  End = 3,
  Record = 4,
  /** A status the runner set (`waiting`, `running` again, or the final summary's fields): `StatusNote`. */
  Status = 5,
  /** The writer let the session go without finishing it: its lease of this fence is free. */
  Released = 6,
  /** A claim took this fence after reading `prior` records of the journal: later frames of older fences are not read. */
  Claim = 7,
}

export const isRecordKind = (kind: number): boolean => kind >= Kind.Header && kind <= Kind.Record;

const KINDS: Partial<Record<JournalRecord["t"], Kind>> = { header: Kind.Header, attempt: Kind.Attempt, end: Kind.End };

/** The kind of a journal record's entry. */
export const recordKind = (record: JournalRecord): Kind => KINDS[record.t] ?? Kind.Record;

/** Payload bytes before the session id. */
export const ENTRY_FIXED = 6;

export function segmentHeader(): Buffer {
  const header = Buffer.alloc(SEGMENT_HEADER_SIZE);
  SEGMENT_MAGIC.copy(header, 0);
  header.writeUInt32LE(SEGMENT_VERSION, 8);
  return header;
}

/**
 * What an entry's head holds besides its length and check words: the same for every entry of one kind a lease
 * writes, so a lease makes it once per kind (its entries interleave with other sessions', so a cache of the last
 * head made would miss).
 */
export interface EntryHead {
  readonly kind: Kind;
  readonly fence: number;
  readonly session: string;
  /** The payload's bytes before the body: kind, fence, id length, session id. */
  readonly payload: Buffer;
  /** The crc of `payload` (from PAYLOAD_START), which an entry's crc continues over its body. */
  readonly crc: number;
}

export function entryHead(kind: Kind, fence: number, session: string): EntryHead {
  const payload = Buffer.allocUnsafe(ENTRY_FIXED + session.length);
  payload.writeUInt8(kind, 0);
  payload.writeUInt32LE(fence, 1);
  payload.writeUInt8(session.length, 5);
  payload.write(session, ENTRY_FIXED, "latin1");
  return { kind, fence, session, payload, crc: crc32Range(payload, 0, payload.length, PAYLOAD_START) };
}

/** Bytes of an entry's head (its frame's words and `head.payload`). */
export const headSize = (head: EntryHead): number => FRAME_OVERHEAD + head.payload.length;

/**
 * Writes the head of an entry of `body` into `out` at `at`; returns where its body goes. The crc runs over the body
 * in JS (crc.ts: cheaper than zlib at this size).
 */
export function putHead(out: Buffer, at: number, head: EntryHead, body: Buffer): number {
  const length = head.payload.length + body.length;
  out.writeUInt32LE(length, at);
  out.writeUInt32LE(frameWord(length, crc32Range(body, 0, body.length, head.crc)), at + 4);
  out.set(head.payload, at + FRAME_OVERHEAD);
  return at + FRAME_OVERHEAD + head.payload.length;
}

/** The buffers of one entry, its head and its body: for a segment built whole (legacy-layout.ts) and for tests. */
export function entryParts(kind: Kind, fence: number, session: string, body: Buffer): Buffer[] {
  const entry = entryHead(kind, fence, session);
  const head = Buffer.allocUnsafe(headSize(entry));
  putHead(head, 0, entry, body);
  return [head, body];
}

export function noteBody(note: unknown): Buffer {
  return encode(note);
}

/** One entry of a segment: `body` bytes at `at` (file offset of the body). */
export interface Entry {
  readonly kind: Kind;
  readonly fence: number;
  readonly session: string;
  readonly at: number;
  readonly length: number;
}

export interface Scan {
  readonly entries: Entry[];
  /** Offset just past the last whole entry: where the next scan starts. */
  readonly end: number;
  /** Bytes of a torn tail at `end` (0 for a clean end). */
  readonly torn: number;
  /** Bad entries before the end, each skipped to the next valid one: damage, reported with its offset. */
  readonly damage: Damage[];
}

export interface Damage {
  readonly at: number;
  readonly detail: string;
  readonly session?: string;
}

/**
 * The entries of segment bytes `buf` (the file from offset `base`, which is an entry boundary or 0). The data ends
 * at the last non-zero byte (the rest is preallocated). A bad entry followed by a valid one, or one written whole,
 * is damage: it is skipped and reported. One that is neither is a torn tail (or, in a live segment, a write under way).
 */
export function scanSegment(buf: Buffer, base: number, file: string): Scan {
  let at = 0;
  if (base === 0) {
    if (buf.length < SEGMENT_HEADER_SIZE || !buf.subarray(0, 8).equals(SEGMENT_MAGIC)) {
      if (dataEnd(buf, 0) === 0) return { entries: [], end: 0, torn: 0, damage: [] };
      return { entries: [], end: 0, torn: 0, damage: [{ at: 0, detail: `not an akts segment (bad magic): ${file}` }] };
    }
    const version = buf.readUInt32LE(8);
    if (version !== SEGMENT_VERSION) return { entries: [], end: 0, torn: 0, damage: [{ at: 8, detail: `unsupported segment version ${version}` }] };
    at = SEGMENT_HEADER_SIZE;
  }
  const limit = dataEnd(buf, at);
  const entries: Entry[] = [];
  const damage: Damage[] = [];
  while (at < limit) {
    const length = entryAt(buf, at);
    if (length < 0) {
      let next = at + 1;
      while (next < limit && entryAt(buf, next) < 0) next++;
      const detail = next < limit ? `frame checksum or length mismatch (a valid entry follows at byte ${base + next})` : badFrame(buf, at, limit);
      if (detail === undefined) return { entries, end: base + at, torn: limit - at, damage };
      damage.push({ at: base + at, detail, ...sessionAt(buf, at) });
      at = next;
      continue;
    }
    const p = at + FRAME_OVERHEAD;
    const idLength = buf.readUInt8(p + 5);
    entries.push({
      kind: buf.readUInt8(p) as Kind,
      fence: buf.readUInt32LE(p + 1),
      session: buf.toString("latin1", p + ENTRY_FIXED, p + ENTRY_FIXED + idLength),
      at: base + p + ENTRY_FIXED + idLength,
      length: length - ENTRY_FIXED - idLength,
    });
    at = p + length;
  }
  return { entries, end: base + at, torn: 0, damage };
}

/**
 * The length of the entry's payload at `at`, or -1. A Record entry's body is a valid journal frame too: after damage,
 * the scan must not take it for an entry (its first byte, msgpack, is no kind), and must resume at the next entry.
 */
function entryAt(buf: Buffer, at: number): number {
  const length = validFrameAt(buf, at);
  if (length < ENTRY_FIXED) return -1;
  const kind = buf[at + FRAME_OVERHEAD];
  return kind >= Kind.Header && kind <= Kind.Claim ? length : -1;
}

/** The session a damaged entry names, when its head still reads as one. */
function sessionAt(buf: Buffer, at: number): { session?: string } {
  const p = at + FRAME_OVERHEAD;
  if (p + ENTRY_FIXED > buf.length) return {};
  const idLength = buf.readUInt8(p + 5);
  if (p + ENTRY_FIXED + idLength > buf.length) return {};
  const session = buf.toString("latin1", p + ENTRY_FIXED, p + ENTRY_FIXED + idLength);
  return /^ses_[0-9A-Za-z]+$/.test(session) ? { session } : {};
}

/** Reads `length` bytes at `at` of an open file. */
export function readAt(fd: number, at: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, at + got);
    if (n === 0) return buf.subarray(0, got);
    got += n;
  }
  return buf;
}
