/**
 * The journal's byte format: a 16-byte header, then frames `[u32 length][u32 check][payload]` (little endian),
 * payload one msgpack record. The check word makes the crc32 of the whole frame a constant (crc.ts), so it covers the
 * length too and a length word of 0 can mark the end of the data. And since every frame leaves the crc where the
 * next starts it, a reader checks all the frames of a file with one crc over them. Byte-exact layout and the
 * torn-tail rule: docs/journal.md.
 */
import { encodeActivityWithHeadroom, encodeWithHeadroom } from "./codec";
import { crc32Range, frameWord, PAYLOAD_START, RESIDUE } from "./crc";
import { JournalCorruptError } from "./errors";
import { decodePayload, LazyActivities } from "./lazy-record";
import type { JournalRecord } from "./journal-records";

export const JOURNAL_MAGIC = Buffer.from("AKTSJNL\0", "latin1");
/**
 * 2: records of the shapes the runtime writes use structures shared by every frame (codec.ts). 3: activity
 * records lead with what a replay reads before decoding them (lazy-record.ts). 4: a frame's second word is a
 * check word (the whole frame's crc is RESIDUE) instead of the payload's crc.
 */
export const JOURNAL_VERSION = 4;
export const HEADER_SIZE = 16;
export const FRAME_OVERHEAD = 8;

/**
 * One record as a frame. The payload is encoded behind 8 bytes of headroom, so the frame is built in place
 * without copying (the buffer is a slice of the encoder's arena and stays valid).
 */
export function encodeFrame(record: JournalRecord): Buffer {
  const frame = encodeActivityWithHeadroom(record, FRAME_OVERHEAD) ?? encodeWithHeadroom(record, FRAME_OVERHEAD);
  const length = frame.length - FRAME_OVERHEAD;
  frame.writeUInt32LE(length, 0);
  frame.writeUInt32LE(frameWord(length, crc32Range(frame, FRAME_OVERHEAD, frame.length, PAYLOAD_START)), 4);
  return frame;
}

/** A journal file's first 16 bytes: the magic and the format version. */
export function fileHeader(): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  JOURNAL_MAGIC.copy(header, 0);
  header.writeUInt32LE(JOURNAL_VERSION, 8);
  return header;
}

export interface ReadOptions {
  /**
   * Activity records are read without decoding them, into `activities` instead of `records` (for a replay):
   * their frames are checked, and one whose payload does not decode is reported when its record is decoded.
   */
  readonly lazy?: boolean;
}

export interface ReadResult {
  /** The records, in file order; with `lazy`, all but the ones in `activities`. */
  readonly records: JournalRecord[];
  readonly activities?: LazyActivities;
  /** Byte offset just past the last good frame: where the next frame goes. */
  readonly end: number;
  /** Bytes of a torn tail found at `end` (0 when the tail was clean). */
  readonly torn: number;
}

/**
 * The length word of the frame at `at`, which the caller found in `buf`: read inline, since Buffer's readUInt32LE
 * checks its argument first, which took a tenth of a claim's reading of its frames.
 */
function lengthAt(buf: Buffer, at: number): number {
  return (buf[at] | (buf[at + 1] << 8) | (buf[at + 2] << 16) | (buf[at + 3] << 24)) >>> 0;
}

/** Length of the payload of a whole frame at `at` (a non-zero length word, and the frame fits), or -1. */
function wholeFrameAt(buf: Buffer, at: number): number {
  if (at + FRAME_OVERHEAD > buf.length) return -1;
  const length = lengthAt(buf, at);
  return length === 0 || length > buf.length - at - FRAME_OVERHEAD ? -1 : length;
}

/** Length of the payload of a whole, checksum-valid frame at `at`, or -1. */
export function validFrameAt(buf: Buffer, at: number): number {
  const length = wholeFrameAt(buf, at);
  return length >= 0 && crc32Range(buf, at, at + FRAME_OVERHEAD + length, RESIDUE) === RESIDUE ? length : -1;
}

