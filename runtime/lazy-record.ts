/**
 * Activity records read for a replay without decoding them. A replay holds every record of the journal until the
 * session ends; decoded, each is an object, its result and its strings, which the garbage collector copies and
 * promotes (holding them doubled the cost of decoding, and held every result of a long journal in memory). What a
 * replay needs before the code asks for an entry (its seq; for the completion order whether it was async and when
 * it ended) comes first in the record's shared structure (codec.ts) and is read here from the msgpack bytes into
 * typed arrays; the record is decoded when its call asks for it and dropped after it was answered.
 */
import { ACTIVITY_STRUCTURES, decodeAt } from "./codec";
import { JournalCorruptError } from "./errors";
import type { JournalRecord } from "./journal-records";

type Activity = Extract<JournalRecord, { t: "activity" }>;

/** The activity frames of a journal image that were read without decoding, in file order. */
export class LazyActivities {
  count = 0;
  /** How many of them are async (completions a replay orders). */
  asyncCount = 0;
  /** The highest seq taken. */
  lastSeq = 0;
  seq: Int32Array;
  async: Uint8Array;
  /** When each async entry completed (0 for sync entries). */
  end: Float64Array;
  /** Offset of each frame (its length word) in the image. */
  at: Float64Array;
  /** How many decoded records (`records` of the read) come before each frame: the file order of the two lists. */
  before: Int32Array;

  constructor(
    /** The journal image; a short journal's is cut to its data when the read ends (see `keepData`). */
    private buf: Buffer,
    private readonly file: string,
    /** How many frames the image holds, when the reader knows (0: an estimate is made). */
    frames: number,
  ) {
    // Without a count: an activity frame is rarely under 64 bytes, which makes room for most journals without growing.
    const size = Math.max(64, frames || buf.length >> 6);
    this.seq = new Int32Array(size);
    this.async = new Uint8Array(size);
    this.end = new Float64Array(size);
    this.at = new Float64Array(size);
    this.before = new Int32Array(size);
  }

  /**
   * Takes the frame at `at` (payload `length` bytes) when its payload starts as the activity structures do;
   * false for other records and for activity records of an older layout, which the caller decodes whole.
   */
  add(at: number, length: number, before: number): boolean {
    const buf = this.buf;
    const end = at + 8 + length;
    const first = at + 8;
    // The structure's id, then t: the fixstr "activity".
    if (!ACTIVITY_STRUCTURES.includes(buf[first]) || buf[first + 1] !== 0xa8) return false;
    const seq = readNumber(buf, first + 10, end);
    const flag = buf[after];
    // `end` orders async completions only: a sync entry's is not read.
    const ended = flag === 0xc3 ? readNumber(buf, after + 1, end) : 0;
    if (!(seq >= 1 && seq <= 0x7fffffff && Number.isInteger(seq)) || (flag !== 0xc2 && flag !== 0xc3) || Number.isNaN(ended)) return false;
    if (this.count === this.seq.length) this.grow();
    const i = this.count++;
    this.seq[i] = seq;
    if (seq > this.lastSeq) this.lastSeq = seq;
    this.async[i] = flag === 0xc3 ? 1 : 0;
    this.asyncCount += this.async[i];
    this.end[i] = ended;
    this.at[i] = at;
    this.before[i] = before;
    return true;
  }

  /** The image is kept for the session: not the space a short journal allocated ahead of its data. */
  keepData(dataEnd: number): void {
    if (dataEnd < this.buf.length / 2) this.buf = Buffer.from(this.buf.subarray(0, dataEnd));
  }

  /** The record of the frame at `at`, decoded now (each call decodes again: nothing is kept). */
  decode(at: number): Activity {
    return decodePayload(this.buf, at + 8, at + 8 + this.buf.readUInt32LE(at), this.file, at) as Activity;
  }

  private grow(): void {
    const size = this.seq.length * 2;
    const grown = <T extends Int32Array | Uint8Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.seq = grown(this.seq);
    this.async = grown(this.async);
    this.end = grown(this.end);
    this.at = grown(this.at);
    this.before = grown(this.before);
  }
}

/**
 * A frame's payload `buf[start, end)` decoded; one that does not decode is damage at the frame, which `offset` (in
 * `unit`s) locates in `file`. Here rather than in journal-frames.ts, which imports this module, so both can use it.
 */
export function decodePayload(buf: Buffer, start: number, end: number, file: string, offset: number, unit?: "byte" | "frame"): unknown {
  try {
    return decodeAt(buf, start, end);
  } catch (err) {
    throw new JournalCorruptError(file, offset, `frame does not decode: ${(err as Error).message}`, unit);
  }
}

/** Where the number readNumber read last ends (a module variable: no object per number read). */
let after = 0;

/** The msgpack number at `p` (the integer and float forms the encoder writes), or NaN for anything else. */
function readNumber(buf: Buffer, p: number, end: number): number {
  const b = p < end ? buf[p] : -1;
  after = p + 1;
  if (b < 0x80) return b < 0 ? NaN : b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc:
      return fits(p, 1, end) ? buf[p + 1] : NaN;
    case 0xcd:
      return fits(p, 2, end) ? buf.readUInt16BE(p + 1) : NaN;
    case 0xce:
      return fits(p, 4, end) ? buf.readUInt32BE(p + 1) : NaN;
    case 0xca:
      return fits(p, 4, end) ? buf.readFloatBE(p + 1) : NaN;
    case 0xcb:
      return fits(p, 8, end) ? buf.readDoubleBE(p + 1) : NaN;
    case 0xd0:
      return fits(p, 1, end) ? buf.readInt8(p + 1) : NaN;
    case 0xd1:
      return fits(p, 2, end) ? buf.readInt16BE(p + 1) : NaN;
    case 0xd2:
      return fits(p, 4, end) ? buf.readInt32BE(p + 1) : NaN;
    default:
      return NaN;
  }
}

/** The `size` bytes after the type byte at `p` are in the payload; moves `after` past them. */
function fits(p: number, size: number, end: number): boolean {
  after = p + 1 + size;
  return after <= end;
}
