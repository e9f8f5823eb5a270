/**
 * Where sessions live (docs/stores.md). The embedded file store (file-store.ts) is the default; a store shared by
 * several machines (PostgreSQL) implements the same interface. Every write goes through a SessionLease: a runner
 * holds the lease of a session while it runs it, and a runner whose lease was taken over cannot write (fencing).
 */
import { randomFillSync } from "node:crypto";
import type { AttemptRecord, HeaderRecord, JournalRecord, Mode } from "../journal";
import type { LazyActivities } from "../lazy-record";
import { AktsError } from "../../errors";
import type { Inbox, JournalSink } from "../session-state";
import type { ValueStore } from "./values";

/**
 * `waiting`: blocked on a durable sleep or an event; like `running`, unfinished. `cancelled`: stopped by a
 * cancellation (`akts cancel`), finished like `completed` and `failed`.
 */
export type SessionStatus = "running" | "waiting" | "completed" | "failed" | "cancelled";

export const STATUSES: readonly SessionStatus[] = ["running", "waiting", "completed", "failed", "cancelled"];

export const UNFINISHED: readonly SessionStatus[] = ["running", "waiting"];


export interface SessionSummary {
  readonly id: string;
  readonly project: string;
  readonly trigger: string;
  /** `file.ts:export` of the handler. */
  readonly handler: string;
  readonly mode: Mode;
  readonly status: SessionStatus;
  readonly attempts: number;
  /** Epoch milliseconds. */
  readonly createdAt: number;
  readonly updatedAt: number;
  /** One line: the error of a failed session. */
  readonly error?: string;
  /** The akts code of that error, when it had one (e.g. AKTS5001). */
  readonly errorCode?: string;
  /** A JSON rendering of a completed session's result; the journal's end record holds the exact value. */
  readonly result?: unknown;
  /** The session that started this one with `start()`. */
  readonly parent?: string;
}

export interface StatusExtra {
  readonly attempts?: number;
  readonly error?: string;
  readonly errorCode?: string;
  readonly result?: unknown;
}

export interface SessionLease extends JournalSink {
  readonly id: string;
  /** Grows by one at every takeover; writes with an older fence fail with StaleLeaseError (AKTS4003). */
  readonly fence: number;
  append(record: JournalRecord): Promise<void>;
  appendSync(record: JournalRecord): void;
  setStatus(status: SessionStatus, extra?: StatusExtra): Promise<void>;
  /**
   * The session's end: what `append(end)`, `setStatus(status, extra)` and `release()` do one after another, in as
   * few writes as the store can (PostgreSQL: one statement, all of it or none; the file store: one write, resolved
   * once the end is durable). `durable` is called as soon as the end is durable, in the step that learned it,
   * before the promise resolves; what it throws fails the promise.
   */
  finish(end: JournalRecord, status: SessionStatus, extra?: StatusExtra, durable?: () => void): Promise<void>;
  /**
   * The journal as `claim` read it, when the store reads it to claim (the file store, to find its end): the
   * engine replays from it instead of reading the journal a second time. Nothing was written to it since.
   */
  readonly claimed?: JournalRead;
  /**
   * Resolves once everything this lease wrote is durable per the store's policy. Present where `create` may resolve
   * before that (`deferSync`); a lease without it was durable when `create` resolved.
   */
  durable?(): Promise<void>;
  /** Closes the journal and frees the lease for the next claim. Idempotent. */
  release(): Promise<void>;
}

export interface CreateOptions {
  /**
   * Nobody is told of the session before it ends or `durable()` resolves (a sync webhook's caller waits for its
   * answer): `create` may resolve once the header is written, before it is synced, and the session's next synced
   * write covers it (docs/stores.md#the-file-store, Durability). A store that cannot tell them apart ignores it.
   */
  readonly deferSync?: boolean;
}

export interface JournalRead {
  readonly records: JournalRecord[];
  /** Activity records read without decoding them (a claim's read for a replay); then not in `records`. */
  readonly activities?: LazyActivities;
  /** What reading had to report, e.g. a torn last frame that was ignored. */
  readonly notices: string[];
  /** Where the last whole record ends, for stores that keep the journal as bytes (the file store's byte offset). */
  readonly end?: number;
}