/**
 * The frames from `from` that one crc over them all finds good: where they end and how many they are, or `from`
 * and 0. The frames are walked by their length words up to `limit` (the end of the data); a walk that does not
 * land on it, or a crc that is not RESIDUE, vouches for nothing, and the caller checks frame by frame to find
 * where and what the bad frame is.
 */
function checkedFrames(buf: Buffer, from: number, limit: number): { end: number; count: number } {
  const none = { end: from, count: 0 };
  let at = from;
  let count = 0;
  for (; at < limit; count++) {
    const length = wholeFrameAt(buf, at);
    if (length < 0) return none;
    at += FRAME_OVERHEAD + length;
  }
  return crc32Range(buf, from, at, RESIDUE) === RESIDUE ? { end: at, count } : none;
}

/** The unit a disk writes whole: a crash leaves each sector of a write either written or as it was. */
export const SECTOR = 512;

/**
 * The torn-write rule (docs/journal.md). A write cut by a crash leaves each sector it covers either written or as
 * it was: zeros, since the writer appends into preallocated zero-filled space. So a frame that failed its checksum
 * was torn when its length word is 0, when it runs past the end of the file (a file cut short), or when some sector
 * holds none of its bytes non-zero. A frame that fits and has something of it in every sector was written whole,
 * and failing its checksum it is damage.
 */
function writtenWhole(buf: Buffer, at: number): boolean {
  if (at + FRAME_OVERHEAD > buf.length) return false;
  const length = buf.readUInt32LE(at);
  const end = at + FRAME_OVERHEAD + length;
  if (length === 0 || end > buf.length) return false;
  for (let from = at; from < end; ) {
    const to = Math.min(end, (Math.floor(from / SECTOR) + 1) * SECTOR);
    if (buf.compare(zeros(to - from), 0, to - from, from, to) === 0) return false;
    from = to;
  }
  return true;
}

/** How many zero bytes a payload may end with (a number's last bytes): where a frame may end past the data. */
const TRAILING_ZEROS = 64;

/**
 * A frame that seems to reach past the data (writtenWhole said no) because its length word was damaged: the frame
 * is valid with a length that ends it at the data, give or take the zeros a payload may end with.
 */
function lengthDamaged(buf: Buffer, at: number, limit: number): boolean {
  if (at + FRAME_OVERHEAD > buf.length || buf.readUInt32LE(at) === 0) return false;
  for (let length = Math.max(1, limit - at - FRAME_OVERHEAD); length <= limit - at - FRAME_OVERHEAD + TRAILING_ZEROS; length++) {
    if (at + FRAME_OVERHEAD + length > buf.length) break;
    const frame = Buffer.from(buf.subarray(at, at + FRAME_OVERHEAD + length));
    frame.writeUInt32LE(length, 0);
    if (validFrameAt(frame, 0) === length) return true;
  }
  return false;
}

/**
 * End of the non-zero data: everything after it is preallocated (or cut) space. Compares 64 KiB blocks against
 * zeros natively, then finds the last byte in the block.
 */
