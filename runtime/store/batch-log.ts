/**
 * The group-commit log of fsync `batch` in the file store: `batch/<host>-<pid>-<start>-<random>.log`, one per open
 * store (so per process), written by that store only. A round appends the frames of every journal that has appends
 * waiting, one log entry per journal, and syncs this one file; the journals themselves are written without a sync
 * and synced later (when their lease is released, or at a checkpoint). One sync per round, however many sessions:
 * with a file per session, the device takes one flush per file. Format and recovery rules: docs/journal.md.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { crc32 } from "node:zlib";
import { randomBytes } from "node:crypto";
import { FRAME_OVERHEAD, HEADER_SIZE, datasync, dataEnd, fileHeader, fsyncDir, remainder, validFrameAt, zeros, type CommitLog, type JournalWriter, type LoggedFrames } from "../journal";
import { JournalCorruptError } from "../errors";
import { frameWord, PAYLOAD_START } from "../crc";
import { HOST, OWN_START, processAlive } from "./holder";

export const LOG_MAGIC = Buffer.from("AKTSBLG\0", "latin1");
/** 2: entries are checked as journal frames of format 4 are (a check word; format 3's crc before). */
const LOG_VERSION = 2;
const LOG_HEADER_SIZE = 16;
/** Entry payload before the session id: fence (u32), journal offset (u48 in 8 bytes), session id length (u16). */
const ENTRY_FIXED = 14;
/** Space is allocated ahead of the writer in extents of this size, as journals are, so a sync flushes data only. */
const LOG_EXTENT = 1 << 20;
/** Default log size that triggers a checkpoint (sync the journals written since the last one, empty the log). */
export const DEFAULT_CHECKPOINT_BYTES = 8 << 20;

/** This host in log file names: a hash, since a host name may contain any character. */
const HOST_TAG = crc32(HOST).toString(16).padStart(8, "0");

export function logDir(store: string): string {
  return path.join(store, "batch");
}

/** One journal's frames of one round: where they go in which session's journal, written under which fence. */
export interface LogEntry {
  readonly session: string;
  readonly fence: number;
  readonly offset: number;
  readonly frames: Buffer;
}

interface Tag {
  readonly session: string;
  readonly fence: number;
}

/** `[u32 length][u32 check][payload]` as journal frames, payload `fence, offset, id length, id, journal frames`. */
function entryParts(tag: Tag, logged: LoggedFrames): Buffer[] {
  const id = Buffer.from(tag.session, "utf8");
  const head = Buffer.alloc(FRAME_OVERHEAD + ENTRY_FIXED + id.length);
  let length = ENTRY_FIXED + id.length;
  for (const f of logged.frames) length += f.length;
  head.writeUInt32LE(length, 0);
  head.writeUInt32LE(tag.fence, 8);
  head.writeUIntLE(logged.offset, 12, 6);
  head.writeUInt16LE(id.length, 20);
  id.copy(head, 22);
  let crc = crc32(head.subarray(FRAME_OVERHEAD), PAYLOAD_START);
  for (const f of logged.frames) crc = crc32(f, crc);
  head.writeUInt32LE(frameWord(length, crc), 4);
  return [head, ...logged.frames];
}

/**
 * The entries of a log file, in order. The data ends at the first frame that is not whole and valid: a torn tail
 * (a round whose sync never completed, so none of its appends resolved) is ignored. A valid frame after it means
 * the bad frame is damage: JournalCorruptError with the file and the offset, unless `live` (the log's writer is
 * running on this host and may be in the middle of writing a round).
 */
export function readLog(file: string, live = false): LogEntry[] {
  const buf = fs.readFileSync(file);
  if (buf.length < LOG_HEADER_SIZE || !buf.subarray(0, 8).equals(LOG_MAGIC)) throw new JournalCorruptError(file, 0, "not an akts batch log (bad magic)");
  const version = buf.readUInt32LE(8);
  if (version === 1) throw new JournalCorruptError(file, 8, "batch log version 1, written by an older akts: open the store once with that version, which applies the log and removes it");
  if (version !== LOG_VERSION) throw new JournalCorruptError(file, 8, `unsupported batch log version ${version}`);
  const limit = dataEnd(buf, LOG_HEADER_SIZE);
  const entries: LogEntry[] = [];
  let at = LOG_HEADER_SIZE;
  while (at < limit) {
    const length = validFrameAt(buf, at);
    if (length < ENTRY_FIXED) {
      if (live) break;
      for (let probe = at + 1; probe < limit; probe++) {
        if (validFrameAt(buf, probe) >= 0) throw new JournalCorruptError(file, at, `log entry checksum or length mismatch (a valid entry follows at byte ${probe})`);
      }
      break;
    }
    const p = at + FRAME_OVERHEAD;
    const idLength = buf.readUInt16LE(p + 12);
    entries.push({
      fence: buf.readUInt32LE(p),
      offset: buf.readUIntLE(p + 4, 6),
      session: buf.toString("utf8", p + ENTRY_FIXED, p + ENTRY_FIXED + idLength),
      frames: buf.subarray(p + ENTRY_FIXED + idLength, p + length),
    });
    at = p + length;
  }
  return entries;
}

