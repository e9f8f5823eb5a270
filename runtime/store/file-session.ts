/**
 * One session of the file store (layout: file-store.ts): its paths, and its summary as the files tell it. The
 * journal is the truth; a summary file is written when a session finishes (and while it waits), and the journal
 * overrules an unfinished one: a session whose journal holds its end record is finished.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { dataEnd, decodeFrames, FRAME_OVERHEAD, HEADER_SIZE, JOURNAL_MAGIC, validFrameAt } from "../journal-frames";
import type { HeaderRecord, JournalRecord } from "../journal-records";
import { JournalCorruptError } from "../errors";
import { decodePayload } from "../lazy-record";
import { checkSessionId, UNFINISHED, type SessionSummary } from "./store";
import { errorLine, jsonSafe } from "./json-safe";

export class SessionFiles {
  readonly journal: string;
  readonly summary: string;
  readonly inbox: string;
  /** `unfinished/<id>`: present while the session is unfinished; it is also the lease of fence 1. */
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

  /** The lease file of `fence`: the unfinished marker for fence 1, `<id>.lease-<n>` for each takeover. */
  lease(fence: number): string {
    return fence === 1 ? this.marker : `${this.leasePrefix}${fence}`;
  }

  /** The highest fence taken so far (1 when nobody took the session over). Fences are few: one per takeover. */
  currentFence(): number {
    let fence = 1;
    while (fs.existsSync(this.lease(fence + 1))) fence++;
    return fence;
  }
}

export async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    // A summary is written in place, unsynced: a crash can leave it empty or cut. The journal tells it again.
    return undefined;
  }
}

/** The records of a journal as far as they read, for a summary: a damaged frame ends them instead of failing. */
async function readRecords(file: string): Promise<JournalRecord[] | undefined> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  try {
    return decodeFrames(buf, file).records;
  } catch (err) {
    if (!(err instanceof JournalCorruptError)) throw err;
    // Damage after the header: the session is there, and its claim reports the damage.
    const length = buf.length >= HEADER_SIZE ? validFrameAt(buf, HEADER_SIZE) : -1;
    if (length < 0 || !buf.subarray(0, 8).equals(JOURNAL_MAGIC)) return undefined;
    try {
      return [decodePayload(buf, HEADER_SIZE + FRAME_OVERHEAD, HEADER_SIZE + FRAME_OVERHEAD + length, file, HEADER_SIZE) as JournalRecord];
    } catch {
      return undefined;
    }
  }
}

/**
 * A creation that a crash cut short: no journal, or one holding nothing but zeros, its file header, or a torn
 * header frame. A journal that does not read for another reason is damage, and is left for a person to look at.
 */
export async function creationCut(files: SessionFiles): Promise<boolean> {
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(files.journal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return true;
    throw err;
  }
  if (dataEnd(buf, 0) === 0) return true;
  try {
    return decodeFrames(buf, files.journal).records.length === 0;
  } catch (err) {
    if (err instanceof JournalCorruptError) return false;
    throw err;
  }
}

/**
 * The summary as the journal tells it: header, attempts, end record. Undefined when there is no journal or it has
 * no header frame yet (a creation that a crash cut short, or one under way).
 */
export function summaryFromRecords(records: readonly JournalRecord[]): SessionSummary | undefined {
  const header = records[0]?.t === "header" ? (records[0] as HeaderRecord) : undefined;
  if (!header) return undefined;
  const end = records.find((r) => r.t === "end");
  const last = records.reduce((at, r) => ("at" in r ? Math.max(at, r.at) : at), header.createdAt);
  return {
    ...headerFields(header),
    status: end ? (end.ok ? "completed" : end.cancelled ? "cancelled" : "failed") : "running",
    attempts: records.filter((r) => r.t === "attempt").length,
    updatedAt: last,
    ...(end && !end.ok ? { error: errorLine(end.error) } : {}),
    ...(end?.ok ? { result: jsonSafe(end.result) } : {}),
  };
}

export function headerFields(header: HeaderRecord): Pick<SessionSummary, "id" | "project" | "trigger" | "handler" | "mode" | "createdAt" | "parent"> {
  return {
    id: header.sessionId,
    project: header.project,
    trigger: header.trigger,
    handler: header.handler,
    mode: header.mode,
    createdAt: header.createdAt,
    ...(header.parent === undefined ? {} : { parent: header.parent }),
  };
}

/**
 * The session's summary. A finished summary file is final. Otherwise (no summary file, or one that says running
 * or waiting) the journal is read: its end record finishes the session whatever the file says, and an unfinished
 * session takes its status from the file when there is one (only a waiting session writes it).
 */
export async function sessionSummary(files: SessionFiles): Promise<SessionSummary | undefined> {
  const saved = await readJson<SessionSummary>(files.summary);
  if (saved && !UNFINISHED.includes(saved.status)) return saved;
  const records = await readRecords(files.journal);
  const told = records && summaryFromRecords(records);
  if (!told || !saved || told.status !== "running") return told;
  return { ...told, status: saved.status, attempts: Math.max(told.attempts, saved.attempts), updatedAt: Math.max(told.updatedAt, saved.updatedAt) };
}
