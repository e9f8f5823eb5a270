/**
 * A file store lease (protocol: docs/stores.md). Fence 1 is held through the creator's segment lease, renewed by
 * the store; a takeover fence n >= 2 through its own file `<id>.lease-<n>`. The fencing check (does the next fence's
 * lease file exist?) is skipped while the lease cannot have been taken: it was renewed less than half a ttl ago and
 * every renewal before came in time, so no claimer can have seen it expired, and its process is alive. Otherwise it
 * runs before every write, as a stat in the same synchronous step as the write.
 */
import * as fs from "node:fs";
import type { JournalRecord } from "../journal-records";
import { encodeFrame } from "../journal-frames";
import { StaleLeaseError } from "../errors";
import { AktsError } from "../../errors";
import { UNFINISHED, type JournalRead, type SessionLease, type SessionStatus, type StatusExtra } from "./store";
import type { SessionFiles } from "./file-session";
import { jsonSafe } from "./json-safe";
import { entryHead, Kind, noteBody, recordKind, type EntryHead } from "./segment-format";
import { QUEUED_BODY, type Item, type SegmentWriter } from "./segment-writer";
import type { Waiter } from "../session-state";
import type { StatusNote } from "./segment-index";

const RESOLVED = Promise.resolve();

export interface LeaseInfo {
  readonly runner: string;
  readonly fence: number;
  readonly host: string;
  readonly pid: number;
  /** The holder process's start time (Linux), so a reused pid does not keep a dead holder's lease alive. */
  readonly start?: string;
  readonly ttlMs: number;
}

/** What a lease needs from its store. */
export interface LeaseHost {
  readonly ttlMs: number;
  readonly writer: SegmentWriter;
  dropped(lease: FileLease): void;
}


export class FileLease implements SessionLease {
  private readonly nextLease: string;
  private released = false;
  private finished = false;
  /** The session waited: a status note must say when it runs again. */
  private noted: boolean;
  private renewedAt = Date.now();
  /** Every renewal came within half a ttl of the one before: the fencing check may trust the last one. */
  private renewedInTime = true;
  /** A write refused by the fencing check (or failed): every later call throws it. */
  private failure: unknown;
  /** The fields of this lease's activity entries, shared by them (SegmentWriter.appendBody); made on first use. */
  private activityItem: Item | undefined;
  /** The head of this lease's entries of each kind, made on first use. */
  private readonly heads: EntryHead[] = [];

  constructor(
    private readonly files: SessionFiles,
    readonly fence: number,
    private readonly host: LeaseHost,
    state: { waited: boolean },
    readonly claimed?: JournalRead,
  ) {
    this.nextLease = files.lease(fence + 1);
    this.noted = state.waited;
  }

  get id(): string {
    return this.files.id;
  }

  /** The fencing check, run by the segment writer right before it writes this lease's entries, and before notes. */
  readonly checkFence = (): void => {
    if (this.renewedInTime && Date.now() - this.renewedAt < this.host.ttlMs / 2) return;
    if (fs.existsSync(this.nextLease)) throw new StaleLeaseError(this.id, this.fence, this.files.currentFence());
  };

  private readonly fail = (err: unknown): void => {
    this.failure ??= err;
  };

  private assertHeld(): void {
    if (this.released) throw new AktsError("AKTS4003", `session ${this.id}: the lease was released; nothing was written`);
    if (this.failure !== undefined) throw this.failure;
  }

  /** The entry of a journal record, or of a note (a status, a release, a claim). */
  item(kind: Kind, value: unknown, durable = false): Item {
    const body = kind <= Kind.Record ? encodeFrame(value as JournalRecord) : noteBody(value);
    // The index decodes no activity (segment-index.ts, `add`): an item waiting to be written does not keep it alive.
    return { head: this.head(kind), body, value: kind === Kind.Record ? undefined : value, check: this.checkFence, failed: this.fail, durable };
  }

  private head(kind: Kind): EntryHead {
    return (this.heads[kind] ??= entryHead(kind, this.fence, this.id));
  }

  /** `durable`: the record acknowledges something (an end, a creation), so under fsync `batch` too it waits for a sync. */
  private recordItem(record: JournalRecord, durable: boolean): Item {
    return this.item(recordKind(record), record, durable);
  }

