/**
 * A runner's segments: `segments/<runner>-<n>.seg`, written by one open file store only, holding the frames of every
 * session it writes (format: segment-format.ts). It is the store's group-commit log too:
 *
 * - `always`: an append resolves after an fdatasync that began after its entry was written; appends that arrive
 *   while a sync runs are written together and share the next one (so concurrent sessions share syncs). A round
 *   starts on the next turn of the event loop, so every session that appended in this turn is in it; while one
 *   session alone is written, its sync runs on the main thread, and its rounds start as soon as the step that
 *   appended is done, without a turn, for up to TURN_BUDGET_MS after the last one.
 * - `batch`: an append resolves once its entry is written (a SIGKILL keeps it: the page cache holds it), on the next
 *   turn of the event loop, without waiting for a sync; what acknowledges something (an item marked `durable`, and
 *   `synced()`) still waits for a sync that began after its entry was written. Syncs run in the background, on the
 *   thread pool, one at a time: each covers what was written before it began, and the next starts a turn after it
 *   returns if anything was written since.
 * - `none`: entries are written on the next turn of the event loop; nothing is synced.
 *
 * Segments are created zero-filled and synced before use, on the thread pool (the next one while the current one
 * fills), so an append writes into space whose size is on disk and `fdatasync` flushes data only. When the next
 * segment is not ready in time, writes go on past the current one's end (its file grows, and syncs flush its size).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { FsyncPolicy } from "../journal-file";
import type { Waiter } from "../session-state";
import { zeros } from "../journal-frames";
import { headSize, putHead, segmentHeader, SEGMENT_HEADER_SIZE, type EntryHead } from "./segment-format";

/** The first segment is small (a CLI run writes one session); later ones double, up to MAX_SEGMENT. */
const FIRST_SEGMENT = 1 << 20;
const MAX_SEGMENT = 16 << 20;

/**
 * A segment is zero-filled in writes of this size, not in one: the page cache keeps a file filled by one large write
 * in large folios, and an entry written into one costs its `pwritev` and its `fdatasync` a walk over the whole folio.
 * Each step's write and sync took about 10 µs longer, and 15 µs more CPU, in a 1 MiB file filled at once than in
 * one filled 16 KiB at a time (and as little as in one filled 4 KiB at a time).
 */
export const FILL_CHUNK = 16 << 10;

/** The most bytes of entries copied together for one write (writeEntries). */
export const WRITE_CHUNK = 1 << 20;

/** One entry to write, and what to tell when it is written and durable. */
export interface Item {
  /** Its kind, fence and session, and their bytes (made once per lease and kind). */
  readonly head: EntryHead;
  readonly body: Buffer;
  /** The record or note, for the index (segment-index.ts); not an activity record, which the index never reads. */
  readonly value: unknown;
  /** The fencing check of the writing lease: what it throws fails the entry, which is not written. */
  readonly check?: () => void;
  /** Told when the check or the write failed. */
  readonly failed?: (err: unknown) => void;
  waiter?: Waiter;
  /** Under `batch`, the waiter waits for a sync too, not just the write: the entry acknowledges something (an end, a creation). */
  durable?: boolean;
  /** Under every policy, the waiter is told once the entry is written, at the end of its round (a deferred create). */
  unsynced?: boolean;
}

export interface SegmentFile {
  readonly n: number;
  readonly name: string;
  readonly fd: number;
  offset: number;
  readonly allocated: number;
}

/** Told of every entry written: where its body is (`body`: the item's, or the one queued beside it). */
export type WrittenHook = (item: Item, segment: SegmentFile, at: number, body: Buffer) => void;

/**
 * The body of an item shared by a lease's entries (`appendBody`): each entry's own body is queued beside it. Under
 * `none` a session that never yields queues its entries until the turn ends, so the queue keeps only a body for each.
 */
export const QUEUED_BODY = Buffer.alloc(0);

/** Told of a segment that will not be written again, its writes synced: its size and where its entries end. */
export type SealedHook = (segment: SegmentFile, size: number) => Promise<void>;

/**
 * How long (ms) a lone session's rounds may follow one another without a turn of the event loop: a turn costs each
 * step several µs beyond its write and sync (the loop's phases and a poll, run on caches the sync let go cold), and
 * a request that arrives meanwhile waits at most this long, plus one sync, to be taken.
 */