/** Every log file of the store (an empty list when the store never ran `batch`). */
export function logFiles(store: string): string[] {
  try {
    return fs.readdirSync(logDir(store)).filter((f) => f.endsWith(".log")).map((f) => path.join(logDir(store), f));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

/** Whether the log file's writer is a process of this host, and whether it still runs. */
function owner(file: string): { here: boolean; alive: boolean } {
  const [host, pid, start] = path.basename(file, ".log").split("-");
  const here = host === HOST_TAG;
  return { here, alive: !here || processAlive(Number(pid), start || undefined) };
}

/** The log file's writer is a process of this host that no longer runs: nothing will be appended to it again. */
export function ownerGone(file: string): boolean {
  return !owner(file).alive;
}

/**
 * The log file's writer still runs on this host. Then no power loss happened since it wrote its journals, so they
 * hold every frame it logged, and its log is only read for completeness.
 */
export function ownerRunsHere(file: string): boolean {
  const o = owner(file);
  return o.here && o.alive;
}

/**
 * Writes logged frames into a journal at their offsets and syncs it. Entries are the bytes the journal held or was
 * about to hold there (a log entry is written after its frames were written to the journal, under the same fence
 * check), so writing one again is harmless, and writing it restores what a power loss took.
 */
export function applyEntries(journal: string, entries: LogEntry[]): void {
  if (entries.length === 0) return;
  const fd = fs.openSync(journal, "r+");
  try {
    // A journal created under batch is not synced before its first frames are logged: a power loss can take its
    // file header, which is the same for every journal of this format.
    const head = Buffer.alloc(HEADER_SIZE);
    fs.readSync(fd, head, 0, HEADER_SIZE, 0);
    if (dataEnd(head, 0) === 0) fs.writeSync(fd, fileHeader(), 0, HEADER_SIZE, 0);
    for (const e of entries) {
      let written = 0;
      while (written < e.frames.length) written += fs.writeSync(fd, e.frames, written, e.frames.length - written, e.offset + written);
    }
    fs.fdatasyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * The committer. Appends to any journal of the store register here; a round starts on the next turn of the event
 * loop after the first one (so every session that appended in this turn is in it) and, while a round syncs, the
 * appends arriving gather for the next round, which starts as soon as it ends.
 */
export class BatchLog {
  private readonly file: string;
  private fd: number | undefined;
  private offset = LOG_HEADER_SIZE;
  private allocated = 0;
  private readonly waiting = new Map<JournalWriter, Tag>();
  /** Journals written since the last checkpoint: a checkpoint syncs them before it empties the log. */
  private readonly unsynced = new Set<JournalWriter>();
  private scheduled = false;
  private running: Promise<void> | undefined;
  private checkpointing: Promise<void> | undefined;
  /** A failed write or sync of the log: every later round fails with it (its journals' appends reject). */
  private failure: unknown;

  constructor(
    private readonly store: string,
    private readonly checkpointBytes = DEFAULT_CHECKPOINT_BYTES,
  ) {
    this.file = path.join(logDir(store), `${HOST_TAG}-${process.pid}-${OWN_START ?? ""}-${randomBytes(4).toString("hex")}.log`);
  }

  /** The commit log for one lease's journal: its entries carry the session and the fence they were written under. */
  forSession(session: string, fence: number): CommitLog {
    const tag = { session, fence };
    return {
      add: (writer) => this.add(writer, tag),
      detach: (writer, failed) => this.detach(writer, failed),
    };
  }

  private add(writer: JournalWriter, tag: Tag): void {
    this.waiting.set(writer, tag);
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.start());
  }

  private start(): void {
    this.scheduled = false;
    this.running = this.round().finally(() => {
      this.running = undefined;
      if (this.waiting.size > 0) this.start();
    });
  }

  /**
   * Logs the frames of every journal waiting, starts the log's sync, and while it runs (on the thread pool) writes
   * the same frames into their journals. An append resolves once both its log entry is synced and its journal
   * write is done; a journal write that failed rejects its appends (recovery may still restore them from the log).
   */
  private async round(): Promise<void> {
    const taken: Array<[JournalWriter, LoggedFrames]> = [];
    const parts: Buffer[] = [];
    for (const [writer, tag] of this.waiting) {
      const logged = writer.takeForLog();
      if (!logged) continue;
      taken.push([writer, logged]);
      parts.push(...entryParts(tag, logged));
      this.unsynced.add(writer);
    }
    this.waiting.clear();
    if (taken.length === 0) return;
    let err = this.failure;
    let synced: Promise<void> | undefined;
    if (err === undefined) {
      try {
        this.write(parts);
        synced = datasync(this.fd!);
      } catch (e) {
        err = this.failure = e;
      }
    }
    const written = taken.map(([writer, logged]) => (err === undefined ? writer.writeLogged(logged) : undefined));
    try {
      await synced;
    } catch (e) {
      err = this.failure = e;
    }
    taken.forEach(([writer, logged], i) => writer.settleLogged(logged.waiters, err ?? written[i]));
    if (err === undefined && this.offset >= this.checkpointBytes) {
      this.checkpointing = this.checkpoint();
      try {
        await this.checkpointing;
      } catch (e) {
        // The log still holds entries whose journals may not be synced: it must not be emptied or removed.
        this.failure = e;
      } finally {
        this.checkpointing = undefined;
      }
    }
  }

  private write(parts: Buffer[]): void {
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    this.openFile();
    this.allocate(this.offset + bytes);
    let written = 0;
    while (written < bytes) written += fs.writevSync(this.fd!, written === 0 ? parts : remainder(parts, written), this.offset + written);
    this.offset += bytes;
  }

  /** The file is made on the first round, so a store that never writes under `batch` leaves none. */
  private openFile(): void {
    if (this.fd !== undefined) return;
    fs.mkdirSync(logDir(this.store), { recursive: true, mode: 0o700 });
    this.fd = fs.openSync(this.file, "wx", 0o600);
    const header = Buffer.alloc(LOG_HEADER_SIZE);
    LOG_MAGIC.copy(header, 0);
    header.writeUInt32LE(LOG_VERSION, 8);
    fs.writeSync(this.fd, header, 0, LOG_HEADER_SIZE, 0);
    this.allocated = LOG_HEADER_SIZE;
    this.allocate(LOG_HEADER_SIZE + 1);
    fsyncDir(logDir(this.store));
  }

  private allocate(needed: number): void {
    if (needed <= this.allocated) return;
    const target = Math.ceil(needed / LOG_EXTENT) * LOG_EXTENT;
    const fill = zeros(LOG_EXTENT);
    for (let at = this.allocated; at < target; at += LOG_EXTENT) fs.writeSync(this.fd!, fill, 0, Math.min(LOG_EXTENT, target - at), at);
    fs.fsyncSync(this.fd!);
    this.allocated = target;
  }

  /**
   * Syncs every journal written since the last checkpoint, then empties the log (cut to its header): every frame
   * it held is then in a synced journal. A crash between the two leaves entries that recovery writes again, to
   * the same bytes.
   */
  private async checkpoint(): Promise<void> {
    await Promise.all([...this.unsynced].map((w) => w.syncData()));
    this.unsynced.clear();
    fs.ftruncateSync(this.fd!, LOG_HEADER_SIZE);
    fs.fsyncSync(this.fd!);
    this.offset = this.allocated = LOG_HEADER_SIZE;
  }

  /**
   * A journal about to close: waits for a running checkpoint, which may be syncing it (rounds do not use it any
   * more: its appends are all settled). If its own sync failed, the log is never emptied or removed: it is then
   * the only synced copy of some of its frames.
   */
  private async detach(writer: JournalWriter, failed: unknown): Promise<void> {
    await this.checkpointing;
    if (failed !== undefined) this.failure ??= failed;
    this.unsynced.delete(writer);
  }

  /**
   * At store close, after every lease was released (so every journal is synced): the log is no longer needed.
   * A log that is not empty is removed only after a checkpoint.
   */
  async close(): Promise<void> {
    while (this.running || this.scheduled) await (this.running ?? new Promise((r) => setImmediate(r)));
    if (this.fd === undefined) return;
    if (this.failure === undefined) await this.checkpoint();
    fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.failure === undefined) {
      fs.rmSync(this.file, { force: true });
      fsyncDir(logDir(this.store));
    }
  }
}