export function dataEnd(buf: Buffer, from: number): number {
  const BLOCK = 64 * 1024;
  let end = buf.length;
  while (end - from >= BLOCK && buf.compare(zeros(BLOCK), 0, BLOCK, end - BLOCK, end) === 0) end -= BLOCK;
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

let zeroBlock = Buffer.alloc(0);
export function zeros(size: number): Buffer {
  if (zeroBlock.length < size) zeroBlock = Buffer.alloc(size);
  return zeroBlock.subarray(0, size);
}

/**
 * A frame at `at` that is not whole and valid, with the data ending at `limit`: undefined when it is a torn tail (no
 * valid frame starts anywhere after it and the frame was torn, writtenWhole), otherwise what makes it damage.
 */
export function badFrame(buf: Buffer, at: number, limit: number): string | undefined {
  for (let probe = at + 1; probe < limit; probe++) {
    if (validFrameAt(buf, probe) >= 0) return `frame checksum or length mismatch (a valid frame follows at byte ${probe})`;
  }
  if (writtenWhole(buf, at) || lengthDamaged(buf, at, limit)) return "a whole frame fails its checksum: damage, not a torn write";
  return undefined;
}

/**
 * Decodes the frames of a journal image (a file, or frames one after another behind a file header). The data
 * ends at the last non-zero byte. A frame that is not whole and valid ends the good frames; what lies from it to
 * the end of the data is a torn tail (returned in `torn`, for the caller to cut) when no valid frame starts
 * anywhere in it and the bad frame was torn (writtenWhole), and damage (JournalCorruptError at the bad frame's
 * offset) otherwise.
 */
export function decodeFrames(buf: Buffer, file: string, options: ReadOptions = {}): ReadResult {
  if (buf.length < HEADER_SIZE || !buf.subarray(0, 8).equals(JOURNAL_MAGIC)) {
    throw new JournalCorruptError(file, 0, "not an akts journal (bad magic)");
  }
  const version = buf.readUInt32LE(8);
  if (version >= 1 && version < JOURNAL_VERSION) {
    // Older frames decode with this codec (or differ only in the check word), but appending newer frames to such a
    // file would mix the two.
    throw new JournalCorruptError(file, 8, `journal format version ${version}, written by an older akts: finish or replay its session with that version`);
  }
  if (version !== JOURNAL_VERSION) throw new JournalCorruptError(file, 8, `unsupported journal version ${version}`);
  const limit = dataEnd(buf, HEADER_SIZE);
  const records: JournalRecord[] = [];
  const strings = new Map<string, string>();
  const checked = checkedFrames(buf, HEADER_SIZE, limit);
  const activities = options.lazy ? new LazyActivities(buf, file, checked.count) : undefined;
  let at = HEADER_SIZE;
  while (at < limit) {
    const length = at < checked.end ? lengthAt(buf, at) : validFrameAt(buf, at);
    if (length < 0) {
      const damage = badFrame(buf, at, limit);
      if (damage !== undefined) throw new JournalCorruptError(file, at, damage);
      activities?.keepData(at);
      return { records, activities, end: at, torn: limit - at };
    }
    if (activities?.add(at, length, records.length)) {
      at += FRAME_OVERHEAD + length;
      continue;
    }
    records.push(shareStrings(decodePayload(buf, at + FRAME_OVERHEAD, at + FRAME_OVERHEAD + length, file, at) as JournalRecord, strings));
    at += FRAME_OVERHEAD + length;
  }
  activities?.keepData(at);
  return { records, activities, end: at, torn: 0 };
}

/**
 * The same type, site and callee strings come back in every record of a call site: one copy is kept, so the
 * records a replay holds are smaller (what stays alive is what the garbage collector copies; the duplicates die
 * young).
 */
function shareStrings(rec: JournalRecord, strings: Map<string, string>): JournalRecord {
  if (typeof rec !== "object" || rec === null) return rec;
  if (typeof rec.t === "string") rec.t = kept(rec.t, strings) as never;
  if (rec.t === "activity") {
    rec.site = kept(rec.site, strings);
    rec.callee = kept(rec.callee, strings);
  }
  return rec;
}

function kept(s: string, strings: Map<string, string>): string {
  const copy = strings.get(s);
  if (copy !== undefined) return copy;
  strings.set(s, s);
  return s;
}

/**
 * One frame stored on its own (a store that keeps a row per record): its record. A frame that is not exactly one
 * whole, checksum-valid frame is JournalCorruptError at frame `index` of the journal named by `where`.
 */
export function decodeFrame(frame: Buffer, where: string, index: number): JournalRecord {
  if (validFrameAt(frame, 0) !== frame.length - FRAME_OVERHEAD) throw new JournalCorruptError(where, index, "frame checksum or length mismatch", "frame");
  return decodePayload(frame, FRAME_OVERHEAD, frame.length, where, index, "frame") as JournalRecord;
}

