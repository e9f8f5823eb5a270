/**
 * The journal file: a 16-byte header, then frames `[u32 length][u32 crc32][payload]` (little endian), payload a
 * msgpack record; crc32 covers the length word and the payload. A length of 0 marks the end of the data: the
 * writer allocates space ahead of itself (zero-filled, flushed once), so most appends write into space whose size
 * is already on disk and `fdatasync` has no metadata to flush. Byte-exact layout: docs/journal.md.
 */
import * as fs from "node:fs";
import { crc32 } from "node:zlib";
import { decode, encode } from "./codec";
import { JournalCorruptError } from "./errors";

export const JOURNAL_MAGIC = Buffer.from("AKTSJNL\0", "latin1");
export const JOURNAL_VERSION = 1;
export const HEADER_SIZE = 16;
const FRAME_OVERHEAD = 8;
const ALLOCATION_CHUNK = 1 << 20;
/** How long `batch` waits for more appends before it syncs. */
const BATCH_WINDOW_MS = 1;

export type Mode = "durable" | "nondurable";

export type JournalRecord =
  | {
      t: "header";
      v: 1;
      sessionId: string;
      project: string;
      trigger: string;
      handler: string;
      mode: Mode;
      codeHash: string;
      /** Absolute path of the manifest, so `akts resume` finds the handler again. */
      manifest?: string;
      event: unknown;
      createdAt: number;
    }
  | { t: "attempt"; attempt: number; at: number }
  | {
      t: "activity";
      seq: number;
      site: string;
      callee: string;
      ok: boolean;
      value?: unknown;
      error?: unknown;
      async: boolean;
      start: number;
      end: number;
    }
  | { t: "timer"; seq: number; site: string; deadline: number }
  | { t: "event"; seq: number; name: string; value: unknown; at: number; id?: string; timedOut?: boolean }
  | { t: "end"; ok: boolean; result?: unknown; error?: unknown; at: number };

export type HeaderRecord = Extract<JournalRecord, { t: "header" }>;

/** `always`: on disk before the handler continues; `batch`: group commit; `none`: tests and benchmarks only. */
export type FsyncPolicy = "always" | "batch" | "none";

export function encodeFrame(record: JournalRecord): Buffer {
  const payload = encode(record);
  const frame = Buffer.allocUnsafe(FRAME_OVERHEAD + payload.length);
  frame.writeUInt32LE(payload.length, 0);
  payload.copy(frame, FRAME_OVERHEAD);
  frame.writeUInt32LE(frameChecksum(frame, 0, payload.length), 4);
  return frame;
}

function frameChecksum(buf: Buffer, at: number, length: number): number {
  return crc32(buf.subarray(at + FRAME_OVERHEAD, at + FRAME_OVERHEAD + length), crc32(buf.subarray(at, at + 4)));
}

function fileHeader(): Buffer {
  const header = Buffer.alloc(HEADER_SIZE);
  JOURNAL_MAGIC.copy(header, 0);
  header.writeUInt32LE(JOURNAL_VERSION, 8);
  return header;
}

export interface ReadResult {
  readonly records: JournalRecord[];
  /** Byte offset just past the last good frame: where the next frame goes. */
  readonly end: number;
  /** Bytes of a torn last frame found after `end` (0 when the tail was clean). */
  readonly torn: number;
}

function isValidFrameAt(buf: Buffer, at: number, dataEnd: number): boolean {
  if (at + FRAME_OVERHEAD > dataEnd) return false;
  const length = buf.readUInt32LE(at);
  if (length === 0 || at + FRAME_OVERHEAD + length > dataEnd) return false;
  return buf.readUInt32LE(at + 4) === frameChecksum(buf, at, length);
}

/**
 * Decodes every frame of a journal image. A bad frame that nothing valid follows is a torn tail (reported in
 * `torn`, for the caller to cut); a bad frame with valid frames after it is damage: JournalCorruptError.
 */
export function decodeFrames(buf: Buffer, file: string): ReadResult {
  if (buf.length < HEADER_SIZE || !buf.subarray(0, 8).equals(JOURNAL_MAGIC)) {
    throw new JournalCorruptError(file, 0, "not an akts journal (bad magic)");
  }
  const version = buf.readUInt32LE(8);
  if (version !== JOURNAL_VERSION) throw new JournalCorruptError(file, 8, `unsupported journal version ${version}`);
  const records: JournalRecord[] = [];
  let at = HEADER_SIZE;
  while (at + 4 <= buf.length) {
    const length = buf.readUInt32LE(at);
    if (length === 0) break;
    if (!isValidFrameAt(buf, at, buf.length)) {
      for (let probe = at + 1; probe + FRAME_OVERHEAD < buf.length; probe++) {
        if (isValidFrameAt(buf, probe, buf.length)) {
          throw new JournalCorruptError(file, at, `frame checksum or length mismatch (valid data follows at byte ${probe})`);
        }
      }
      return { records, end: at, torn: lastNonZero(buf, at) - at };
    }
    try {
      records.push(decode(buf.subarray(at + FRAME_OVERHEAD, at + FRAME_OVERHEAD + length)) as JournalRecord);
    } catch (err) {
      throw new JournalCorruptError(file, at, `frame does not decode: ${(err as Error).message}`);
    }
    at += FRAME_OVERHEAD + length;
  }
  return { records, end: at, torn: 0 };
}

