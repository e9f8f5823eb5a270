/**
 * The embedded store: one folder, `.akts/` beside the manifest by default. Layout, lease protocol and exactly what
 * fencing guarantees: docs/stores.md.
 *
 *   sessions/<id>.journal     the journal: the truth about a session
 *   sessions/<id>.json        its summary: written when the session finishes (and while it waits); the journal
 *                             tells it otherwise, and its end record overrules a summary that says unfinished
 *   sessions/<id>.lease-<n>   the lease of fence n >= 2 (a takeover); created once, by link(), so one claimer
 *                             wins each fence. Its mtime is the holder's heartbeat; mtime 0 means released.
 *   sessions/<id>.inbox/      events delivered and not yet consumed
 *   unfinished/<id>           present while the session is unfinished, and the lease of fence 1 (same rules):
 *                             recovery reads only these
 *   tmp/                      files being written, renamed into place when whole
 *   values/                   the projects' stored values (file-values.ts)
 *
 * A session costs two file creations (journal, marker) and one directory sync of each folder (shared by sessions
 * created at the same time) to start, and one summary write and one removal to finish. Files are 0600, folders 0700.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { decode, encode } from "../codec";
import { JournalWriter, fsyncDir, readJournal, type FsyncPolicy } from "../journal-file";
import type { AttemptRecord, HeaderRecord } from "../journal-records";
import { JournalCorruptError } from "../errors";
import type { Inbox } from "../session-state";
import { UNFINISHED, isSessionId, newEventId, type JournalRead, type ListFilter, type SessionLease, type SessionSummary, type Store } from "./store";
import { AktsError } from "../../errors";
import { HOST, OWN_START, processAlive, type LeaseHolder } from "./holder";
import { BatchLog, applyEntries, logDir, logFiles, ownerGone, ownerRunsHere, readLog, type LogEntry } from "./batch-log";
import { DirSync } from "./dir-sync";
import { SessionFiles, creationCut, readJson, sessionSummary, summaryFromRecords } from "./file-session";
import { FileLease, type LeaseInfo } from "./file-lease";
import { SessionIds, firstNotBelow } from "./file-listing";
import { FileValues } from "./file-values";
import type { StoredValue, ValueOp } from "./values";
import { FileCancels } from "./file-cancel";
import { FileQueue } from "./file-queue";
import { FileIdempotency } from "./file-idempotency";
import { FileSlots } from "./file-slots";
import { FileVersions } from "./file-versions";

export interface FileStoreOptions {
  /**
   * A lease whose holder has not renewed it for this long is free even if the holder's process still exists
   * (it hangs, or runs on another machine sharing the folder). Holders renew every third of it. Default 60 s.
   */
  readonly leaseTtlMs?: number;
  /** fsync `batch`: the size of the group-commit log that triggers a checkpoint. Default 8 MiB. */
  readonly batchCheckpointBytes?: number;
}

const DEFAULT_LEASE_TTL_MS = 60_000;
const INBOX_POLL_MS = 50;
/** A temporary file this old was left by a writer that died: it is removed when a store opens. */
const TMP_ORPHAN_MS = 10 * 60_000;

let tmpCounter = 0;

