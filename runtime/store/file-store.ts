/**
 * The embedded store: one folder, `.akts/` beside the manifest by default. Layout, lease protocol and exactly what
 * fencing guarantees: docs/stores.md; the segment format: docs/journal.md.
 *
 *   segments/<runner>-<n>.seg  a runner's (an open store's) segments: the frames of every session it writes,
 *                              each tagged with its session and fence, and its notes (statuses, releases, claims)
 *   segments/<runner>-<n>.idx  a sealed segment's sidecar: its index, read at open instead of its frames
 *   segments/<runner>.lease    the runner's lease: the lease of fence 1 of every session it created. Its mtime is
 *                              the heartbeat; mtime 0 means released (the store closed)
 *   sessions/<id>.lease-<n>    the lease of fence n >= 2 (a takeover); created once, by link(), so one claimer
 *                              wins each fence
 *   sessions/<id>.inbox/       events delivered and not yet consumed
 *   tmp/                       files being written, renamed into place when whole
 *   values/                    the projects' stored values (file-values.ts)
 *
 * A session creates no file: starting it appends its header (and first attempt) to the runner's segment, finishing
 * it appends its end record and a status note. Files are 0600, folders 0700.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { randomBytes } from "node:crypto";
import { decode, encode } from "../codec";
import type { FsyncPolicy } from "../journal-file";
import { decodeFrames } from "../journal-frames";
import type { AttemptRecord, HeaderRecord } from "../journal-records";
import { JournalCorruptError } from "../errors";
import type { Inbox } from "../session-state";
import { UNFINISHED, newEventId, type CreateOptions, type JournalRead, type ListFilter, type SessionLease, type SessionSummary, type Store } from "./store";
import { AktsError } from "../../errors";
import { HOST, OWN_START, processAlive, type LeaseHolder } from "./holder";
import { SessionFiles, readJson } from "./file-session";
import { FileLease, type LeaseInfo } from "./file-lease";
import { firstNotBelow } from "./file-listing";
import { FileValues } from "./file-values";
import type { StoredValue, ValueOp } from "./values";
import { FileCancels } from "./file-cancel";
import { FileQueue } from "./file-queue";
import { FileIdempotency } from "./file-idempotency";
import { FileSlots } from "./file-slots";
import { FileVersions } from "./file-versions";
import { Kind, type Entry } from "./segment-format";
import { SegmentWriter, type Item, type SegmentFile } from "./segment-writer";
import { SegmentIndex, type SegmentInfo } from "./segment-index";
import { migrateLegacy } from "./legacy-layout";
import { tempFile } from "./temp-file";

export interface FileStoreOptions {
  /**
   * A lease whose holder has not renewed it for this long is free even if the holder's process still exists
   * (it hangs, or runs on another machine sharing the folder). Holders renew every third of it. Default 60 s.
   */
  readonly leaseTtlMs?: number;
  /** Reads only (akts replay): a dead runner's torn segment tail is skipped, not cut, and nothing is removed. */
  readonly readOnly?: boolean;
}

const DEFAULT_LEASE_TTL_MS = 60_000;
const INBOX_POLL_MS = 50;
/** A temporary file this old was left by a writer that died: it is removed when a store opens. */
const TMP_ORPHAN_MS = 10 * 60_000;

/** This host in runner names: a hash, since a host name may contain any character. */
const HOST_TAG = crc32(HOST).toString(16).padStart(8, "0");


export class FileStore implements Store {
  private readonly sessionsDir: string;
  private readonly segmentsDir: string;
  private readonly tmpDir: string;
  readonly ttlMs: number;
  /** This store's runner name in segment and lease file names: host, pid, process start, random. */
  private readonly runnerId = `${HOST_TAG}-${process.pid}-${OWN_START ?? ""}-${randomBytes(4).toString("hex")}`;
  private readonly held = new Set<FileLease>();
  /** Sessions with a lease in `held`, and how many (a stale lease and the one that took it over). */
  private readonly heldIds = new Map<string, number>();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly index: SegmentIndex;
  private segmentWriter: SegmentWriter | undefined;
  private opening: Promise<SegmentWriter> | undefined;
  private readonly ownSegments = new Map<SegmentFile, SegmentInfo>();
  private readonly values: FileValues;
  private readonly cancels: FileCancels;
  readonly queue: FileQueue;
  readonly idempotency: FileIdempotency;
  readonly slots: FileSlots;