function lastNonZero(buf: Buffer, from: number): number {
  let end = buf.length;
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

export interface OpenedJournal extends ReadResult {
  /** Set when a torn tail was cut: what to tell the user. */
  readonly notice?: string;
}

/** Reads a journal file; a torn tail is cut (zeroed on disk) with a notice, damage before it throws. */
export function readJournal(file: string, options: { repair?: boolean } = {}): OpenedJournal {
  const buf = fs.readFileSync(file);
  const result = decodeFrames(buf, file);
  if (result.torn === 0) return result;
  const notice = `journal ${file}: cut ${result.torn} torn bytes at offset ${result.end}`;
  if (options.repair !== false) {
    const fd = fs.openSync(file, "r+");
    try {
      fs.writeSync(fd, Buffer.alloc(result.torn), 0, result.torn, result.end);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { ...result, notice };
}

/**
 * Appends frames to one journal. Frames are written synchronously in append order (a write is a memory copy into
 * the page cache), so a crash can only tear the last frame; syncing is what waits. Under `always` an append
 * resolves after an fdatasync that began after its write: appends that arrive during a sync share the next one.
 * `batch` syncs once per short window shared by all journals (group commit across sessions). `none` buffers.
 */
export class JournalWriter {
  private buffered: Buffer[] = [];
  private syncWaiters: { resolve(): void; reject(err: unknown): void }[] = [];
  private syncing = false;
  private allocated: number;
  private closed = false;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    readonly fsync: FsyncPolicy,
    private offset: number,
    size: number,
  ) {
    this.allocated = size;
  }

  static create(path: string, options: { fsync: FsyncPolicy }): JournalWriter {
    const fd = fs.openSync(path, "wx", 0o600);
    fs.writeSync(fd, fileHeader(), 0, HEADER_SIZE, 0);
    const writer = new JournalWriter(fd, path, options.fsync, HEADER_SIZE, HEADER_SIZE);
    writer.allocate(HEADER_SIZE);
    return writer;
  }

  /** Opens an existing journal for appending at `end` (from readJournal, after any torn tail was cut). */
  static open(path: string, end: number, options: { fsync: FsyncPolicy }): JournalWriter {
    const fd = fs.openSync(path, "r+");
    return new JournalWriter(fd, path, options.fsync, end, fs.fstatSync(fd).size);
  }

  /** Bytes of journal data written so far (header included). */
  get size(): number {
    return this.offset + this.buffered.reduce((n, b) => n + b.length, 0);
  }

  /** Zero-fills space ahead of the writer and syncs it with its size, once per chunk. */
  private allocate(needed: number): void {
    if (needed <= this.allocated) return;
    const target = Math.ceil((needed + ALLOCATION_CHUNK / 2) / ALLOCATION_CHUNK) * ALLOCATION_CHUNK;
    const zeros = Buffer.alloc(target - this.allocated);
    fs.writeSync(this.fd, zeros, 0, zeros.length, this.allocated);
    if (this.fsync !== "none") fs.fsyncSync(this.fd);
    this.allocated = target;
  }

  private write(frames: Buffer): void {
    this.allocate(this.offset + frames.length);
    fs.writeSync(this.fd, frames, 0, frames.length, this.offset);
    this.offset += frames.length;
  }

  private flushBuffered(): void {
    if (this.buffered.length === 0) return;
    const frames = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered);
    this.buffered = [];
    this.write(frames);
  }

  /** On disk (per the policy) before it returns: for sync activities, which must stay sync. */
  appendSync(record: JournalRecord): void {
    this.assertOpen();
    this.flushBuffered();
    this.write(encodeFrame(record));
    if (this.fsync !== "none") fs.fdatasyncSync(this.fd);
  }

  append(record: JournalRecord): Promise<void> {
    this.assertOpen();
    const frame = encodeFrame(record);
    if (this.fsync === "none") {
      this.buffered.push(frame);
      if (this.buffered.length >= 256) this.flushBuffered();
      else if (this.buffered.length === 1) setImmediate(() => this.closed || this.flushBuffered());
      return Promise.resolve();
    }
    this.write(frame);
    return new Promise<void>((resolve, reject) => {
      this.syncWaiters.push({ resolve, reject });
      if (this.fsync === "batch") groupCommit.add(this);
      else if (!this.syncing) void this.syncLoop();
    });
  }

  private async syncLoop(): Promise<void> {
    this.syncing = true;
    while (this.syncWaiters.length > 0) await this.syncNow();
    this.syncing = false;
  }

  /** One fdatasync for every append written before it started. */
  async syncNow(): Promise<void> {
    const waiters = this.syncWaiters;
    this.syncWaiters = [];
    try {
      await datasync(this.fd);
      for (const w of waiters) w.resolve();
    } catch (err) {
      for (const w of waiters) w.reject(err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flushBuffered();
    while (this.syncing || this.syncWaiters.length > 0) await new Promise((r) => setImmediate(r));
    this.closed = true;
    fs.closeSync(this.fd);
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`journal ${this.path} is closed`);
  }
}

/**
 * `batch`: one window shared by every journal of the process. When it closes, each journal written to during it
 * is synced (in parallel) and all their appends resolve: concurrent sessions share one flush round.
 */
const groupCommit = {
  dirty: new Set<JournalWriter>(),
  timer: undefined as NodeJS.Timeout | undefined,
  add(writer: JournalWriter): void {
    this.dirty.add(writer);
    this.timer ??= setTimeout(() => void this.flush(), BATCH_WINDOW_MS);
  },
  async flush(): Promise<void> {
    const writers = [...this.dirty];
    this.dirty.clear();
    this.timer = undefined;
    await Promise.all(writers.map((w) => w.syncNow()));
  },
};

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}