/** Which sessions `list` returns, newest first. */
export interface ListFilter {
  readonly status?: SessionStatus;
  /** Only sessions of this trigger. */
  readonly trigger?: string;
  /** Only sessions whose id sorts strictly before this session id (ids sort by creation time): the next page. */
  readonly before?: string;
  /** At most this many. */
  readonly limit?: number;
}

export interface Store extends ValueStore {
  /** Where the store is, for messages (a folder, a database URL without its password). */
  readonly location: string;
  /**
   * Records a new session and leases it to `runner`. `attempt` (its first attempt's record) is journaled with the
   * header, in the same write.
   */
  create(header: HeaderRecord, runner: string, attempt?: AttemptRecord, options?: CreateOptions): Promise<SessionLease>;
  /**
   * Takes over an unfinished session whose lease is free: released, expired, or held by a process that is gone.
   * Undefined when a live runner holds it, another claimer won, or the session is finished.
   */
  claim(id: string, runner: string): Promise<SessionLease | undefined>;
  /** Unfinished sessions (running or waiting), oldest first. */
  unfinished(): Promise<SessionSummary[]>;
  /** Sessions, newest first; partial leftovers of a creation cut short are skipped, never an error. */
  list(filter?: ListFilter): Promise<SessionSummary[]>;
  get(id: string): Promise<SessionSummary | undefined>;
  /** The session's journal; an unknown session is an AktsError. */
  read(id: string): Promise<JournalRead>;
  /**
   * Queues an event for a session; returns the event's id. With `eventId` (which must start `evt_`), delivering
   * the same id again does nothing, so a sender that repeats a delivery after a crash delivers it once.
   */
  deliver(id: string, name: string, value: unknown, eventId?: string): Promise<string>;
  /** The session's undelivered events; `consumed` are ids its journal already holds. */
  inbox(id: string, consumed: ReadonlySet<string>): Inbox;
  /** Asks a session to stop at its next boundary (CancelledError); the request stays until the session ends. */
  requestCancel(id: string): Promise<void>;
  /** Of `ids`, the sessions whose cancellation was requested. */
  cancelRequests(ids: readonly string[]): Promise<Set<string>>;
  /** Removes the requests of sessions that finished (or that neither exist nor wait in the queue); returns how many. */
  sweepCancels(): Promise<number>;
  /** The slots of triggers with `max_concurrent`, shared by every runner of the store. */
  readonly slots: SessionSlots;
  /** Sessions waiting for a free slot of their trigger (`max_concurrent`), in the store so they survive a crash. */
  readonly queue: SessionQueue;
  /** Webhook `Idempotency-Key`s and the sessions they started. */
  readonly idempotency: IdempotencyKeys;
  /**
   * The code versions the store keeps (`akts serve --keep-versions`). A database's are unpacked to run into
   * `<localDir>/versions/`, a folder beside the project so its packages resolve; a folder store keeps them in itself.
   */
  keptVersions(localDir: string): KeptVersions;
  /** Releases the leases this store handed out and stops its timers. */
  close(): Promise<void>;
}

/** A kept version of the code: its folder, by `call` (`program.ts:handler`) the module that exports it (relative). */
export interface KeptVersion {
  readonly dir: string;
  readonly fingerprint: string;
  readonly modules: Readonly<Record<string, string>>;
}

export interface KeptVersions {
  /** The kept version of `fingerprint`, if the store has it, in a folder it can run from. */
  read(fingerprint: string): Promise<KeptVersion | undefined>;
  /** Keeps the code in `codeDir` as `fingerprint`'s version, unless the store has it already. */
  keep(fingerprint: string, codeDir: string, modules: Readonly<Record<string, string>>): Promise<KeptVersion>;
}

/** A session not started yet: its id (given when it was queued) and its event, in FIFO order per trigger. */
export interface QueuedStart {
  readonly sessionId: string;
  readonly project: string;
  readonly trigger: string;
  readonly event: unknown;
}

export interface SessionQueue {
  /** Queues a start; queuing an id already queued changes nothing. */
  push(start: QueuedStart): Promise<void>;
  /** The oldest queued starts of a trigger, oldest first (ids sort by creation time). */
  peek(project: string, trigger: string, limit: number): Promise<QueuedStart[]>;
  /** Removes a start once its session is in the store. */
  remove(sessionId: string): Promise<void>;
  /** Whether `sessionId` waits in the queue. */
  has(sessionId: string): Promise<boolean>;
  /** Removes the entries whose session was made (a runner died between making it and removing the entry); returns how many. */
  sweep(): Promise<number>;
}

