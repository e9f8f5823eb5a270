/**
 * The embedded store: one folder, `.akts/` beside the manifest by default. Layout, lease protocol and exactly what
 * fencing guarantees: docs/stores.md.
 *
 *   sessions/<id>.journal     the journal: the truth about a session
 *   sessions/<id>.json        its summary, replaced atomically; rebuilt from the journal when a crash lost it
 *   sessions/<id>.lease-<n>   the lease of fence n; created once, by link(), so one claimer wins each fence.
 *                             Its mtime is the holder's heartbeat; mtime 0 means released.
 *   sessions/<id>.inbox/      events delivered and not yet consumed
 *   unfinished/<id>           present while the session is unfinished: recovery reads only these
 *
 * Files are 0600, folders 0700.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { decode, encode } from "../codec";
import { JournalWriter, fsyncDir, readJournal, type FsyncPolicy, type HeaderRecord, type JournalRecord } from "../journal";
import { JournalCorruptError, StaleLeaseError } from "../errors";
import type { Inbox } from "../session-state";
import { UNFINISHED, checkSessionId, isSessionId, newEventId, type JournalRead, type ListFilter, type SessionLease, type SessionStatus, type SessionSummary, type StatusExtra, type Store } from "./store";
import { AktsError } from "../../errors";
import { errorLine, jsonSafe } from "./json-safe";
import { HOST, OWN_START, processAlive, type LeaseHolder } from "./holder";
import { BatchLog, applyEntries, logDir, logFiles, ownerGone, ownerRunsHere, readLog, type LogEntry } from "./batch-log";

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

interface LeaseInfo {
  readonly runner: string;
  readonly fence: number;
  readonly host: string;
  readonly pid: number;
  /** The holder process's start time (Linux), so a reused pid does not keep a dead holder's lease alive. */
  readonly start?: string;
  readonly ttlMs: number;
}

let tmpCounter = 0;

function tmpName(file: string): string {
  return `${file}.${process.pid}.${++tmpCounter}.tmp`;
}

function writeAtomic(file: string, data: string | Buffer): void {
  const tmp = tmpName(file);
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function readJson<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // A crash between rename and writeback can leave an empty summary: the caller rebuilds it from the journal.
    return undefined;
  }
}

/** The paths of one session. */
class SessionFiles {
  readonly journal: string;
  readonly summary: string;
  readonly inbox: string;
  readonly marker: string;
  private readonly leasePrefix: string;

  constructor(root: string, readonly id: string) {
    checkSessionId(id);
    const base = path.join(root, "sessions", id);
    this.journal = `${base}.journal`;
    this.summary = `${base}.json`;
    this.inbox = `${base}.inbox`;
    this.leasePrefix = `${base}.lease-`;
    this.marker = path.join(root, "unfinished", id);
  }

  lease(fence: number): string {
    return `${this.leasePrefix}${fence}`;
  }

  /** The highest fence taken so far (0 when none). Fences are few: one per takeover. */
  currentFence(): number {
    let fence = 0;
    while (fs.existsSync(this.lease(fence + 1))) fence++;
    return fence;
  }
}

export class FileStore implements Store {
  private readonly sessionsDir: string;
  private readonly unfinishedDir: string;
  private readonly ttlMs: number;
  private readonly held = new Set<FileLease>();
  private heartbeat: NodeJS.Timeout | undefined;
  /** fsync `batch`: the group-commit log of this store's journals (batch-log.ts). */
  private readonly log: BatchLog | undefined;

