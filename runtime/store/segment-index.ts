/**
 * The file store's index, in memory: for every session, where its entries are in which segments and what its
 * summary is. Built by reading the segments when a store opens, kept current by the store's own writes, and brought
 * up to date with other runners' segments (their new tails) when a listing or an unknown id asks for it. Rules of
 * a session's journal across fences: docs/journal.md#segments.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { decode } from "../codec";
import { decodeFrame, fileHeader, FRAME_OVERHEAD, HEADER_SIZE, validFrameAt, zeros } from "../journal-frames";
import type { AttemptRecord, HeaderRecord, JournalRecord } from "../journal-records";

type EndRecord = Extract<JournalRecord, { t: "end" }>;
import { JournalCorruptError } from "../errors";
import { UNFINISHED, type SessionStatus, type SessionSummary } from "./store";
import { errorLine, jsonSafe } from "./json-safe";
import { headerFields } from "./file-session";
import { ENTRY_FIXED, isRecordKind, Kind, readAt, scanSegment, type Entry } from "./segment-format";
import { readSidecar, rowEntry, SidecarRows, writeSidecar } from "./segment-sidecar";

/** A runner's note of a status: `waiting`, `running` again, or a finished session's summary fields. */
export interface StatusNote {
  readonly status: SessionStatus;
  readonly at: number;
  readonly attempts?: number;
  readonly error?: string;
  readonly errorCode?: string;
  readonly result?: unknown;
}

export interface SegmentInfo {
  readonly file: string;
  readonly runner: string;
  readonly n: number;
  /** Written by this store: its entries are indexed as they are written, never read back. */
  readonly own: boolean;
  /** Read up to here. */
  scanned: number;
  /** Its writer is gone or closed and it was read to its end: it will not change. */
  done: boolean;
  /** A torn tail cut when it was recovered (AKTS4002), told to the reads of its sessions. */
  notice?: string;
  /** Indexed from its sidecar: its frames were not checked when it was indexed. */
  fromSidecar?: boolean;
  /** Its entries so far, for its sidecar (until it is sealed). */
  rows?: SidecarRows;
}

interface Location {
  readonly segment: SegmentInfo;
  readonly at: number;
  readonly length: number;
  readonly fence: number;
}

export interface Indexed {
  readonly id: string;
  fields?: ReturnType<typeof headerFields>;
  /** The runner that created it: its segment lease is the session's lease of fence 1. */
  creator?: string;
  readonly frames: Location[];
  status: SessionStatus;
  attempts: number;
  updatedAt: number;
  end?: EndRecord;
  final?: StatusNote;
  /** Fences whose writer let the session go unfinished (made by the first release: most sessions have none). */
  released?: Set<number>;
  /** Fence taken by a claim → how many records of the journal that claim read (made by the first claim). */
  claims?: Map<number, number>;
  damage?: { readonly file: string; readonly at: number; readonly detail: string };
}

const SEGMENT = /^(.+)-(\d+)\.seg$/;