/**
 * A trigger's `max_concurrent` slots, counted in the store so that every runner sharing it (several `akts serve`,
 * `akts worker`, `akts resume`) runs at most that many sessions of the trigger together. A session holds its slot
 * from its admission until it finishes, whichever runner runs it (a takeover keeps it); a slot whose session was
 * never made (its taker died first) is free again after the store's lease TTL.
 */
export interface SessionSlots {
  /**
   * Takes a slot of the trigger for `sessionId` if fewer than `max` are held, atomically across runners. True if
   * the session holds one now, also when it held one already (a start repeated after a crash).
   */
  take(project: string, trigger: string, sessionId: string, max: number): Promise<boolean>;
}

/** What an Idempotency-Key holds: the session it started and a digest of the request it came with. */
export interface IdempotencyRecord {
  readonly sessionId: string;
  readonly digest: string;
  /** Epoch ms after which the key is free again. */
  readonly expiresAt: number;
}

export interface IdempotencyKeys {
  /**
   * Records `record` under `key` unless a live (unexpired) record is there: returns the record that holds the key
   * now, which is `record` when this call took it. Atomic across processes sharing the store.
   */
  reserve(key: string, record: IdempotencyRecord): Promise<IdempotencyRecord>;
  /** Gives a key up (its session could not be recorded), only if it still holds `sessionId`. */
  release(key: string, sessionId: string): Promise<void>;
  /** Removes the keys expired at `now`; returns how many. */
  sweep(now: number): Promise<number>;
}

/** Crockford base32, as in ULIDs: ids sort by creation time as strings. */
const BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
let lastTime = -1;
/** The random part of the last id, one base32 digit (0–31) per byte. */
const lastRandom = new Uint8Array(16);

/** Ids' random bytes, drawn from a pool refilled 4 KiB at a time: one call into the CSPRNG per few hundred ids. */
const pool = Buffer.alloc(4096);
let pooled = 0;

/** `n` random bytes, valid until the next call. */
function randomPart(n: number): Buffer {
  if (pooled < n) {
    randomFillSync(pool);
    pooled = pool.length;
  }
  pooled -= n;
  return pool.subarray(pooled, pooled + n);
}

/** The id being made: `ses_`, then its 26 digits, written in place and read as one flat string. */
const ID = Buffer.from(`ses_${"0".repeat(26)}`, "latin1");
const DIGITS = Buffer.from(BASE32, "latin1");

/**
 * `ses_` + 10 characters of millisecond time + 16 random characters (a ULID). Within one millisecond the random
 * part counts up, so ids made by one process sort in creation order. Built as bytes: a string grown a character at
 * a time is a rope of 30 pieces, flattened again by its first lookup.
 */
export function newSessionId(now: number = Date.now()): string {
  if (now === lastTime) {
    let i = lastRandom.length - 1;
    while (i >= 0 && lastRandom[i] === 31) lastRandom[i--] = 0;
    if (i >= 0) lastRandom[i]++;
  } else {
    lastTime = now;
    const bytes = randomPart(16);
    for (let i = 0; i < 16; i++) lastRandom[i] = bytes[i] & 31;
  }
  let time = now;
  for (let i = 13; i >= 4; i--) {
    ID[i] = DIGITS[time % 32];
    time = Math.floor(time / 32);
  }
  for (let i = 0; i < 16; i++) ID[14 + i] = DIGITS[lastRandom[i]];
  return ID.toString("latin1");
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/** Ids are also file names and query parameters: letters, digits, `_` and `-` only, so none can name a path. */
export function isSessionId(id: string): boolean {
  return SESSION_ID.test(id);
}

export function checkSessionId(id: string): void {
  if (!isSessionId(id)) throw new AktsError("AKTS9001", `'${id}' is not a session id`);
}

/** `evt_` + time in base 36 + random hex: events sort by delivery time as strings. */
export function newEventId(): string {
  return `evt_${Date.now().toString(36).padStart(9, "0")}${randomPart(6).toString("hex")}`;
}