  constructor(
    readonly location: string,
    private readonly fsync: FsyncPolicy = "always",
    options: FileStoreOptions = {},
  ) {
    this.ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.sessionsDir = path.join(location, "sessions");
    this.unfinishedDir = path.join(location, "unfinished");
    fs.mkdirSync(location, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.sessionsDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(this.unfinishedDir, { recursive: true, mode: 0o700 });
    this.log = fsync === "batch" ? new BatchLog(location, options.batchCheckpointBytes) : undefined;
    this.recoverDeadLogs();
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

  async create(header: HeaderRecord, runner: string): Promise<SessionLease> {
    const files = this.files(header.sessionId);
    if (!this.takeLease(files, 1, runner)) throw new AktsError("AKTS9001", `session ${header.sessionId} already exists in ${this.location}`);
    const writer = JournalWriter.create(files.journal, { fsync: this.fsync, beforeWrite: fenceCheck(files, 1), commitLog: this.log?.forSession(header.sessionId, 1) });
    writer.appendSync(header);
    const now = Date.now();
    const summary: SessionSummary = {
      id: header.sessionId,
      project: header.project,
      trigger: header.trigger,
      handler: header.handler,
      mode: header.mode,
      status: "running",
      attempts: 0,
      createdAt: header.createdAt,
      updatedAt: now,
    };
    writeAtomic(files.summary, JSON.stringify(summary));
    fs.writeFileSync(files.marker, "", { mode: 0o600 });
    // The journal syncs its data; these make its name and the unfinished marker survive a power loss.
    if (this.fsync !== "none") {
      fsyncDir(this.sessionsDir);
      fsyncDir(this.unfinishedDir);
    }
    return this.hold(new FileLease(files, 1, writer, summary, (l) => this.drop(l)));
  }

  async claim(id: string, runner: string): Promise<SessionLease | undefined> {
    const files = this.files(id);
    const summary = this.summaryOf(files);
    if (!summary) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    if (!UNFINISHED.includes(summary.status)) return undefined;
    const current = files.currentFence();
    if (current > 0 && this.isHeld(files.lease(current))) return undefined;
    const fence = current + 1;
    if (!this.takeLease(files, fence, runner)) return undefined;
    try {
      this.applyLogged(files, current);
    } catch (err) {
      fs.utimesSync(files.lease(fence), 0, 0);
      throw err;
    }
    let journal: ReturnType<typeof readJournal>;
    try {
      journal = readJournal(files.journal, { lazy: true });
    } catch (err) {
      // A damaged journal fails its session, loudly and for good; the file itself is left as it is.
      if (err instanceof JournalCorruptError) {
        writeAtomic(files.summary, JSON.stringify({ ...summary, status: "failed", error: err.message, errorCode: err.code, updatedAt: Date.now() } satisfies SessionSummary));
        fs.rmSync(files.marker, { force: true });
        fs.utimesSync(files.lease(fence), 0, 0);
      }
      throw err;
    }
    const writer = JournalWriter.open(files.journal, journal.end, { fsync: this.fsync, beforeWrite: fenceCheck(files, fence), commitLog: this.log?.forSession(id, fence) });
    // A torn tail was cut above, so a read now would report nothing either.
    const claimed: JournalRead = { records: journal.records, activities: journal.activities, notices: [], end: journal.end };
    return this.hold(new FileLease(files, fence, writer, summary, (l) => this.drop(l), claimed));
  }

  /** Creates lease file `fence`, fully written, or fails if it exists: link() is atomic and exclusive. */
  private takeLease(files: SessionFiles, fence: number, runner: string): boolean {
    const file = files.lease(fence);
    const info: LeaseInfo = { runner, fence, host: HOST, pid: process.pid, start: OWN_START, ttlMs: this.ttlMs };
    const tmp = tmpName(file);
    fs.writeFileSync(tmp, JSON.stringify(info), { mode: 0o600 });
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

  /** Held: not released, renewed within its ttl, and (on this machine) its process is the one that took it. */
  private isHeld(file: string): boolean {
    const renewed = fs.statSync(file).mtimeMs;
    // Released: no need to read who held it (the usual case when recovering).
    if (renewed === 0) return false;
    const info = readJson<LeaseInfo>(file);
    if (!info || Date.now() - renewed > info.ttlMs) return false;
    return info.host !== HOST || processAlive(info.pid, info.start);
  }

  /** Who holds the session's newest lease, for `akts resume` to name (holder.ts, describeHolder). */
  async holder(id: string): Promise<LeaseHolder | undefined> {
    const files = this.files(id);
    const fence = files.currentFence();
    return fence === 0 ? undefined : readJson<LeaseInfo>(files.lease(fence));
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

  private drop(lease: FileLease): void {
    this.held.delete(lease);
    if (this.held.size === 0 && this.heartbeat) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  private summaryOf(files: SessionFiles): SessionSummary | undefined {
    return readJson<SessionSummary>(files.summary) ?? this.rebuildSummary(files);
  }

  /** The summary as the journal tells it, for a session whose summary file a crash lost. */
  private rebuildSummary(files: SessionFiles): SessionSummary | undefined {
    if (!fs.existsSync(files.journal)) return undefined;
    const { records } = readJournal(files.journal, { repair: false });
    const header = records[0]?.t === "header" ? records[0] : undefined;
    if (!header) return undefined;
    const end = records.find((r) => r.t === "end");
    const last = records.reduce((at, r) => ("at" in r ? Math.max(at, r.at) : at), header.createdAt);
    return {
      id: header.sessionId,
      project: header.project,
      trigger: header.trigger,
      handler: header.handler,
      mode: header.mode,
      status: end ? (end.ok ? "completed" : "failed") : "running",
      attempts: records.filter((r) => r.t === "attempt").length,
      createdAt: header.createdAt,
      updatedAt: last,
      ...(end && !end.ok ? { error: errorLine(end.error) } : {}),
      ...(end?.ok ? { result: jsonSafe(end.result) } : {}),
    };
  }

  async get(id: string): Promise<SessionSummary | undefined> {
    return this.summaryOf(this.files(id));
  }

  async unfinished(): Promise<SessionSummary[]> {
    const out: SessionSummary[] = [];
    for (const id of fs.readdirSync(this.unfinishedDir).sort()) {
      if (!isSessionId(id)) continue;
      const files = this.files(id);
      const summary = this.summaryOf(files);
      if (summary && UNFINISHED.includes(summary.status)) out.push(summary);
      // A marker outliving its session's end (a crash between the two writes) is removed here.
      else if (summary) fs.rmSync(files.marker, { force: true });
    }
    return out;
  }

  async list(filter: ListFilter = {}): Promise<SessionSummary[]> {
    const limit = filter.limit ?? Infinity;
    const ids =
      filter.status && UNFINISHED.includes(filter.status)
        ? fs.readdirSync(this.unfinishedDir)
        : fs.readdirSync(this.sessionsDir).filter((f) => f.endsWith(".journal")).map((f) => f.slice(0, -".journal".length));
    const { before } = filter;
    const out: SessionSummary[] = [];
    for (const id of ids.filter((id) => isSessionId(id) && (before === undefined || id < before)).sort().reverse()) {
      if (out.length >= limit) break;
      const summary = this.summaryOf(this.files(id));
      if (summary && (!filter.status || summary.status === filter.status) && (!filter.trigger || summary.trigger === filter.trigger)) out.push(summary);
    }
    return out;
  }

  async read(id: string): Promise<JournalRead> {
    const files = this.files(id);
    if (!fs.existsSync(files.journal)) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    // No repair: a live runner may be appending to this file.
    const { records, notice, end } = readJournal(files.journal, { repair: false });
    return { records, notices: notice ? [notice] : [], end };
  }

  async deliver(id: string, name: string, value: unknown): Promise<string> {
    const files = this.files(id);
    if (!fs.existsSync(files.journal)) throw new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
    fs.mkdirSync(files.inbox, { recursive: true, mode: 0o700 });
    const eventId = newEventId();
    writeAtomic(path.join(files.inbox, eventId), encode({ name, value }));
    return eventId;
  }

  inbox(id: string, consumed: ReadonlySet<string>): Inbox {
    const dir = this.files(id).inbox;
    const scan = (name: string): { id: string; value: unknown } | undefined => {
      let events: string[];
      try {
        events = fs.readdirSync(dir).filter((f) => f.startsWith("evt_") && !f.endsWith(".tmp")).sort();
      } catch {
        return undefined;
      }
      for (const event of events) {
        if (consumed.has(event)) {
          fs.rmSync(path.join(dir, event), { force: true });
          continue;
        }
        const data = decode(fs.readFileSync(path.join(dir, event))) as { name: string; value: unknown };
        if (data.name === name) return { id: event, value: data.value };
      }
      return undefined;
    };
    return {
      take: (name, deadline) =>
        new Promise((resolve) => {
          const poll = () => {
            const got = scan(name);
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

/**
 * The fencing check: lease `fence + 1` exists once a claimer took the session over. The journal writer runs it
 * right before each write of frames (one stat per write, however many frames it carries).
 */
function fenceCheck(files: SessionFiles, fence: number): () => void {
  const next = files.lease(fence + 1);
  return () => {
    if (fs.existsSync(next)) throw new StaleLeaseError(files.id, fence, files.currentFence());
  };
}

class FileLease implements SessionLease {
  private readonly nextLease: string;
  private released = false;

  constructor(
    private readonly files: SessionFiles,
    readonly fence: number,
    private readonly writer: JournalWriter,
    private summary: SessionSummary,
    private readonly onRelease: (lease: FileLease) => void,
    readonly claimed?: JournalRead,
  ) {
    this.nextLease = files.lease(fence + 1);
  }

  get id(): string {
    return this.files.id;
  }

  private assertHeld(): void {
    if (this.released) throw new AktsError("AKTS4003", `session ${this.id}: the lease was released; nothing was written`);
  }

  /** The fence itself is checked by the writer, right before it writes the frames (fenceCheck). */
  append(record: JournalRecord): Promise<void> {
    try {
      this.assertHeld();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.writer.append(record);
  }

  appendSync(record: JournalRecord): void {
    this.assertHeld();
    this.writer.appendSync(record);
  }

  /** One stat per status write: the next fence's lease file appears when a claimer takes the session over. */
  async setStatus(status: SessionStatus, extra: StatusExtra = {}): Promise<void> {
    this.assertHeld();
    if (fs.existsSync(this.nextLease)) throw new StaleLeaseError(this.id, this.fence, this.files.currentFence());
    const { result, ...rest } = extra;
    this.summary = { ...this.summary, ...rest, ...(result === undefined ? {} : { result: jsonSafe(result) }), status, updatedAt: Date.now() };
    writeAtomic(this.files.summary, JSON.stringify(this.summary));
    if (!UNFINISHED.includes(status)) fs.rmSync(this.files.marker, { force: true });
  }

  /** Heartbeat: keeps the lease from expiring while this process is responsive. */
  renew(): void {
    const now = Date.now() / 1000;
    try {
      fs.utimesSync(this.files.lease(this.fence), now, now);
    } catch {
      // The lease file is gone only if the store folder was removed; the next write reports it.
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.onRelease(this);
    await this.writer.close();
    // mtime 0 marks the lease released; a newer fence, if any, is untouched.
    fs.utimesSync(this.files.lease(this.fence), 0, 0);
  }
}