export const TURN_BUDGET_MS = 2;

const RESOLVED = Promise.resolve();
const open = promisify(fs.open);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);

/** Writes `length` bytes of `buffer` from `offset` at `position`, on the thread pool; resolves with how many it wrote. */
function writeAt(fd: number, buffer: Buffer, offset: number, length: number, position: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, buffer, offset, length, position, (err, written) => (err ? reject(err) : resolve(written))));
}

export function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

/** Makes a folder's entries durable, off the event loop. */
async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, "r");
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}

export class SegmentWriter {
  private current: SegmentFile | undefined;
  private next: SegmentFile | undefined;
  /** Full segments, closed once their last writes are synced. */
  private readonly retired = new Set<SegmentFile>();
  private preparing: Promise<void> | undefined;
  private count = 0;
  private pending: Item[] = [];
  /** The bodies of the pending items whose body is QUEUED_BODY, in their order. */
  private bodies: Buffer[] = [];
  /** Waiters of entries written, told once a sync covers them. */
  private written: Waiter[] = [];
  /** Waiters of entries written that need no sync (under `batch` a step's, a deferred create's), told at the end of the round that wrote them. */
  private wrote: Waiter[] = [];
  /** Segments written since their last sync. */
  private readonly dirty = new Set<SegmentFile>();
  /** A round runs (`always`), or a sync does (`batch`: writes go on meanwhile). */
  private running = false;
  private scheduled = false;
  /** When (performance.now) the event loop last started a round: a lone session's rounds skip the turn until then + TURN_BUDGET_MS. */
  private turnAt = -Infinity;
  /** A write or sync failed: what was written may be incomplete, so every later append fails with it. */
  private failure: unknown;

  constructor(
    private readonly dir: string,
    private readonly runner: string,
    readonly fsync: FsyncPolicy,
    private readonly onWritten: WrittenHook,
    /** Whether at most one session is being written (then a lone append's sync may block the event loop). */
    private readonly solo: () => boolean = () => false,
    private readonly onSealed: SealedHook = async () => {},
  ) {}

  /** Creates the first segment (before the first append). */
  async open(): Promise<void> {
    this.current = await this.createSegment();
  }

