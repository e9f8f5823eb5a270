/**
 * Journal files: reading one (cutting a torn tail) and appending to one. The writer allocates zero-filled space
 * ahead of itself and flushes it once, so an append writes into space whose size is already on disk and
 * `fdatasync` has no metadata to flush.
 */
import * as fs from "node:fs";
import { promisify } from "node:util";
import { decodeFrames, encodeFrame, fileHeader, zeros, HEADER_SIZE, type ReadOptions, type ReadResult } from "./journal-frames";
import type { JournalRecord } from "./journal-records";

/**
 * Allocation grows with the journal: the first extent is small (most sessions are short, and creating or
 * reading a journal touches all of it), then each extent doubles the file, up to 1 MiB at a time.
 */
const FIRST_EXTENT = 64 * 1024;
const MAX_EXTENT = 1 << 20;
/** How long `batch` gathers appends before a flush round, and how many frames start one early. */
const BATCH_WINDOW_MS = 2;
const BATCH_MAX_FRAMES = 4096;
/** `none` writes buffered frames once this many bytes are waiting (or on the next turn of the event loop). */
const NONE_FLUSH_BYTES = 256 * 1024;

/** `always`: on disk before the handler continues; `batch`: group commit; `none`: tests and benchmarks only. */
export type FsyncPolicy = "always" | "batch" | "none";

export interface OpenedJournal extends ReadResult {
  /** One line per repair made (or, with `repair: false`, that opening for append would make). */
  readonly notices: string[];
  /** The torn-tail notice, when there was one (`notices[0]`). */
  readonly notice?: string;
}

/**
 * Reads a journal file. A torn tail is cut (zeroed on disk and synced, so the writer can append at `end`) with a
 * notice; `repair: false` only reports it. Damage before the tail throws JournalCorruptError and changes nothing.
 */
