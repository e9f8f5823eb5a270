/**
 * A segment's index sidecar, `segments/<runner>-<n>.idx`: what indexing a segment that will not change again found
 * (its entries' places and the decoded headers, attempts, ends and notes), so that opening a store reads it instead
 * of the segment's frames. Written once its segment is sealed: full, its runner closed, or a dead runner's segment
 * recovered. The segment stays the truth: a sidecar whose checksum fails, or that disagrees with its segment (size,
 * last entry, bytes after its end), is ignored and the segment is read. Format: `AKTSIDX\0`, u32 version, u32 crc32
 * of the body, then the msgpack body.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { decode, encode } from "../codec";
import { FRAME_OVERHEAD, validFrameAt } from "../journal-frames";
import type { HeaderRecord } from "../journal-records";
import { ENTRY_FIXED, Kind, readAt, SEGMENT_HEADER_SIZE, segmentHeader, type Entry } from "./segment-format";
import { tempFile } from "./temp-file";

const MAGIC = Buffer.from("AKTSIDX\0", "latin1");
const VERSION = 1;
const HEAD = 16;
/** Bytes after a sidecar's end that must still be zero: a writer appends there first. */
const AFTER = 64;

/** One entry: where it is and, for kinds the index decodes, its value. */
export type Row = [kind: Kind, fence: number, session: string, at: number, length: number, value?: unknown];

interface Body {
  readonly segment: string;
  /** The segment file's size when it was indexed. */
  readonly size: number;
  /** Offset just past its last entry. */
  readonly end: number;
  /** The session ids, each once. */
  readonly ids: string[];
  /**
   * Per entry in file order, five small numbers: kind, fence, index in `ids`, bytes between the previous entry's body
   * and this one's (its head), body length. Small numbers take a byte or two in msgpack, where offsets take five.
   */
  readonly entries: number[];
  /** The values of the entries that have one, in the same order. */
  readonly values: unknown[];
}

/** Entries the first chunk of SidecarRows holds, and the most any holds. */
const FIRST_CHUNK = 64;
const CHUNK = 4096;

/**
 * A segment's entries as its sidecar's body holds them, added as they are indexed: an own segment's wait in memory
 * until it is sealed (under fsync `none`, until its store closes), so each takes five numbers in a typed array, not
 * objects of its own for the garbage collector to move, nor a place in an array copied each time it grows.
 */
export class SidecarRows {
  readonly ids: string[] = [];
  private readonly idIndex = new Map<string, number>();
  private readonly chunks: Uint32Array[] = [];
  /** Numbers used in the last chunk. */
  private used = 0;
  private count = 0;
  readonly values: unknown[] = [];
  /** Where the last entry's body ends. */
  private end = SEGMENT_HEADER_SIZE;

  /** An entry; `value` for kinds the index decodes (a header's fields only, not its event, which can be large). */
  add(kind: Kind, fence: number, session: string, at: number, length: number, value?: unknown): void {
    let i = this.idIndex.get(session);
    if (i === undefined) this.idIndex.set(session, (i = this.ids.push(session) - 1));
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || this.used === chunk.length) {
      // As long as all the chunks before it, up to CHUNK entries: a segment of a few entries takes little room.
      chunk = new Uint32Array(5 * Math.min(CHUNK, Math.max(FIRST_CHUNK, this.count)));
      this.chunks.push(chunk);
      this.used = 0;
    }
    const k = this.used;
    chunk[k] = kind;
    chunk[k + 1] = fence;
    chunk[k + 2] = i;
    chunk[k + 3] = at - this.end;
    chunk[k + 4] = length;
    this.used += 5;
    this.count++;
    this.end = at + length;
    if (kind !== Kind.Record && kind !== Kind.Released) this.values.push(kind === Kind.Header ? headerOnly(value as HeaderRecord) : value);
  }

  /** The sidecar body's `entries`: five numbers an entry. */
  entries(): number[] {
    const entries: number[] = [];
    this.chunks.forEach((chunk, c) => {
      const used = c === this.chunks.length - 1 ? this.used : chunk.length;
      for (let k = 0; k < used; k++) entries.push(chunk[k]);
    });
    return entries;
  }
}

/**
 * A header's fields the index keeps (not its event, which can be large): what a row holds for a header, from the
 * moment it is indexed (a segment's rows wait in memory until it is sealed, for thousands of sessions).
 */
