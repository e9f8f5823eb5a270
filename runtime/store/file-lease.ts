/**
 * A file store lease (protocol: docs/stores.md). The fencing check (does the next fence's lease file exist?) is
 * skipped while the lease cannot have been taken: it was renewed less than half a ttl ago and every renewal before
 * came in time, so no claimer can have seen it expired, and its process is alive. Otherwise it runs before every
 * write, as a stat in the same synchronous step as the write.
 */
import * as fs from "node:fs";
import type { JournalRecord, HeaderRecord } from "../journal-records";
import type { JournalWriter } from "../journal-file";
import { StaleLeaseError } from "../errors";
import { AktsError } from "../../errors";
import { UNFINISHED, type JournalRead, type SessionLease, type SessionStatus, type SessionSummary, type StatusExtra } from "./store";
import { headerFields, type SessionFiles } from "./file-session";
import { jsonSafe } from "./json-safe";

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
  /** Writes a file in full under its name (a temporary file, then rename). */
  writeAtomic(file: string, data: string): Promise<void>;
  dropped(lease: FileLease): void;
}

export class FileLease implements SessionLease {
  private readonly nextLease: string;
  private released = false;
  private finished = false;
  /** An unfinished summary file exists (the session waited): status changes must keep it current. */
  private summaryWritten: boolean;
  private attempts: number;
  private renewedAt = Date.now();
  /** Every renewal came within half a ttl of the one before: the fencing check may trust the last one. */
  private renewedInTime = true;
  writer!: JournalWriter;

  constructor(
    private readonly files: SessionFiles,
    readonly fence: number,
    private readonly header: HeaderRecord,
    private readonly host: LeaseHost,
    state: { attempts: number; summaryWritten: boolean },
    readonly claimed?: JournalRead,
  ) {
    this.nextLease = files.lease(fence + 1);
    this.attempts = state.attempts;
    this.summaryWritten = state.summaryWritten;
  }

  get id(): string {
    return this.files.id;
  }

  /** The fencing check, run by the journal writer right before it writes frames, and before status writes. */
  readonly checkFence = (): void => {
    if (this.renewedInTime && Date.now() - this.renewedAt < this.host.ttlMs / 2) return;
    if (fs.existsSync(this.nextLease)) throw new StaleLeaseError(this.id, this.fence, this.files.currentFence());
  };

  private assertHeld(): void {
    if (this.released) throw new AktsError("AKTS4003", `session ${this.id}: the lease was released; nothing was written`);
  }

  append(record: JournalRecord): Promise<void> {
    try {
      this.assertHeld();
    } catch (err) {
      return Promise.reject(err);
    }
    if (record.t === "attempt") this.attempts = Math.max(this.attempts, record.attempt);
    return this.writer.append(record);
  }

  appendSync(record: JournalRecord): void {
    this.assertHeld();
    if (record.t === "attempt") this.attempts = Math.max(this.attempts, record.attempt);
    this.writer.appendSync(record);
  }

  /**
   * A finished status writes the summary (in place: a cut one is told again by the journal) and then removes the
   * unfinished marker. `waiting` writes an unfinished summary; `running` writes only to replace one.
   */
  async setStatus(status: SessionStatus, extra: StatusExtra = {}): Promise<void> {
    this.assertHeld();
    this.checkFence();
    const { result, ...rest } = extra;
    if (rest.attempts !== undefined) this.attempts = rest.attempts;
    const summary: SessionSummary = {
      ...headerFields(this.header),
      attempts: this.attempts,
      ...rest,
      ...(result === undefined ? {} : { result: jsonSafe(result) }),
      status,
      updatedAt: Date.now(),
    };
    if (UNFINISHED.includes(status)) {
      if (status === "running" && !this.summaryWritten) return;
      await this.host.writeAtomic(this.files.summary, JSON.stringify(summary));
      this.summaryWritten = true;
      return;
    }
    await fs.promises.writeFile(this.files.summary, JSON.stringify(summary), { mode: 0o600 });
    this.finished = true;
    await fs.promises.rm(this.files.marker, { force: true });
  }

  /** Heartbeat: keeps the lease from expiring while this process is responsive; finds out when it was taken. */
  renew(): void {
    const now = Date.now();
    if (fs.existsSync(this.nextLease)) {
      this.renewedInTime = false;
      return;
    }
    try {
      fs.utimesSync(this.files.lease(this.fence), now / 1000, now / 1000);
    } catch {
      // The lease file is gone only if the store folder was removed; the next write's check reports it.
      this.renewedInTime = false;
      return;
    }
    if (now - this.renewedAt >= this.host.ttlMs / 2) this.renewedInTime = false;
    this.renewedAt = now;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.host.dropped(this);
    await this.writer.close();
    // mtime 0 marks the lease released; a newer fence, if any, is untouched. A finished session has no lease left.
    if (!this.finished) await fs.promises.utimes(this.files.lease(this.fence), 0, 0).catch(ignoreMissing);
  }
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== "ENOENT") throw err;
}