export function readJournal(file: string, options: { repair?: boolean } & ReadOptions = {}): OpenedJournal {
  const result = decodeFrames(fs.readFileSync(file), file, options);
  if (result.torn === 0) return { ...result, notices: [] };
  const notice = `journal ${file}: cut ${result.torn} torn bytes at offset ${result.end}`;
  if (options.repair !== false) {
    const fd = fs.openSync(file, "r+");
    try {
      fs.writeSync(fd, zeros(result.torn), 0, result.torn, result.end);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { ...result, notices: [notice], notice };
}

export interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

export interface WriterOptions {
  readonly fsync: FsyncPolicy;
  /** File mode of a new journal (default 0600: journals hold activity results, which may be secrets). */
  readonly mode?: number;
  /**
   * Runs right before each write of frames, in the same synchronous step: a store's fencing check. What it
   * throws fails the frames about to be written (nothing of them is written) and every later call.
   */
  readonly beforeWrite?: () => void;
}

const RESOLVED = Promise.resolve();

/**
 * Open `always` journals of the process. While there is one, its syncs run on the main thread: handing an
 * `fdatasync` to the thread pool and back costs about a quarter of a flush, and with no other journal there is
 * no other sync to overlap it with. With more, syncs go to the thread pool so that they overlap.
 */
let openAlways = 0;

/**
 * Appends frames to one journal. Frames are encoded when appended (so later mutation of a value cannot change
 * what was journaled) and written in append order, so a crash can only tear frames no append has resolved for.
 *
 * - `always`: an append resolves after an fdatasync that began after its frame was written. Appends that arrive
 *   while a sync runs are written together and share the next one.
 * - `batch`: rounds are run by one group committer
 *   shared by every journal of the process, which syncs each journal written to.
 * - `none`: frames are buffered and written with one writev per batch; nothing is synced.
 */
export class JournalWriter {
  /** Encoded frames not yet written, and the appends waiting for them. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private pendingWaiters: Waiter[] = [];
  /** Appends whose frames are written and wait for a sync. */
  private writtenWaiters: Waiter[] = [];
  private syncing = false;
  /** Syncs of flushRound not yet finished (the group committer's run outside syncLoop): close waits for them. */
  private flushing = 0;
  private flushScheduled = false;
  private allocated: number;
  private closed = false;
  /** A write that failed with no append left to reject (`none` writes in the background): thrown by the next call. */
  private failure: unknown;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    readonly fsync: FsyncPolicy,
    private offset: number,
    size: number,
    private readonly beforeWrite: () => void = () => {},
  ) {
    this.allocated = size;
  }

  /** Counts the writer once it is open for appends. */
  private opened(): this {
    if (this.fsync === "always") openAlways++;
    return this;
  }

  /**
   * Creates a new journal (failing if the file exists) with its header and first allocation on disk. Syncing
   * the directory entry is the caller's: a store syncs it together with its other entries.
   */
  static create(path: string, options: WriterOptions): JournalWriter {
    const fd = fs.openSync(path, "wx", options.mode ?? 0o600);
    try {
      fs.writeSync(fd, fileHeader(), 0, HEADER_SIZE, 0);
      const writer = new JournalWriter(fd, path, options.fsync, HEADER_SIZE, HEADER_SIZE, options.beforeWrite);
      writer.allocate(HEADER_SIZE + 1);
      return writer.opened();
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  /**
   * Creates a new journal that holds `first` (a session's header record, and its first attempt), off the event
   * loop: the file header, the frames and, unless the policy is `none`, the first allocation go in one write and are
   * flushed by one fsync, so the records are on disk when this resolves. Fails if the file exists; syncing the
   * directory entry is the caller's.
   */
  static async createWith(path: string, first: readonly JournalRecord[], options: WriterOptions): Promise<JournalWriter> {
    const fd = await promisify(fs.open)(path, "wx", options.mode ?? 0o600);
    try {
      const frames = first.map(encodeFrame);
      const end = frames.reduce((at, frame) => at + frame.length, HEADER_SIZE);
      const allocated = options.fsync === "none" ? end : extentFor(end + 1);
      const parts = [fileHeader(), ...frames];
      if (allocated > end) parts.push(zeros(allocated - end));
      let written = 0;
      while (written < allocated) written += (await promisify(fs.writev)(fd, written === 0 ? parts : remainder(parts, written), written)).bytesWritten;
      if (options.fsync !== "none") await promisify(fs.fsync)(fd);
      return new JournalWriter(fd, path, options.fsync, end, allocated, options.beforeWrite).opened();
    } catch (err) {
      fs.close(fd, () => {});
      throw err;
    }
  }

  /** Opens an existing journal for appending at `end` (from readJournal, after any torn tail was cut). */
  static open(path: string, end: number, options: WriterOptions): JournalWriter {
    const fd = fs.openSync(path, "r+");
    return new JournalWriter(fd, path, options.fsync, end, fs.fstatSync(fd).size, options.beforeWrite).opened();
  }

  /** Appends; resolves when the record is durable per the fsync policy. */
  append(record: JournalRecord): Promise<void> {
    this.assertOpen();
    const frame = encodeFrame(record);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    if (this.fsync === "none") {
      if (this.pendingBytes >= NONE_FLUSH_BYTES) {
        try {
          this.writePending();
        } catch (err) {
          return Promise.reject(err);
        }
      } else if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => {
          this.flushScheduled = false;
          if (this.closed) return;
          try {
            this.writePending();
          } catch (err) {
            this.failure = err;
          }
        });
      }
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => {
      this.pendingWaiters.push({ resolve, reject });
      if (this.fsync === "batch") groupCommit.add(this);
      else if (!this.syncing) void this.syncLoop();
    });
  }

  /** Appends and, unless the policy is `none`, syncs before returning: for sync activities, which must stay sync. */
  appendSync(record: JournalRecord): void {
    this.assertOpen();
    const frame = encodeFrame(record);
    this.pending.push(frame);
    this.pendingBytes += frame.length;
    this.writePending();
    if (this.fsync === "none") return;
    const waiters = this.takeWritten();
    try {
      fs.fdatasyncSync(this.fd);
    } catch (err) {
      this.failure = err;
      settle(waiters, err);
      throw err;
    }
    settle(waiters, undefined);
  }

  /** Waits for every append, writes what is buffered, and closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      this.writePending();
    } finally {
      while (this.syncing || this.flushing > 0 || this.writtenWaiters.length > 0) await new Promise((r) => setImmediate(r));
      this.closed = true;
      if (this.fsync === "always") openAlways--;
      fs.closeSync(this.fd);
    }
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Writes the pending frames (one writev) into allocated space; their appends now wait for a sync. If the write
   * fails, those appends reject, and so does every later call: the file may hold part of the frames.
   */
  private writePending(): void {
    if (this.pending.length === 0) return;
    const frames = this.pending;
    const bytes = this.pendingBytes;
    const waiters = this.pendingWaiters;
    this.pending = [];
    this.pendingBytes = 0;
    this.pendingWaiters = [];
    try {
      this.beforeWrite();
      this.allocate(this.offset + bytes);
      this.writeFrames(frames, bytes, this.offset);
    } catch (err) {
      this.failure = err;
      settle(waiters, err);
      throw err;
    }
    this.offset += bytes;
    for (const w of waiters) this.writtenWaiters.push(w);
  }

  private writeFrames(frames: Buffer[], bytes: number, at: number): void {
    let written = 0;
    while (written < bytes) written += fs.writevSync(this.fd, written === 0 ? frames : remainder(frames, written), at + written);
  }

  /** The appends that a sync starting now makes durable. */
  private takeWritten(): Waiter[] {
    const waiters = this.writtenWaiters;
    this.writtenWaiters = [];
    return waiters;
  }

  /**
   * Writes what is pending and syncs it: the round `always` runs per journal and the group committer runs
   * across journals for `batch`. Internal to this module.
   */
  async flushRound(): Promise<void> {
    try {
      this.writePending();
    } catch {
      // Its appends were rejected; the ones written before still get their sync.
    }
    const waiters = this.takeWritten();
    if (waiters.length === 0) return;
    this.flushing++;
    try {
      if (this.fsync === "always" && openAlways === 1) fs.fdatasyncSync(this.fd);
      else await datasync(this.fd);
      settle(waiters, undefined);
    } catch (err) {
      settle(waiters, err);
    } finally {
      this.flushing--;
    }
  }

  private async syncLoop(): Promise<void> {
    this.syncing = true;
    while (this.pendingWaiters.length > 0 || this.writtenWaiters.length > 0) await this.flushRound();
    this.syncing = false;
  }

  /**
   * Zero-fills extents ahead of the writer and flushes them with the file size, once per extent, so the
   * appends that follow only overwrite data blocks. `none` needs no allocation: nothing is synced.
   */
  private allocate(needed: number): void {
    if (needed <= this.allocated || this.fsync === "none") return;
    const target = extentFor(needed);
    const fill = zeros(Math.min(target - this.allocated, MAX_EXTENT));
    for (let at = this.allocated; at < target; at += fill.length) {
      fs.writeSync(this.fd, fill, 0, Math.min(fill.length, target - at), at);
    }
    fs.fsyncSync(this.fd);
    this.allocated = target;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error(`journal ${this.path} is closed`);
    if (this.failure !== undefined) throw this.failure;
  }
}

/** The size of the allocation that holds `needed` bytes: FIRST_EXTENT, then doubling, at most MAX_EXTENT at a time. */
function extentFor(needed: number): number {
  let target = FIRST_EXTENT;
  while (target < needed) target += Math.min(MAX_EXTENT, target);
  return target;
}

/** The frames after the first `written` bytes (writev may write less than asked). */
export function remainder(frames: Buffer[], written: number): Buffer[] {
  const rest: Buffer[] = [];
  for (const frame of frames) {
    if (written >= frame.length) written -= frame.length;
    else {
      rest.push(written > 0 ? frame.subarray(written) : frame);
      written = 0;
    }
  }
  return rest;
}

function settle(waiters: Waiter[], err: unknown): void {
  for (const w of waiters) (err === undefined ? w.resolve() : w.reject(err));
}

/**
 * `batch`: one committer for every journal of the process. Appends gather for a short window (or until many
 * frames wait); then each journal written to writes its frames and syncs, in parallel, and all their appends
 * resolve. Appends that arrive during a round go in the next one, which starts as soon as the round ends:
 * concurrent sessions share the flush cost instead of queueing behind each other.
 */
const groupCommit = {
  dirty: new Set<JournalWriter>(),
  frames: 0,
  timer: undefined as NodeJS.Timeout | undefined,
  running: false,
  add(writer: JournalWriter): void {
    this.dirty.add(writer);
    this.frames++;
    if (this.running) return;
    if (this.frames >= BATCH_MAX_FRAMES) this.startRound();
    else this.timer ??= setTimeout(() => this.startRound(), BATCH_WINDOW_MS);
  },
  startRound(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.running = true;
    const writers = [...this.dirty];
    this.dirty.clear();
    this.frames = 0;
    void Promise.all(writers.map((w) => w.flushRound())).then(() => {
      this.running = false;
      if (this.dirty.size > 0) this.startRound();
    });
  },
};

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes a folder's entries (a created, renamed or removed file) durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