export const headerOnly = (h: HeaderRecord): Partial<HeaderRecord> => ({
  t: h.t, sessionId: h.sessionId, project: h.project, trigger: h.trigger, handler: h.handler, mode: h.mode, createdAt: h.createdAt,
  ...(h.parent === undefined ? {} : { parent: h.parent }),
});

function toRows(body: Body): Row[] | undefined {
  const { ids, entries, values } = body;
  if (!Array.isArray(ids) || !Array.isArray(entries) || !Array.isArray(values) || entries.length % 5 !== 0) return undefined;
  const rows: Row[] = [];
  let previous = SEGMENT_HEADER_SIZE;
  let v = 0;
  for (let k = 0; k < entries.length; k += 5) {
    const kind = entries[k];
    const length = entries[k + 4];
    const at = previous + entries[k + 3];
    previous = at + length;
    const row: Row = [kind, entries[k + 1], ids[entries[k + 2]], at, length];
    if (kind !== Kind.Record && kind !== Kind.Released) row.push(values[v++]);
    rows.push(row);
  }
  return v === values.length ? rows : undefined;
}

export const sidecarPath = (segmentFile: string): string => segmentFile.replace(/\.seg$/, ".idx");

export const rowEntry = (row: Row): Entry => ({ kind: row[0], fence: row[1], session: row[2], at: row[3], length: row[4] });


/** Writes the sidecar of a sealed segment: to `tmpDir`, synced, then renamed into place (a crash leaves none or all). */
export async function writeSidecar(segmentFile: string, tmpDir: string, size: number, end: number, rows: SidecarRows): Promise<void> {
  const data = encodeSidecar(segmentFile, size, end, rows);
  const tmp = tempFile(tmpDir, path.basename(sidecarPath(segmentFile)));
  try {
    const handle = await fs.promises.open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(tmp, sidecarPath(segmentFile));
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

function encodeSidecar(segmentFile: string, size: number, end: number, rows: SidecarRows): Buffer {
  const body = encode({ segment: path.basename(segmentFile), size, end, ids: rows.ids, entries: rows.entries(), values: rows.values } satisfies Body);
  const head = Buffer.alloc(HEAD);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(VERSION, 8);
  head.writeUInt32LE(crc32(body), 12);
  return Buffer.concat([head, body]);
}

/**
 * The sidecar of `segmentFile` when there is one that is whole and agrees with the segment; otherwise undefined (the
 * segment is read instead). Reads the sidecar and a few bytes of the segment only.
 */
export function readSidecar(segmentFile: string): { rows: Row[]; end: number } | undefined {
  let data: Buffer;
  try {
    data = fs.readFileSync(sidecarPath(segmentFile));
  } catch {
    return undefined;
  }
  if (data.length < HEAD || !data.subarray(0, 8).equals(MAGIC) || data.readUInt32LE(8) !== VERSION) return undefined;
  const raw = data.subarray(HEAD);
  if (crc32(raw) !== data.readUInt32LE(12)) return undefined;
  let body: Body;
  try {
    body = decode(raw) as Body;
  } catch {
    return undefined;
  }
  if (body?.segment !== path.basename(segmentFile)) return undefined;
  const rows = toRows(body);
  return rows && agrees(segmentFile, body, rows) ? { rows, end: body.end } : undefined;
}

/** The segment has the sidecar's size and header, its last entry where the sidecar says, and nothing after it. */
function agrees(segmentFile: string, body: Body, rows: Row[]): boolean {
  let fd: number;
  try {
    fd = fs.openSync(segmentFile, "r");
  } catch {
    return false;
  }
  try {
    if (fs.fstatSync(fd).size !== body.size) return false;
    if (!readAt(fd, 0, SEGMENT_HEADER_SIZE).equals(segmentHeader())) return false;
    const last = rows[rows.length - 1];
    let from = body.end;
    if (last) {
      const start = last[3] - ENTRY_FIXED - Buffer.byteLength(last[2], "latin1") - FRAME_OVERHEAD;
      if (last[3] + last[4] !== body.end) return false;
      from = start;
    } else if (body.end !== SEGMENT_HEADER_SIZE) return false;
    const tail = readAt(fd, from, body.end - from + AFTER);
    if (last && validFrameAt(tail, 0) !== body.end - from - FRAME_OVERHEAD) return false;
    return tail.subarray(body.end - from).every((b) => b === 0);
  } finally {
    fs.closeSync(fd);
  }
}