  /** Appends; resolves when the entry is durable per the policy (under `batch`: written, or synced when `item.durable`). */
  append(item: Item): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.fsync === "none") {
      this.queue(item);
      return RESOLVED;
    }
    return new Promise<void>((resolve, reject) => this.appendThen(item, { resolve, reject }));
  }

  /** append() telling `waiter` (at once under `none`): no promise of its own between the sync and the waiter. */
  appendThen(item: Item, waiter: Waiter): void {
    if (this.failure !== undefined) return waiter.reject(this.failure);
    if (this.fsync === "none") {
      this.queue(item);
      return waiter.resolve();
    }
    item.waiter = waiter;
    this.queue(item);
  }

  /**
   * appendThen for an entry of `shared`'s fields (a lease's activity record, body QUEUED_BODY) and `body`: under
   * `none` it is queued as its body alone, else as an item of its own.
   */
  appendBody(shared: Item, body: Buffer, waiter: Waiter): void {
    if (this.fsync !== "none") return this.appendThen({ ...shared, body }, waiter);
    if (this.failure !== undefined) return waiter.reject(this.failure);
    this.pending.push(shared);
    this.bodies.push(body);
    this.schedule();
    waiter.resolve();
  }

  /** Appends an entry nobody waits for (a note): written with the next round, synced by a later one. */
  note(item: Item): void {
    if (this.failure !== undefined) throw this.failure;
    this.queue(item);
  }

  /**
   * Resolves after an fdatasync that began after everything written so far (at once under `none`): what a deferred
   * create's lease waits for before its session is acknowledged.
   */
  synced(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.fsync === "none") return RESOLVED;
    return new Promise<void>((resolve, reject) => {
      this.written.push({ resolve, reject });
      this.schedule();
    });
  }

  /** Appends and, under `always`, syncs before returning (under `batch` the background sync covers it soon after). */
  appendSync(item: Item): void {
    if (this.failure !== undefined) throw this.failure;
    let failed: unknown;
    item.waiter = { resolve: () => {}, reject: (err) => (failed = err) };
    this.pending.push(item);
    this.writePending();
    if (failed !== undefined) throw failed;
    if (this.fsync === "none") return;
    if (this.fsync === "batch") return this.schedule();
    const waiters = this.takeWritten();
    try {
      for (const segment of this.takeDirty()) fs.fdatasyncSync(segment.fd);
    } catch (err) {
      this.failure ??= err;
      settle(waiters, err);
      throw err;
    }
    settle(waiters, undefined);
  }

  /**
   * Writes entries nobody waits for in this synchronous step, with what is queued (a deferred create): no round is
   * started for them, since the next synced append, or `synced()`, covers them. A failed write is kept and thrown by
   * the next append (and told to each entry's `failed`).
   */
  writeNow(items: readonly Item[]): void {
    if (this.failure !== undefined) throw this.failure;
    this.pending.push(...items);
    this.flushNow();
  }

  /** A round will write what is queued on the next turn: entries given to `writeSoon` now wait for nothing more. */
  roundDue(): boolean {
    return this.scheduled;
  }

  /**
   * Writes entries nobody waits a sync for with the next round, in one write with what the other sessions queued in
   * this turn, and tells `waiter` at the end of that round (a deferred create while a round is due).
   */
  writeSoon(items: readonly Item[], waiter: Waiter): void {
    if (this.failure !== undefined) return waiter.reject(this.failure);
    const last = items[items.length - 1];
    last.waiter = waiter;
    last.unsynced = true;
    this.pending.push(...items);
    this.schedule();
  }

  /** Writes what is queued now, in this synchronous step (a `none` creation, a release). */
  flushNow(): void {
    try {
      this.writePending();
    } catch {
      // The failure is kept and thrown by the next append.
    }
  }

  /** Writes and syncs everything queued, then closes the files. */
  async close(): Promise<void> {
    while (this.running || this.scheduled) await new Promise((r) => setImmediate(r));
    this.flushNow();
    if (this.fsync !== "none") await Promise.all(this.takeDirty().map((s) => datasync(s.fd))).catch((err) => (this.failure ??= err));
    await this.preparing;
    const open = [this.current, this.next, ...this.retired].filter((s) => s !== undefined);
    if (this.failure === undefined) await Promise.all(open.map((s) => this.seal(s)));
    for (const s of open) fs.closeSync(s.fd);
    this.current = this.next = undefined;
    this.retired.clear();
    if (this.failure !== undefined) throw this.failure;
  }

  private queue(item: Item): void {
    this.pending.push(item);
    this.schedule();
  }

  /** Starts a round unless one runs or is due (under `batch`, a write round even while a sync runs). */
  private schedule(): void {
    if (this.scheduled || (this.running && this.fsync === "always")) return;
    this.scheduled = true;
    // A round that started at once, with its sync on the main thread, would run that session's next append, and the
    // next, without the event loop ever taking a new request in between: a lone session's rounds skip the turn only
    // within the budget, and once this step is done (a tick runs after the promise jobs the append was made in, so
    // every append of the step is in the round). Everything else waits for the next turn.
    if (this.fsync === "always" && performance.now() - this.turnAt < TURN_BUDGET_MS && this.solo()) process.nextTick(this.round);
    else setImmediate(this.turned);
  }

  private readonly turned = (): void => {
    this.turnAt = performance.now();
    this.round();
  };

  private readonly round = (): void => {
    this.scheduled = false;
    if (this.fsync === "none") {
      this.flushNow();
      this.tellWrote();
    } else if (this.fsync === "batch") this.writeRound();
    else this.rounds();
  };

  /** `batch`: writes what is queued, tells the appends that waited for their write only, and starts a sync if none runs. */
  private writeRound(): void {
    this.flushNow();
    this.tellWrote();
    // A failed write or sync may have lost what these waited for: a later sync that succeeds does not cover it.
    if (this.failure !== undefined) return settle(this.takeWritten(), this.failure);
    if (this.running || (this.dirty.size === 0 && this.written.length === 0)) return;
    this.running = true;
    void this.syncRound(this.takeWritten(), this.takeDirty());
  }

  /**
   * Writes and syncs rounds while there is something to. A round synced on the main thread goes on in this step,
   * with no promise of its own (a lone session's step costs nothing more between its sync and its handler); one
   * synced on the thread pool goes on in `syncRound`, which comes back here.
   */
  private rounds(): void {
    this.running = true;
    while (this.pending.length > 0 || this.written.length > 0) {
      this.flushNow();
      this.tellWrote();
      const waiters = this.takeWritten();
      if (waiters.length === 0) continue;
      const segments = this.takeDirty();
      // One session, one waiting append, one file: nothing to overlap the flush with, and the thread pool's round
      // trip costs about a quarter of it. With more sessions, appends that arrive during the sync share the next
      // one, which they cannot while the event loop is blocked.
      if (waiters.length !== 1 || segments.length !== 1 || !this.solo()) {
        void this.syncRound(waiters, segments);
        return;
      }
      let failed: unknown;
      try {
        fs.fdatasyncSync(segments[0].fd);
      } catch (err) {
        failed = err;
      }
      this.roundDone(waiters, failed);
    }
    this.running = false;
  }

  private async syncRound(waiters: Waiter[], segments: SegmentFile[]): Promise<void> {
    let failed: unknown;
    try {
      await Promise.all(segments.map((s) => datasync(s.fd)));
    } catch (err) {
      failed = err;
    }
    this.roundDone(waiters, failed);
    if (this.fsync === "always") return this.rounds();
    // The next sync starts a turn later, so that it covers what the sessions this one let go write in that turn.
    await new Promise((r) => setImmediate(r));
    this.running = false;
    this.writeRound();
  }

  /** Tells the waiters of entries written that need no sync (a failed write rejected them when it failed). */
  private tellWrote(): void {
    const wrote = this.wrote;
    this.wrote = [];
    settle(wrote, undefined);
  }

  /** Tells a round's appends that their sync returned (or failed: then every later append fails too). */
  private roundDone(waiters: Waiter[], failed: unknown): void {
    if (failed !== undefined) this.failure ??= failed;
    settle(waiters, failed);
    this.closeRetired();
  }

  /**
   * Writes the queued entries whose lease passes its fencing check, a chunk at a time (writeEntries), and tells the
   * index where they went. A failed write fails their appends and every later one.
   */
  private writePending(): void {
    if (this.pending.length === 0) return;
    const items = this.pending;
    const queuedBodies = this.bodies;
    this.pending = [];
    this.bodies = [];
    if (this.failure !== undefined) return settleItems(items, this.failure);
    // Each lease's check runs once per write; a lone entry (a lone session's step) needs no note of it.
    const checked = items.length > 1 ? new Map<() => void, unknown>() : undefined;
    const taken: Item[] = [];
    const bodies: Buffer[] = [];
    let bytes = 0;
    let queued = 0;
    for (const item of items) {
      const body = item.body === QUEUED_BODY ? queuedBodies[queued++] : item.body;
      const err = item.check ? runCheck(item.check, checked) : undefined;
      if (err !== undefined) {
        item.failed?.(err);
        item.waiter?.reject(err);
        continue;
      }
      taken.push(item);
      bodies.push(body);
      bytes += headSize(item.head) + body.length;
    }
    if (taken.length === 0) return;
    const segment = this.room(bytes);
    try {
      writeEntries(segment.fd, segment.offset, taken, bodies, bytes);
    } catch (err) {
      this.failure = err;
      return settleItems(taken, err);
    }
    let at = segment.offset;
    for (let i = 0; i < taken.length; i++) {
      const item = taken[i];
      at += headSize(item.head);
      this.onWritten(item, segment, at, bodies[i]);
      at += bodies[i].length;
      // Under `none` nothing is synced, so nothing waits for a sync: a waiter kept for one would be kept forever.
      const onceWritten = item.unsynced || this.fsync === "none" || (this.fsync === "batch" && !item.durable);
      if (item.waiter) (onceWritten ? this.wrote : this.written).push(item.waiter);
    }
    segment.offset = at;
    this.dirty.add(segment);
  }

  /** The segment the next `bytes` go to: the current one, or the next one once the current is full and it is ready. */
  private room(bytes: number): SegmentFile {
    const current = this.current!;
    if (current.offset + bytes <= current.allocated) {
      if (current.offset * 2 > current.allocated) this.prepare();
      return current;
    }
    if (this.next && this.next.offset + bytes <= this.next.allocated) {
      this.current = this.next;
      this.next = undefined;
      this.retired.add(current);
      return this.current;
    }
    this.prepare();
    return current;
  }

  private closeRetired(): void {
    for (const s of this.retired) {
      if (this.dirty.has(s)) continue;
      void this.seal(s);
      fs.closeSync(s.fd);
      this.retired.delete(s);
    }
  }

  /** Tells of a sealed segment; its sidecar is an optimization, so failing to write one fails nothing. */
  private seal(segment: SegmentFile): Promise<void> {
    let size: number;
    try {
      size = fs.fstatSync(segment.fd).size;
    } catch {
      return RESOLVED;
    }
    return this.onSealed(segment, size).catch(() => {});
  }

  private prepare(): void {
    if (this.fsync === "none" || this.next || this.preparing) return;
    this.preparing = this.createSegment()
      .then((s) => {
        this.next = s;
      })
      .catch(() => {
        // Writes go on in the current segment; the next round tries again.
      })
      .finally(() => (this.preparing = undefined));
  }

  /**
   * A new segment file, zero-filled to its size and synced with its folder entry (under `none`: just its header),
   * on the thread pool.
   */
  private async createSegment(): Promise<SegmentFile> {
    const n = this.count++;
    const name = `${this.runner}-${n}.seg`;
    const size = this.fsync === "none" ? SEGMENT_HEADER_SIZE : Math.min(MAX_SEGMENT, FIRST_SEGMENT << n);
    const fd = await open(path.join(this.dir, name), "wx", 0o600);
    try {
      const first = Buffer.concat([segmentHeader(), zeros(Math.min(size, FILL_CHUNK) - SEGMENT_HEADER_SIZE)]);
      // Each write ends at a multiple of FILL_CHUNK (a short one is continued up to it), so no write spans two.
      for (let at = 0; at < size; ) {
        const [buffer, from] = at < first.length ? [first, at] : [zeros(FILL_CHUNK), at % FILL_CHUNK];
        at += await writeAt(fd, buffer, from, Math.min(FILL_CHUNK - (at % FILL_CHUNK), size - at), at);
      }
      if (this.fsync !== "none") {
        await fsync(fd);
        await syncDir(this.dir);
      }
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
    return { n, name, fd, offset: SEGMENT_HEADER_SIZE, allocated: this.fsync === "none" ? Infinity : size };
  }

  private takeWritten(): Waiter[] {
    const waiters = this.written;
    this.written = [];
    return waiters;
  }

  private takeDirty(): SegmentFile[] {
    const segments = [...this.dirty];
    this.dirty.clear();
    return segments;
  }
}

