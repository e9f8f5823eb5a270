/**
 * Activity records read for a replay without decoding them. A replay holds every record of the journal until the
 * session ends; decoded, each is an object, its result and its strings, which the garbage collector copies and
 * promotes (holding them doubled the cost of decoding, and held every result of a long journal in memory). What a
 * replay needs before the code asks for an entry (its seq; for the completion order whether it was async and when
 * it ended) comes first in the record's shared structure (codec.ts) and is read here from the msgpack bytes into
 * typed arrays; the record is decoded when its call asks for it and dropped after it was answered.
 */
import { ACTIVITY_STRUCTURES, activityOutcomeKey, decodeAt } from "./codec";
import { JournalCorruptError } from "./errors";
import type { JournalRecord } from "./journal-records";
import type { Site } from "./site";

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

  /** `buf`'s bytes, for its numbers: a DataView's reads cost a tenth of Buffer's read methods. */
  private view: DataView;

  constructor(
    /** The journal image; a short journal's is cut to its data when the read ends (see `keepData`). */
    private buf: Buffer,
    private readonly file: string,
    /** How many frames the image holds, when the reader knows (0: an estimate is made). */
    frames: number,
  ) {
    // Without a count: an activity frame is rarely under 64 bytes, which makes room for most journals without growing.
    const size = Math.max(64, frames || buf.length >> 6);
    this.view = viewOf(buf);
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
    const seq = readNumber(buf, this.view, first + 10, end);
    const flag = buf[after];
    // `end` orders async completions only: a sync entry's is not read.
    const ended = flag === 0xc3 ? readNumber(buf, this.view, after + 1, end) : 0;
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
    if (dataEnd < this.buf.length / 2) {
      this.buf = Buffer.from(this.buf.subarray(0, dataEnd));
      this.view = viewOf(this.buf);
    }
  }

  /** The record of the frame at `at`, decoded now (each call decodes again: nothing is kept). */
  decode(at: number): Activity {
    return decodePayload(this.buf, at + 8, at + 8 + this.buf.readUInt32LE(at), this.file, at) as Activity;
  }

  /**
   * The record of the frame at `at` for a call from `site`, its outcome (value or error) the only part decoded: when
   * it names that site and callee, byte for byte, the call's strings stand for them, and the rest is read as `add`
   * reads it (decoding the record around its outcome, three strings among it, was a quarter of decoding it). Undefined
   * for a record that names anything else or is laid out otherwise: the caller decodes it whole and compares (a moved
   * line, a divergence, damage).
   */
  answer(at: number, site: Pick<Site, "id" | "callee">): Activity | undefined {
    const buf = this.buf;
    const view = this.view;
    const first = at + 8;
    const end = first + view.getUint32(at, true);
    // "activity", after the fixstr byte `add` checked.
    if (first + 10 > end || view.getUint32(first + 2) !== 0x61637469 || view.getUint32(first + 6) !== 0x76697479) return undefined;
    const seq = readNumber(buf, view, first + 10, end);
    // `add` took the frame: its seq is a number and its flag a boolean.
    const async = buf[after] === 0xc3;
    const ended = readNumber(buf, view, after + 1, end);
    const { id, callee } = siteBytes(site);
    if (id === null || callee === null || Number.isNaN(ended)) return undefined;
    let p = sameString(buf, view, after, end, id);
    if (p >= 0) p = sameString(buf, view, p, end, callee);
    const flag = p >= 0 ? buf[p] : 0;
    if (flag !== 0xc2 && flag !== 0xc3) return undefined;
    const start = readNumber(buf, view, p + 1, end);
    if (Number.isNaN(start)) return undefined;
    const outcome = decodePayload(buf, after, end, this.file, at);
    const ok = flag === 0xc3;
    // In the key order of the decoded records (codec.ts), so both have one shape.
    return activityOutcomeKey(buf[first]) === "value"
      ? { t: "activity", seq, async, end: ended, site: site.id, callee: site.callee, ok, start, value: outcome }
      : { t: "activity", seq, async, end: ended, site: site.id, callee: site.callee, ok, start, error: outcome };
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

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The msgpack number at `p` (the integer and float forms the encoder writes), or NaN for anything else. */
function readNumber(buf: Buffer, view: DataView, p: number, end: number): number {
  const b = p < end ? buf[p] : -1;
  after = p + 1;
  if (b < 0x80) return b < 0 ? NaN : b;
  if (b >= 0xe0) return b - 0x100;
  switch (b) {
    case 0xcc:
      return fits(p, 1, end) ? buf[p + 1] : NaN;
    case 0xcd:
      return fits(p, 2, end) ? view.getUint16(p + 1) : NaN;
    case 0xce:
      return fits(p, 4, end) ? view.getUint32(p + 1) : NaN;
    case 0xca:
      return fits(p, 4, end) ? view.getFloat32(p + 1) : NaN;
    case 0xcb:
      return fits(p, 8, end) ? view.getFloat64(p + 1) : NaN;
    case 0xd0:
      return fits(p, 1, end) ? view.getInt8(p + 1) : NaN;
    case 0xd1:
      return fits(p, 2, end) ? view.getInt16(p + 1) : NaN;
    case 0xd2:
      return fits(p, 4, end) ? view.getInt32(p + 1) : NaN;
    default:
      return NaN;
  }
}

interface SiteBytes {
  /** The strings these bytes are of: a site object given other strings since is encoded again. */
  readonly site: Pick<Site, "id" | "callee">;
  /** Their bytes, or null when either is not ASCII (its records are decoded whole and compared). */
  readonly id: DataView | null;
  readonly callee: DataView | null;
}

const SITE_BYTES = new WeakMap<object, SiteBytes>();

/**
 * A site's id and callee as bytes, compared byte for byte rather than through `charCodeAt`, which on the strings a
 * site is made of (built from parts, cut from a table) takes V8's slow path, a call per character.
 */
function siteBytes(site: Pick<Site, "id" | "callee">): SiteBytes {
  let bytes = SITE_BYTES.get(site);
  if (bytes === undefined || bytes.site.id !== site.id || bytes.site.callee !== site.callee) {
    const ascii = isAscii(site.id) && isAscii(site.callee);
    bytes = { site: { id: site.id, callee: site.callee }, id: ascii ? viewOf(Buffer.from(site.id, "latin1")) : null, callee: ascii ? viewOf(Buffer.from(site.callee, "latin1")) : null };
    SITE_BYTES.set(site, bytes);
  }
  return bytes;
}

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) return false;
  return true;
}

