/**
 * Where sessions live. The embedded file store (file-store.ts) is the default; a store for several machines
 * implements the same interface. Writes go through a SessionLease: a runner holds the lease of a session while
 * it runs it, and a runner whose lease was taken over (it was presumed dead) cannot write: fencing.
 */
import { randomBytes } from "node:crypto";
import type { HeaderRecord, JournalRecord, Mode } from "../journal";
import type { Inbox, JournalSink } from "../session-state";

export type SessionStatus = "running" | "waiting" | "completed" | "failed";

export interface SessionSummary {
  readonly id: string;
  readonly project: string;
  readonly trigger: string;
  readonly handler: string;
  readonly mode: Mode;
  readonly status: SessionStatus;
  readonly attempts: number;
  readonly createdAt: number;
  readonly updatedAt: number;
  /** One-line error of a failed session. */
  readonly error?: string;
  /** Code of the error, when it was an akts error (e.g. AKTS5001). */
  readonly errorCode?: string;
}

export interface SessionLease extends JournalSink {
  readonly id: string;
  readonly fence: number;
  /** Records the session's status (and the attempt count, result error). Throws StaleLeaseError when fenced. */
  setStatus(status: SessionStatus, extra?: { attempts?: number; error?: string; errorCode?: string }): Promise<void>;
  /** Closes the journal and gives the lease up. */
  release(): Promise<void>;
}

export interface JournalRead {
  readonly records: JournalRecord[];
  /** Set when a torn last frame was cut on open. */
  readonly notice?: string;
}

export interface Store {
  readonly location: string;
  create(header: HeaderRecord, runner: string): Promise<SessionLease>;
  /** Takes over an unfinished session whose holder is gone; undefined when a live runner holds it. */
  claim(id: string, runner: string): Promise<SessionLease | undefined>;
  get(id: string): Promise<SessionSummary | undefined>;
  list(): Promise<SessionSummary[]>;
  unfinished(): Promise<SessionSummary[]>;
  read(id: string): Promise<JournalRead>;
  /** Queues an event for a session; returns its id. */
  deliver(id: string, name: string, value: unknown): Promise<string>;
  inbox(id: string, consumed: ReadonlySet<string>): Inbox;
}

/** Sortable, unique session ids: time first, then randomness. */
export function newSessionId(): string {
  const time = Date.now().toString(36).padStart(9, "0");
  const rand = randomBytes(8).toString("hex");
  return `ses_${time}${rand}`;
}