export class FileStore implements Store {
  private readonly sessionsDir: string;
  private readonly unfinishedDir: string;
  private readonly tmpDir: string;
  readonly ttlMs: number;
  private readonly held = new Set<FileLease>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** fsync `batch`: the group-commit log of this store's journals (batch-log.ts). */
  private readonly log: BatchLog | undefined;
  private readonly syncs: DirSync[];
  private readonly sessionIds: SessionIds;
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
    this.unfinishedDir = path.join(location, "unfinished");
    this.tmpDir = path.join(location, "tmp");
    for (const dir of [location, this.sessionsDir, this.unfinishedDir, this.tmpDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.syncs = [new DirSync(this.sessionsDir), new DirSync(this.unfinishedDir)];
    this.sessionIds = new SessionIds(this.sessionsDir);
    this.values = new FileValues(location);
    this.log = fsync === "batch" ? new BatchLog(location, options.batchCheckpointBytes) : undefined;
    this.removeOrphanedTmp();
    this.recoverDeadLogs();
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

  /**
   * Group-commit logs left by processes of this host that died: their entries go into the journals still under
   * the fence they were written with (a journal taken over since was recovered by its claimer), then the log is
   * removed. Logs of other hosts are recovered session by session, by claims (applyLogged).
   */
  private recoverDeadLogs(): void {
    const dead = logFiles(this.location).filter(ownerGone);
    for (const file of dead) {
      let entries: LogEntry[];
      try {
        entries = readLog(file);
      } catch (err) {
        // A damaged log stays for a person to look at; claims of its sessions report the damage.
        if (err instanceof JournalCorruptError) continue;
        throw err;
      }
      const bySession = new Map<string, LogEntry[]>();
      for (const e of entries) {
        const list = bySession.get(e.session);
        if (list) list.push(e);
        else bySession.set(e.session, [e]);
      }
      for (const [id, list] of bySession) {
        if (!isSessionId(id)) continue;
        const files = this.files(id);
        const fence = files.currentFence();
        if (fs.existsSync(files.journal)) applyEntries(files.journal, list.filter((e) => e.fence === fence));
      }
      fs.rmSync(file, { force: true });
    }
    if (dead.length > 0) fsyncDir(logDir(this.location));
  }

  /**
   * Before a claim reads the journal: the entries the previous holder (fence `fence`) logged for it, from every
   * log of the store, are written into it. Older fences' entries were applied by the claims that ended them.
   */
  private applyLogged(files: SessionFiles, fence: number): void {
    const entries: LogEntry[] = [];
    for (const file of logFiles(this.location)) {
      let logged: LogEntry[];
      try {
        // A running writer's round may be half written as we read: that is not damage.
        logged = readLog(file, ownerRunsHere(file));
      } catch (err) {
        // Removed by its owner's checkpoint or close since the listing: its entries are in synced journals.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      for (const e of logged) if (e.session === files.id && e.fence === fence) entries.push(e);
    }
    applyEntries(files.journal, entries);
  }

  private files(id: string): SessionFiles {
    return new SessionFiles(this.location, id);
  }

  private leaseInfo(runner: string, fence: number): string {
    return JSON.stringify({ runner, fence, host: HOST, pid: process.pid, start: OWN_START, ttlMs: this.ttlMs } satisfies LeaseInfo);
  }

  /** Writes a file in full under its name: written to tmp/, then renamed, so no reader sees part of it. */
  async writeAtomic(file: string, data: string | Buffer): Promise<void> {
    const tmp = path.join(this.tmpDir, `${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
    try {
      await fs.promises.writeFile(tmp, data, { mode: 0o600 });
      await fs.promises.rename(tmp, file);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * The marker (lease of fence 1) first, exclusively, then the journal with the header, synced; then both folder
   * entries are synced. A failure removes what was made, so a session is in the store whole or not at all; a crash
   * midway leaves a marker without a journal or a journal without a header, which listings skip and unfinished()
   * removes once their creator is gone.
   */
  async create(header: HeaderRecord, runner: string, attempt?: AttemptRecord): Promise<SessionLease> {
    const files = this.files(header.sessionId);
    try {
      await fs.promises.writeFile(files.marker, this.leaseInfo(runner, 1), { flag: "wx", mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw this.exists(header.sessionId);
      throw this.notRecorded(header.sessionId, err);
    }
    const lease = new FileLease(files, 1, header, this, { attempts: attempt?.attempt ?? 0, summaryWritten: false });
    try {
      lease.writer = await JournalWriter.createWith(files.journal, attempt ? [header, attempt] : [header], { fsync: this.fsync, beforeWrite: lease.checkFence, commitLog: this.log?.forSession(header.sessionId, 1) });
    } catch (err) {
      await fs.promises.rm(files.marker, { force: true });
      if ((err as NodeJS.ErrnoException).code === "EEXIST") throw this.exists(header.sessionId);
      throw this.notRecorded(header.sessionId, err);
    }
    try {
      // The journal synced its data; these make its name and the marker survive a power loss.
      if (this.fsync !== "none") await Promise.all(this.syncs.map((s) => s.sync()));
    } catch (err) {
      await lease.writer.close().catch(() => {});
      await Promise.all([fs.promises.rm(files.journal, { force: true }), fs.promises.rm(files.marker, { force: true })]);
      throw this.notRecorded(header.sessionId, err);
    }
    this.sessionIds.added(header.sessionId);
    return this.hold(lease);
  }

  private exists(id: string): AktsError {
    return new AktsError("AKTS9001", `session ${id} already exists in ${this.location}`);
  }

  private notRecorded(id: string, err: unknown): AktsError {
    return new AktsError("AKTS4005", `session ${id} could not be recorded in ${this.location}: ${(err as Error).message}`);
  }

  async claim(id: string, runner: string): Promise<SessionLease | undefined> {
    const files = this.files(id);
    const summary = await sessionSummary(files);
    if (!summary) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    if (!UNFINISHED.includes(summary.status)) {
      await this.completeEnded(files, summary);
      return undefined;
    }
    const current = files.currentFence();
    if (this.isHeld(files.lease(current))) return undefined;
    const fence = current + 1;
    if (!this.takeLease(files, fence, runner)) return undefined;
    const free = () => fs.utimesSync(files.lease(fence), 0, 0);
    try {
      this.applyLogged(files, current);
    } catch (err) {
      free();
      throw err;
    }
    let journal: ReturnType<typeof readJournal>;
    try {
      journal = readJournal(files.journal, { lazy: true });
    } catch (err) {
      // A damaged journal fails its session, loudly and for good; the file itself is left as it is.
      if (err instanceof JournalCorruptError) {
        await this.writeFinal(files, { ...summary, status: "failed", error: err.message, errorCode: err.code, updatedAt: Date.now() });
        free();
      }
      throw err;
    }
    // End is final: a session whose journal holds its end record (its summary was not written when the process
    // died) is completed from the journal, never run again.
    const ended = journal.records.some((r) => r.t === "end") ? summaryFromRecords(journal.records) : undefined;
    if (ended) {
      await this.writeFinal(files, ended);
      free();
      return undefined;
    }
    const header = journal.records[0];
    if (header?.t !== "header") {
      free();
      throw new JournalCorruptError(files.journal, 16, "the journal has no header record");
    }
    const saved = await readJson<SessionSummary>(files.summary);
    const attempts = journal.records.filter((r) => r.t === "attempt").length;
    const lease = new FileLease(files, fence, header, this, { attempts, summaryWritten: saved !== undefined }, { records: journal.records, activities: journal.activities, notices: [], end: journal.end });
    lease.writer = JournalWriter.open(files.journal, journal.end, { fsync: this.fsync, beforeWrite: lease.checkFence, commitLog: this.log?.forSession(id, fence) });
    return this.hold(lease);
  }

  /** A finished session's summary, then the removal of its marker (the order a finishing lease uses). */
  private async writeFinal(files: SessionFiles, summary: SessionSummary): Promise<void> {
    await fs.promises.writeFile(files.summary, JSON.stringify(summary), { mode: 0o600 });
    await fs.promises.rm(files.marker, { force: true });
  }

  /**
   * A session found finished while its marker remains (its holder died between the two, or is finishing it right
   * now: then both write the same summary): completes it.
   */
  private async completeEnded(files: SessionFiles, summary: SessionSummary): Promise<void> {
    if (!fs.existsSync(files.marker)) return;
    const saved = await readJson<SessionSummary>(files.summary);
    if (saved && !UNFINISHED.includes(saved.status)) await fs.promises.rm(files.marker, { force: true });
    else await this.writeFinal(files, summary);
  }

  /** Creates lease file `fence` (>= 2), fully written, or fails if it exists: link() is atomic and exclusive. */
  private takeLease(files: SessionFiles, fence: number, runner: string): boolean {
    const file = files.lease(fence);
    const tmp = path.join(this.tmpDir, `${path.basename(file)}.${process.pid}.${++tmpCounter}.tmp`);
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
    return readJson<LeaseInfo>(files.lease(files.currentFence()));
  }

  private hold(lease: FileLease): FileLease {
    this.held.add(lease);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
      this.heartbeat.unref();
    }
    return lease;
  }

  private renew(): void {
    for (const lease of this.held) lease.renew();
  }

  dropped(lease: FileLease): void {
    this.held.delete(lease);
    if (this.held.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  async get(id: string): Promise<SessionSummary | undefined> {
    return sessionSummary(this.files(id));
  }

  /**
   * Reads only `unfinished/`. On the way it repairs what crashes leave there: a session whose journal ended is
   * completed (summary written, marker removed), and a creation cut short (creationCut) is removed once its creator
   * is gone. A journal whose header frame is damaged is neither: it stays, unlisted, and its claim reports it.
   */
  async unfinished(): Promise<SessionSummary[]> {
    const out: SessionSummary[] = [];
    for (const id of (await fs.promises.readdir(this.unfinishedDir)).sort()) {
      if (!isSessionId(id)) continue;
      const files = this.files(id);
      const summary = await sessionSummary(files);
      if (summary && UNFINISHED.includes(summary.status)) out.push(summary);
      else if (summary) await this.completeEnded(files, summary);
      else if (!this.isHeld(files.marker) && (await creationCut(files))) await this.removeCutCreation(files);
    }
    return out;
  }

  /** A creation that never finished: nothing of it was acknowledged, so nothing is lost by removing it. */
  private async removeCutCreation(files: SessionFiles): Promise<void> {
    await fs.promises.rm(files.journal, { force: true });
    await fs.promises.rm(files.marker, { force: true });
  }

  /** Newest first: from the end of the sorted ids (only `unfinished/` for running or waiting), below `before`. */
  async list(filter: ListFilter = {}): Promise<SessionSummary[]> {
    const limit = filter.limit ?? Infinity;
    const ids =
      filter.status && UNFINISHED.includes(filter.status)
        ? (await fs.promises.readdir(this.unfinishedDir)).filter(isSessionId).sort()
        : await this.sessionIds.all();
    const out: SessionSummary[] = [];
    for (let i = filter.before === undefined ? ids.length : firstNotBelow(ids, filter.before); i > 0 && out.length < limit; ) {
      // A creation under way or cut short has no header yet: it is not a session (unfinished() removes it).
      const summary = await sessionSummary(this.files(ids[--i]));
      if (summary && (!filter.status || summary.status === filter.status) && (!filter.trigger || summary.trigger === filter.trigger)) out.push(summary);
    }
    return out;
  }

  async read(id: string): Promise<JournalRead> {
    const files = this.files(id);
    if (!fs.existsSync(files.journal)) throw this.missing(id);
    // No repair: a live runner may be appending to this file.
    const { records, notice, end } = readJournal(files.journal, { repair: false });
    return { records, notices: notice ? [notice] : [], end };
  }

  private missing(id: string): AktsError {
    return new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
  }

  async deliver(id: string, name: string, value: unknown, eventId = newEventId()): Promise<string> {
    const files = this.files(id);
    if (!fs.existsSync(files.journal)) throw this.missing(id);
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
      consumed: async (eventId) => fs.rmSync(path.join(dir, eventId), { force: true }),
    };
  }

  async close(): Promise<void> {
    for (const lease of [...this.held]) await lease.release();
    await this.log?.close();
  }
}