/** The body of one entry, read from its segment (a sidecar row always has the value the index needs). */
function readEntry(file: string, entry: Entry): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    return readAt(fd, entry.at, entry.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a runner (by its segment lease) has stopped writing: closed, or gone from this host. */
export type RunnerDone = (runner: string) => boolean;

export class SegmentIndex {
  readonly sessions = new Map<string, Indexed>();
  /** Ids of sessions with a header, ascending. */
  private readonly ids: string[] = [];
  private readonly segments = new Map<string, SegmentInfo>();

  constructor(
    private readonly dir: string,
    private readonly runnerDone: RunnerDone,
    /** Cut the torn tails of dead runners' segments (not when only reading). */
    private readonly repair = true,
    /** Where sidecars are written before their rename (tmp/ of the store). */
    private readonly tmpDir?: string,
  ) {}

  /** Reads what other runners wrote since the last look: new segments, and the new tails of live ones. */
  refresh(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw err;
    }
    for (const name of names) {
      const m = SEGMENT.exec(name);
      if (!m || this.segments.has(name)) continue;
      const info: SegmentInfo = { file: path.join(this.dir, name), runner: m[1], n: Number(m[2]), own: false, scanned: 0, done: false };
      this.segments.set(name, info);
      if (!this.fromSidecar(info)) info.rows = new SidecarRows();
    }
    for (const info of this.segments.values()) if (!info.own && !info.done) this.scan(info);
  }

  /** Indexes a sealed segment from its sidecar, when it has one that agrees with it. */
  private fromSidecar(info: SegmentInfo): boolean {
    const sidecar = readSidecar(info.file);
    if (!sidecar) return false;
    for (const row of sidecar.rows) {
      const entry = rowEntry(row);
      this.add(info, entry, () => readEntry(info.file, entry), row[5]);
    }
    info.scanned = sidecar.end;
    info.done = true;
    info.fromSidecar = true;
    return true;
  }

  /** A segment this store writes. */
  ownSegment(file: string, runner: string, n: number): SegmentInfo {
    const info: SegmentInfo = { file, runner, n, own: true, scanned: 0, done: false, rows: new SidecarRows() };
    this.segments.set(path.basename(file), info);
    return info;
  }

  private scan(info: SegmentInfo): void {
    const done = this.runnerDone(info.runner);
    let buf: Buffer;
    const fd = fs.openSync(info.file, done && this.repair ? "r+" : "r");
    try {
      const size = fs.fstatSync(fd).size;
      if (size <= info.scanned) {
        info.done = done;
        return;
      }
      buf = readAt(fd, info.scanned, size - info.scanned);
      const scan = scanSegment(buf, info.scanned, info.file);
      for (const e of scan.entries) this.add(info, e, () => buf.subarray(e.at - info.scanned, e.at - info.scanned + e.length));
      // A sidecar would forget the damage, which must be reported on every read: such a segment is always read.
      if (scan.damage.length > 0) info.rows = undefined;
      for (const d of scan.damage) {
        if (d.session) this.entry(d.session).damage ??= { file: info.file, at: d.at, detail: d.detail };
      }
      if (scan.torn > 0 && done && this.repair) {
        // The writer is gone: what it tore was never acknowledged. Cut, so that the tail reads clean from now on.
        fs.writeSync(fd, zeros(scan.torn), 0, scan.torn, scan.end);
        fs.fdatasyncSync(fd);
        info.notice = `segment ${info.file}: cut ${scan.torn} torn bytes at offset ${scan.end}`;
      }
      info.scanned = scan.end;
      info.done = done;
      if (done && this.repair && this.tmpDir && info.rows) {
        // Recovered: it will not change again, so the next open reads its sidecar instead.
        // Only a shortcut: if it is not written, the next open reads the segment.
        writeSidecar(info.file, this.tmpDir, size, scan.end, info.rows).catch(() => {});
      }
      if (done) info.rows = undefined;
    } finally {
      fs.closeSync(fd);
    }
  }

  private entry(id: string): Indexed {
    let e = this.sessions.get(id);
    if (!e) {
      e = { id, frames: [], status: "running", attempts: 0, updatedAt: 0 };
      this.sessions.set(id, e);
    }
    return e;
  }

  /** One entry of a segment; `body` gives its bytes (decoded only for headers, attempts, ends and notes). */
  add(segment: SegmentInfo, entry: Entry, body: () => Buffer, value?: unknown): void {
    if (entry.kind !== Kind.Record) return this.addDecoded(segment, entry, body, value);
    // An activity (most entries): nothing to decode, and no closure made for it.
    segment.rows?.add(entry.kind, entry.fence, entry.session, entry.at, entry.length);
    this.entry(entry.session).frames.push({ segment, at: entry.at, length: entry.length, fence: entry.fence });
  }

  private addDecoded(segment: SegmentInfo, entry: Entry, body: () => Buffer, value?: unknown): void {
    const e = this.entry(entry.session);
    const decoded = () => value ?? (isRecordKind(entry.kind) ? decodeFrame(body(), segment.file, entry.at) : decode(body()));
    if (segment.rows) {
      if (entry.kind !== Kind.Released) value = decoded();
      segment.rows.add(entry.kind, entry.fence, entry.session, entry.at, entry.length, value);
    }
    if (isRecordKind(entry.kind)) {
      // A second header of the same id (two runners created it at once): the first one found is the session.
      if (entry.kind === Kind.Header && e.fields) return;
      e.frames.push({ segment, at: entry.at, length: entry.length, fence: entry.fence });
    }
    switch (entry.kind) {
      case Kind.Header: {
        const header = decoded() as HeaderRecord;
        e.fields = headerFields(header);
        e.creator = segment.runner;
        e.updatedAt = Math.max(e.updatedAt, header.createdAt);
        this.addId(e.id);
        break;
      }
      case Kind.Attempt: {
        const attempt = decoded() as AttemptRecord;
        e.attempts = Math.max(e.attempts, attempt.attempt);
        e.updatedAt = Math.max(e.updatedAt, attempt.at);
        break;
      }
      case Kind.End:
        e.end = decoded() as EndRecord;
        e.updatedAt = Math.max(e.updatedAt, e.end.at);
        break;
      case Kind.Status: {
        const note = decoded() as StatusNote;
        if (note.attempts !== undefined) e.attempts = note.attempts;
        if (!UNFINISHED.includes(note.status)) e.final = note;
        else e.status = note.status;
        e.updatedAt = Math.max(e.updatedAt, note.at);
        break;
      }
      case Kind.Released:
        (e.released ??= new Set()).add(entry.fence);
        break;
      case Kind.Claim:
        (e.claims ??= new Map()).set(entry.fence, (decoded() as { prior: number }).prior);
        e.released?.delete(entry.fence);
        break;
    }
  }

  /**
   * Writes the sidecar of one of this store's segments once it is sealed (full and synced, or its writer closed):
   * `size` is its file's size, `end` where its entries end.
   */
  async seal(info: SegmentInfo, size: number, end: number): Promise<void> {
    const rows = info.rows;
    info.rows = undefined;
    if (!rows || !this.tmpDir) return;
    await writeSidecar(info.file, this.tmpDir, size, end, rows);
  }

  private addId(id: string): void {
    const ids = this.ids;
    // Ids made by one process grow, so this is nearly always an append.
    let at = ids.length;
    while (at > 0 && ids[at - 1] > id) at--;
    if (ids[at - 1] !== id) ids.splice(at, 0, id);
  }

  /** Every session id, ascending (the caller must not change the array). */
  allIds(): readonly string[] {
    return this.ids;
  }

  summary(id: string): SessionSummary | undefined {
    const e = this.sessions.get(id);
    if (!e?.fields) return undefined;
    const end = e.end;
    const final = e.final;
    const status: SessionStatus = final?.status ?? (end ? (end.ok ? "completed" : end.cancelled ? "cancelled" : "failed") : e.status);
    const error = final?.error ?? (end && !end.ok ? errorLine(end.error) : undefined);
    const result = final?.result ?? (end?.ok ? jsonSafe(end.result) : undefined);
    // Before its status note lands (or if a crash lost it), an akts error's code is read from the end record.
    const errorCode = final?.errorCode ?? (end && !end.ok ? aktsCode(end.error) : undefined);
    return {
      ...e.fields,
      status,
      attempts: e.attempts,
      updatedAt: e.updatedAt,
      ...(error === undefined ? {} : { error }),
      ...(errorCode === undefined ? {} : { errorCode }),
      ...(result === undefined ? {} : { result }),
    };
  }

  /**
   * The session's journal as one journal image (a journal file header, then its frames): for each fence in order,
   * its frames in the order written, after cutting what the fence's claim did not read (frames an older fence's
   * stale writer wrote after the takeover).
   */
  journal(id: string): { image: Buffer; notices: string[]; records: number } {
    const e = this.sessions.get(id)!;
    if (e.damage) throw new JournalCorruptError(e.damage.file, e.damage.at, e.damage.detail);
    const kept = keptFrames(e);
    let total = HEADER_SIZE;
    for (const f of kept) total += f.length;
    // Room past the end for the gaps (other entries' bytes) of a span read whole: a quarter of the journal, at least
    // READ_SLACK_MIN so that a short journal among busy sessions is read at once, at most READ_SLACK_MAX.
    const slack = Math.min(READ_SLACK_MAX, Math.max(READ_SLACK_MIN, total >> 2));
    const buf = Buffer.allocUnsafe(total + slack);
    fileHeader().copy(buf, 0);
    const fds = new Map<string, number>();
    const notices = new Set<string>();
    try {
      let at = HEADER_SIZE;
      for (let i = 0; i < kept.length; ) {
        // A run: frames of one segment in file order whose span, read whole into the image where they go, fits in
        // the image's slack. One read, then each frame moved down over the gap before it (a session's frames lie
        // close together: a claim of a 100,000-entry session made 100,000 reads when it read frame by frame).
        const first = kept[i];
        let j = i + 1;
        let frames = first.length;
        while (j < kept.length) {
          const f = kept[j];
          const prev = kept[j - 1];
          if (f.segment !== first.segment || f.at < prev.at + prev.length || f.at + f.length - first.at - (frames + f.length) > slack) break;
          frames += f.length;
          j++;
        }
        const last = kept[j - 1];
        const span = last.at + last.length - first.at;
        const got = readUpTo(fds, first.segment.file, buf.subarray(at, at + span), span, first.at);
        if (got < span) throw new JournalCorruptError(first.segment.file, first.at + got, "the segment ends inside an entry");
        if (first.segment.notice) notices.add(first.segment.notice);
        const base = at;
        const fromSidecar = first.segment.fromSidecar === true;
        for (; i < j; i++) {
          const f = kept[i];
          // Frames only move down: each lands at or before where the read put it, past the frames moved before it.
          const from = base + f.at - first.at;
          buf.copyWithin(at, from, from + f.length);
          if (fromSidecar && validFrameAt(buf, at) !== f.length - FRAME_OVERHEAD) {
            // Indexed from its sidecar, the segment's frames were not checked at open: damage made since is found here.
            const frameAt = f.at - ENTRY_FIXED - Buffer.byteLength(id, "latin1") - FRAME_OVERHEAD;
            throw new JournalCorruptError(f.segment.file, frameAt, "an entry's journal frame fails its checksum: damage");
          }
          at += f.length;
        }
      }
    } finally {
      for (const fd of fds.values()) fs.closeSync(fd);
    }
    // The session keeps its image: a short one is copied out of its larger read buffer.
    const image = slack > total >> 2 ? Buffer.from(buf.subarray(0, total)) : buf.subarray(0, total);
    return { image, notices: [...notices], records: kept.length };
  }
}