/**
 * Where the msgpack string at `p` (in `buf`, whose bytes `view` reads) ends if its bytes are `s`, else -1. Four bytes
 * at a time through DataViews: a site and its callee byte by byte were 45 ns of a call's 300 besides its decoding.
 */
function sameString(buf: Buffer, view: DataView, p: number, end: number, s: DataView): number {
  const b = p < end ? buf[p] : -1;
  let from: number;
  let length: number;
  if (b >= 0xa0 && b <= 0xbf) {
    from = p + 1;
    length = b - 0xa0;
  } else if (b === 0xd9 && p + 1 < end) {
    from = p + 2;
    length = buf[p + 1];
  } else if (b === 0xda && p + 2 < end) {
    from = p + 3;
    length = (buf[p + 1] << 8) | buf[p + 2];
  } else return -1;
  if (length !== s.byteLength || from + length > end) return -1;
  let i = 0;
  for (; i + 4 <= length; i += 4) if (view.getUint32(from + i) !== s.getUint32(i)) return -1;
  for (; i < length; i++) if (buf[from + i] !== s.getUint8(i)) return -1;
  return from + length;
}

/** The `size` bytes after the type byte at `p` are in the payload; moves `after` past them. */
function fits(p: number, size: number, end: number): boolean {
  after = p + 1 + size;
  return after <= end;
}