  constructor(
    readonly location: string,
    private readonly fsync: FsyncPolicy = "always",
    options: FileStoreOptions = {},
  ) {
    this.ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.sessionsDir = path.join(location, "sessions");
    this.segmentsDir = path.join(location, "segments");
    this.tmpDir = path.join(location, "tmp");
    for (const dir of [location, this.sessionsDir, this.segmentsDir, this.tmpDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.values = new FileValues(location);
    if (!options.readOnly) {
      this.removeOrphanedTmp();
      migrateLegacy(location);
    }
    this.index = new SegmentIndex(this.segmentsDir, (runner) => runner !== this.runnerId && !this.isHeld(this.segmentLease(runner)), !options.readOnly, this.tmpDir);
    this.index.refresh();
    this.cancels = new FileCancels(location);
    this.queue = new FileQueue(location, (file, data) => this.writeAtomic(file, data), (id) => this.get(id));
    this.idempotency = new FileIdempotency(location, this.tmpDir);
    this.slots = new FileSlots(location, this.tmpDir, (id) => this.get(id), this.ttlMs);
  }

  async requestCancel(id: string): Promise<void> {
    return this.cancels.request(id);
  }

  cancelRequests(ids: readonly string[]): Promise<Set<string>> {
    return this.cancels.requested(ids);
  }

  sweepCancels(): Promise<number> {
    return this.cancels.sweep(this);
  }

  keptVersions(): FileVersions {
    return new FileVersions(this.location);
  }

  /** Temporary files of writers that died mid-write: nothing refers to them. */
  private removeOrphanedTmp(): void {
    const now = Date.now();
    for (const name of fs.readdirSync(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      try {
        if (now - fs.statSync(file).mtimeMs > TMP_ORPHAN_MS) fs.rmSync(file, { force: true });
      } catch {
        // Renamed into place by its writer since the listing.
      }
    }
  }

  private files(id: string): SessionFiles {
    return new SessionFiles(this.sessionsDir, id);
  }

  private segmentLease(runner: string): string {
    return path.join(this.segmentsDir, `${runner}.lease`);
  }

  private leaseInfo(runner: string, fence: number): string {
    return JSON.stringify({ runner, fence, host: HOST, pid: process.pid, start: OWN_START, ttlMs: this.ttlMs } satisfies LeaseInfo);
  }

  /** The writer, for leases (it exists once a lease does). */
  get writer(): SegmentWriter {
    return this.segmentWriter!;
  }

  /**
   * The runner's lease file and first segment, made on the first create or claim (a store that only reads writes
   * nothing). The lease is written before the segment, so a segment never exists without it.
   */
  private ready(runner: string): Promise<SegmentWriter> {
    if (this.segmentWriter) return Promise.resolve(this.segmentWriter);
    this.opening ??= (async () => {
      await fs.promises.writeFile(this.segmentLease(this.runnerId), this.leaseInfo(runner, 1), { flag: "wx", mode: 0o600 });
      const writer = new SegmentWriter(this.segmentsDir, this.runnerId, this.fsync, (item, segment, at, body) => this.written(item, segment, at, body), () => this.held.size <= 1, (segment, size) => this.sealed(segment, size));
      await writer.open();
      this.segmentWriter = writer;
      this.startHeartbeat();
      return writer;
    })();
    return this.opening;
  }

  private ownSegment(segment: SegmentFile): SegmentInfo {
    let info = this.ownSegments.get(segment);
    if (!info) this.ownSegments.set(segment, (info = this.index.ownSegment(path.join(this.segmentsDir, segment.name), this.runnerId, segment.n)));
    return info;
  }

  /** An entry this store wrote: indexed at once, with the value it wrote (nothing is read back). */
  private written(item: Item, segment: SegmentFile, at: number, body: Buffer): void {
    const info = this.ownSegment(segment);
    const { kind, fence, session } = item.head;
    const entry: Entry = { kind, fence, session, at, length: body.length };
    this.index.add(info, entry, () => body, item.value);
  }

  /** One of this store's segments is sealed: its sidecar spares the next open reading it. */
  private async sealed(segment: SegmentFile, size: number): Promise<void> {
    const info = this.ownSegment(segment);
    this.ownSegments.delete(segment);
    await this.index.seal(info, size, segment.offset);
  }

  /** Writes a file in full under its name: written to tmp/, then renamed, so no reader sees part of it. */
  async writeAtomic(file: string, data: string | Buffer): Promise<void> {
    const tmp = tempFile(this.tmpDir, path.basename(file));
    try {
      await fs.promises.writeFile(tmp, data, { mode: 0o600 });
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Appends the header (and first attempt) to this runner's segment under fence 1, whose lease is the runner's:
   * resolves once they are durable per the fsync policy, or with `deferSync` once they are written (the page cache
   * keeps them through a SIGKILL; the session's next synced write covers them). No file is made.
   */
  async create(header: HeaderRecord, runner: string, attempt?: AttemptRecord, options: CreateOptions = {}): Promise<SessionLease> {
    const id = header.sessionId;
    const files = this.files(id);
    if (this.index.sessions.get(id)?.fields) throw this.exists(id);
    let writer: SegmentWriter;
    try {
      // Once open, without waiting a turn for it.
      writer = this.segmentWriter ?? (await this.ready(runner));
    } catch (err) {
      throw this.notRecorded(id, err);
    }
    const lease = new FileLease(files, 1, this, { waited: false });
    if (options.deferSync) {
      const records = attempt ? [header, attempt] : [header];
      try {
        // Beside live sessions, or while a round is due, written with the next round, one write with the others' (a
        // write per creation cost the server more than the rest of a short session's writes); alone, in this step.
        // Either way the handler starts only once its header is written, so a SIGKILL from then on keeps the session.
        if (this.held.size > 0 || writer.roundDue()) await lease.appendSoon(records);
        else lease.appendUnsynced(records);
      } catch (err) {
        throw this.notRecorded(id, err);
      }
      return this.hold(lease);
    }
    const appended = [lease.append(header, true), ...(attempt ? [lease.append(attempt, true)] : [])];
    // `none` queues them for the next turn: the session is listed from now on.
    if (this.fsync === "none") writer.flushNow();
    try {
      await Promise.all(appended);
    } catch (err) {
      throw this.notRecorded(id, err);
    }
    return this.hold(lease);
  }

  private exists(id: string): AktsError {
    return new AktsError("AKTS9001", `session ${id} already exists in ${this.location}`);
  }

  private notRecorded(id: string, err: unknown): AktsError {
    return new AktsError("AKTS4005", `session ${id} could not be recorded in ${this.location}: ${(err as Error).message}`);
  }

  /** Brings the index up to date: this store's queued entries written (`none`), other runners' new ones read. */
  private look(): void {
    this.segmentWriter?.flushNow();
    this.index.refresh();
  }

  /**
   * The session as the index knows it. Only a session this store holds is known to be current without looking at
   * other runners' new entries.
   */
  private known(id: string): SessionSummary | undefined {
    this.files(id);
    this.segmentWriter?.flushNow();
    if (this.heldIds.has(id)) return this.index.summary(id);
    this.index.refresh();
    return this.index.summary(id);
  }

  async claim(id: string, runner: string): Promise<SessionLease | undefined> {
    const files = this.files(id);
    this.look();
    const summary = this.index.summary(id);
    if (!summary) throw this.missing(id);
    if (!UNFINISHED.includes(summary.status)) return undefined;
    const current = files.currentFence();
    if (this.fenceHeld(id, current)) return undefined;
    const fence = current + 1;
    if (!this.takeLease(files, fence, runner)) return undefined;
    const free = () => fs.utimesSync(files.lease(fence), 0, 0);
    let writer: SegmentWriter;
    let journal: { image: Buffer; notices: string[]; records: number };
    let read: ReturnType<typeof decodeFrames>;
    try {
      writer = await this.ready(runner);
      journal = this.index.journal(id);
      read = decodeFrames(journal.image, path.join(this.segmentsDir, `${id}`), { lazy: true });
    } catch (err) {
      // A damaged journal fails its session, loudly and for good; the segment itself is left as it is.
      if (err instanceof JournalCorruptError && this.segmentWriter) {
        const lease = new FileLease(files, fence, this, { waited: false });
        await lease.setStatus("failed", { error: err.message, errorCode: err.code });
        this.segmentWriter.flushNow();
      }
      free();
      throw err;
    }
    const header = read.records[0];
    if (header?.t !== "header") {
      free();
      throw new JournalCorruptError(id, 0, "the journal has no header record");
    }
    const lease = new FileLease(files, fence, this, { waited: summary.status === "waiting" }, { records: read.records, activities: read.activities, notices: journal.notices, end: read.end });
    // What this claim read: frames a stale holder of an older fence writes from now on are not part of the journal.
    writer.note(lease.item(Kind.Claim, { prior: journal.records }));
    return this.hold(lease);
  }

  /** Creates lease file `fence` (>= 2), fully written, or fails if it exists: link() is atomic and exclusive. */
  private takeLease(files: SessionFiles, fence: number, runner: string): boolean {
    const file = files.lease(fence);
    const tmp = tempFile(this.tmpDir, path.basename(file));
    fs.writeFileSync(tmp, this.leaseInfo(runner, fence), { mode: 0o600 });
    try {
      fs.linkSync(tmp, file);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }

  /** Fence 1 is held through its creator's segment lease unless the creator released the session. */
  private fenceHeld(id: string, fence: number): boolean {
    const entry = this.index.sessions.get(id)!;
    if (fence === 1) return !entry.released?.has(1) && entry.creator !== undefined && this.isHeld(this.segmentLease(entry.creator));
    return this.isHeld(this.files(id).lease(fence));
  }

  /**
   * Held: not released, renewed within its ttl, and (on this machine) its process is the one that took it. A lease
   * file that does not say who holds it yet (its creator is writing it, or died doing so) is held while it is young.
   */
  private isHeld(file: string): boolean {
    let renewed: number;
    try {
      renewed = fs.statSync(file).mtimeMs;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    // Released: no need to read who held it (the usual case when recovering).
    if (renewed === 0) return false;
    let info: LeaseInfo | undefined;
    try {
      info = JSON.parse(fs.readFileSync(file, "utf8")) as LeaseInfo;
    } catch {
      return Date.now() - renewed <= this.ttlMs;
    }
    if (Date.now() - renewed > info.ttlMs) return false;
    return info.host !== HOST || processAlive(info.pid, info.start);
  }

  /** Who holds the session's newest lease, for `akts resume` to name (holder.ts, describeHolder). */
  async holder(id: string): Promise<LeaseHolder | undefined> {
    const files = this.files(id);
    const fence = files.currentFence();
    if (fence > 1) return readJson<LeaseInfo>(files.lease(fence));
    const creator = this.index.sessions.get(id)?.creator;
    return creator === undefined ? undefined : readJson<LeaseInfo>(this.segmentLease(creator));
  }

  private hold(lease: FileLease): FileLease {
    this.held.add(lease);
    this.heldIds.set(lease.id, (this.heldIds.get(lease.id) ?? 0) + 1);
    return lease;
  }

  private startHeartbeat(): void {
    this.heartbeat = setInterval(() => this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
    this.heartbeat.unref();
  }

  /** The segment lease (fence 1 of every session this runner created), then each takeover lease held. */
  private renew(): void {
    const now = Date.now() / 1000;
    let renewed = true;
    try {
      fs.utimesSync(this.segmentLease(this.runnerId), now, now);
    } catch {
      renewed = false;
    }
    for (const lease of this.held) lease.renew(renewed);
  }

  dropped(lease: FileLease): void {
    if (!this.held.delete(lease)) return;
    const n = this.heldIds.get(lease.id)! - 1;
    if (n === 0) this.heldIds.delete(lease.id);
    else this.heldIds.set(lease.id, n);
  }

  async get(id: string): Promise<SessionSummary | undefined> {
    return this.known(id);
  }

  /** Running or waiting, oldest first, from the index (brought up to date with other runners' segments). */
  async unfinished(): Promise<SessionSummary[]> {
    this.look();
    const out: SessionSummary[] = [];
    for (const id of this.index.allIds()) {
      const summary = this.index.summary(id)!;
      if (UNFINISHED.includes(summary.status)) out.push(summary);
    }
    return out;
  }

  /** Newest first: from the end of the sorted ids, below `before`. */
  async list(filter: ListFilter = {}): Promise<SessionSummary[]> {
    this.look();
    const limit = filter.limit ?? Infinity;
    const ids = this.index.allIds();
    const out: SessionSummary[] = [];
    for (let i = filter.before === undefined ? ids.length : firstNotBelow(ids, filter.before); i > 0 && out.length < limit; ) {
      const summary = this.index.summary(ids[--i])!;
      if ((!filter.status || summary.status === filter.status) && (!filter.trigger || summary.trigger === filter.trigger)) out.push(summary);
    }
    return out;
  }

  async read(id: string): Promise<JournalRead> {
    this.files(id);
    this.look();
    if (!this.index.summary(id)) throw this.missing(id);
    const journal = this.index.journal(id);
    const { records, end } = decodeFrames(journal.image, path.join(this.segmentsDir, id));
    return { records, notices: journal.notices, end };
  }

  private missing(id: string): AktsError {
    return new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
  }

  async deliver(id: string, name: string, value: unknown, eventId = newEventId()): Promise<string> {
    const files = this.files(id);
    if (!this.known(id)) throw this.missing(id);
    await fs.promises.mkdir(files.inbox, { recursive: true, mode: 0o700 });
    await this.writeAtomic(path.join(files.inbox, eventId), encode({ name, value }));
    return eventId;
  }

  mutateValue(project: string, key: string, op: ValueOp, token?: string): Promise<unknown> {
    return this.values.mutateValue(project, key, op, token);
  }

  listValues(project: string): Promise<StoredValue[]> {
    return this.values.listValues(project);
  }

  inbox(id: string, consumed: ReadonlySet<string>): Inbox {
    const dir = this.files(id).inbox;
    const scan = (names: readonly string[]): { id: string; name: string; value: unknown } | undefined => {
      let events: string[];
      try {
        events = fs.readdirSync(dir).filter((f) => f.startsWith("evt_")).sort();
      } catch {
        return undefined;
      }
      for (const event of events) {
        if (consumed.has(event)) {
          fs.rmSync(path.join(dir, event), { force: true });
          continue;
        }
        const data = decode(fs.readFileSync(path.join(dir, event))) as { name: string; value: unknown };
        if (names.includes(data.name)) return { id: event, name: data.name, value: data.value };
      }
      return undefined;
    };
    return {
      take: (name, deadline) =>
        new Promise((resolve) => {
          const poll = () => {
            const got = scan(typeof name === "string" ? [name] : name);
            if (got) return resolve(got);
            if (deadline !== undefined && Date.now() >= deadline) return resolve(undefined);
            setTimeout(poll, deadline === undefined ? INBOX_POLL_MS : Math.min(INBOX_POLL_MS, Math.max(0, deadline - Date.now())));
          };
          poll();
        }),
      consumed: async (eventId) => {
        // The event's file goes only once the journal entry that took it is on disk (under `batch` its append was not).
        if (this.fsync === "batch") await this.segmentWriter?.synced();
        fs.rmSync(path.join(dir, eventId), { force: true });
      },
    };
  }

  /** Releases the leases held, writes and syncs the segment, then releases the segment lease (mtime 0). */
  async close(): Promise<void> {
    for (const lease of [...this.held]) await lease.release();
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    const writer = this.segmentWriter ?? (await this.opening?.catch(() => undefined));
    if (!writer) return;
    await writer.close();
    await fs.promises.utimes(this.segmentLease(this.runnerId), 0, 0).catch((err: NodeJS.ErrnoException) => {
      // Removed by a person while the store ran: nothing is left to release.
      if (err.code !== "ENOENT") throw err;
    });
  }
}