/**
 * A session's frames in journal order: for each fence in order, its frames in the order written, after cutting what
 * the fence's claim did not read (frames an older fence's stale writer wrote after the takeover). The index holds
 * them in that order unless runners wrote at once (checked first: sorting 100,000 of them took 10 ms, machine loaded), and
 * without a cut the list is returned as it is.
 */
function keptFrames(e: Indexed): readonly Location[] {
  const frames = inJournalOrder(e.frames) ? e.frames : [...e.frames].sort(journalOrder);
  const fences = e.claims === undefined ? [] : [...e.claims.keys()].sort((a, b) => a - b);
  // Kept: frames[0, keep) while that is what it is (no cut, and each fence's frames follow the last ones kept), else `list`.
  let keep = 0;
  let list: Location[] | undefined;
  for (let i = 0, c = 0; i < frames.length || c < fences.length; ) {
    const fence = Math.min(i < frames.length ? frames[i].fence : Infinity, c < fences.length ? fences[c] : Infinity);
    if (fences[c] === fence) c++;
    const prior = e.claims?.get(fence);
    if (prior !== undefined) {
      if (list === undefined) keep = Math.min(keep, prior);
      else if (prior < list.length) list.length = prior;
    }
    const from = i;
    i = fenceEnd(frames, i, fence);
    if (list === undefined && from === keep) keep = i;
    else {
      list ??= frames.slice(0, keep);
      for (let k = from; k < i; k++) list.push(frames[k]);
    }
  }
  return list ?? (keep === frames.length ? frames : frames.slice(0, keep));
}