  append(record: JournalRecord, durable = false): Promise<void> {
    try {
      this.assertHeld();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.host.writer.append(this.recordItem(record, durable));
  }

  appendThen(record: JournalRecord, waiter: Waiter, durable = false): void {
    this.assertHeld();
    const kind = recordKind(record);
    if (kind !== Kind.Record || durable) return this.host.writer.appendThen(this.recordItem(record, durable), waiter);
    this.activityItem ??= { head: this.head(kind), body: QUEUED_BODY, value: undefined, check: this.checkFence, failed: this.fail };
    this.host.writer.appendBody(this.activityItem, encodeFrame(record), waiter);
  }

  /**
   * Writes the records in this synchronous step without waiting for their sync (a create whose sync is deferred):
   * the session's next synced append, or `durable()`, covers them. Throws when the write failed.
   */
  appendUnsynced(records: readonly JournalRecord[]): void {
    this.assertHeld();
    this.host.writer.writeNow(records.map((record) => this.recordItem(record, false)));
    this.assertHeld();
  }

  /**
   * appendUnsynced, but written with the writer's next round, in one write with what other sessions queued in this
   * turn: resolves (or rejects) once the records are written, still without waiting for their sync.
   */
  appendSoon(records: readonly JournalRecord[]): Promise<void> {
    try {
      this.assertHeld();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise((resolve, reject) => this.host.writer.writeSoon(records.map((record) => this.recordItem(record, false)), { resolve, reject }));
  }

  durable(): Promise<void> {
    return this.host.writer.synced();
  }

  appendSync(record: JournalRecord): void {
    this.assertHeld();
    this.host.writer.appendSync(this.recordItem(record, false));
  }

  /**
   * A note in the segment, not waited for (the journal tells the status again: its end record, and an unfinished
   * session runs): `waiting`, `running` after a wait, and a finished session's summary fields (its error code).
   */
  setStatus(status: SessionStatus, extra: StatusExtra = {}): Promise<void> {
    try {
      this.noteStatus(status, extra);
    } catch (err) {
      return Promise.reject(err);
    }
    return RESOLVED;
  }

  /** What `setStatus` does, all of it synchronous: `finish` notes the status without a promise of its own. */
  private noteStatus(status: SessionStatus, extra: StatusExtra = {}): void {
    this.assertHeld();
    this.checkFence();
    if (status === "running" && !this.noted) return;
    const { result, ...rest } = extra;
    const note: StatusNote = { ...rest, ...(result === undefined ? {} : { result: jsonSafe(result) }), status, at: Date.now() };
    this.host.writer.note(this.item(Kind.Status, note));
    if (UNFINISHED.includes(status)) this.noted = status === "waiting";
    else this.finished = true;
  }

  /** The end record and the status note in one write; resolves once the end is durable (the note is not waited for). */
  async finish(end: JournalRecord, status: SessionStatus, extra?: StatusExtra, durable?: () => void): Promise<void> {
    // `durable` runs in the writer's step that synced the end, with no promise between the sync and it.
    const appended = durable ? new Promise<void>((resolve, reject) => this.appendThen(end, { resolve: () => told(durable, resolve, reject), reject }, true)) : this.append(end, true);
    try {
      this.noteStatus(status, extra);
    } finally {
      await appended;
    }
    await this.release();
  }

  /**
   * Heartbeat: for a takeover fence, renews its file's mtime; for fence 1 the store renewed its segment lease
   * (`segmentRenewed`). Either way it finds out when the lease was taken.
   */
  renew(segmentRenewed: boolean): void {
    const now = Date.now();
    if (fs.existsSync(this.nextLease)) {
      this.renewedInTime = false;
      return;
    }
    if (this.fence === 1) {
      if (!segmentRenewed) this.renewedInTime = false;
    } else {
      try {
        fs.utimesSync(this.files.lease(this.fence), now / 1000, now / 1000);
      } catch {
        // The lease file is gone only if the store folder was removed; the next write's check reports it.
        this.renewedInTime = false;
        return;
      }
    }
    if (now - this.renewedAt >= this.host.ttlMs / 2) this.renewedInTime = false;
    this.renewedAt = now;
  }

  /**
   * Lets the session go. Unfinished, its lease becomes free: a note in the segment for fence 1 (the segment lease
   * covers the creator's other sessions too), mtime 0 on its file for a takeover fence.
   */
  release(): Promise<void> {
    // Not async: a finished session's release (and the engine's second one) costs no promise of its own.
    if (this.released) return RESOLVED;
    this.released = true;
    this.host.dropped(this);
    if (this.finished || this.failure !== undefined) return RESOLVED;
    try {
      if (this.fence === 1) this.host.writer.note({ ...this.item(Kind.Released, {}), check: undefined });
      // Everything appended is written before the next holder may read the journal.
      this.host.writer.flushNow();
    } catch (err) {
      return Promise.reject(err);
    }
    if (this.fence === 1) return RESOLVED;
    return fs.promises.utimes(this.files.lease(this.fence), 0, 0).catch(ignoreMissing);
  }
}

/** Calls `durable`, then resolves; what it throws rejects instead (and stays out of the writer that called this). */
function told(durable: () => void, resolve: () => void, reject: (err: unknown) => void): void {
  try {
    durable();
  } catch (err) {
    return reject(err);
  }
  resolve();
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== "ENOENT") throw err;
}