/**
 * Writes the entries at `position`, copied into a buffer of up to WRITE_CHUNK bytes, written and filled again (an
 * entry longer than that gets a buffer of its own): a buffer for each head and an iovec for each part cost more, and
 * a buffer as long as a `none` round that never yielded (megabytes) would hold a second copy of all its bodies.
 */
function writeEntries(fd: number, position: number, items: Item[], bodies: Buffer[], bytes: number): void {
  const chunk = Buffer.allocUnsafe(Math.min(bytes, WRITE_CHUNK));
  for (let i = 0; i < items.length; ) {
    let size = headSize(items[i].head) + bodies[i].length;
    let end = i + 1;
    for (; end < items.length; end++) {
      const next = headSize(items[end].head) + bodies[end].length;
      if (size + next > chunk.length) break;
      size += next;
    }
    const data = size > chunk.length ? Buffer.allocUnsafe(size) : chunk;
    for (let at = 0; i < end; i++) {
      at = putHead(data, at, items[i].head, bodies[i]);
      data.set(bodies[i], at);
      at += bodies[i].length;
    }
    // A write may take less than asked: the rest follows.
    for (let written = 0; written < size; ) written += fs.writeSync(fd, data, written, size - written, position + written);
    position += size;
  }
}

/** What `checked` notes of a check that passed. */
const PASSED = Symbol("passed");

function runCheck(check: () => void, checked: Map<() => void, unknown> | undefined): unknown {
  const noted = checked?.get(check);
  if (noted !== undefined) return noted === PASSED ? undefined : noted;
  let err: unknown;
  try {
    check();
  } catch (e) {
    err = e;
  }
  checked?.set(check, err ?? PASSED);
  return err;
}

function settleItems(items: Item[], err: unknown): void {
  for (const item of items) {
    item.failed?.(err);
    item.waiter?.reject(err);
  }
}

function settle(waiters: Waiter[], err: unknown): void {
  for (const w of waiters) (err === undefined ? w.resolve() : w.reject(err));
}