/** Where the frames of `fence` that start at `from` end (frames in journal order): a binary search, not a walk. */
function fenceEnd(frames: readonly Location[], from: number, fence: number): number {
  let lo = from;
  let hi = frames.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (frames[mid].fence <= fence) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** By fence; one runner writes a fence: its segments in order, each in the order written. */
function journalOrder(a: Location, b: Location): number {
  return a.fence - b.fence || a.segment.n - b.segment.n || a.at - b.at;
}

function inJournalOrder(frames: readonly Location[]): boolean {
  for (let i = 1; i < frames.length; i++) if (journalOrder(frames[i - 1], frames[i]) > 0) return false;
  return true;
}

/** Bytes of other entries a read of a session's frames may take in (see `journal`). */
const READ_SLACK_MIN = 64 << 10;
const READ_SLACK_MAX = 256 << 10;

function fdOf(fds: Map<string, number>, file: string): number {
  let fd = fds.get(file);
  if (fd === undefined) fds.set(file, (fd = fs.openSync(file, "r")));
  return fd;
}

/** Reads up to `length` bytes at `position` into the start of `buf`; fewer only where the file ends. */
function readUpTo(fds: Map<string, number>, file: string, buf: Buffer, length: number, position: number): number {
  const fd = fdOf(fds, file);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, buf, got, length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

function aktsCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^AKTS\d{4}$/.test(code) ? code : undefined;
}
