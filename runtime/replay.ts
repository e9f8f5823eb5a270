/**
 * Answers a durable session's calls from its journal. Each call takes the next sequence number; the recorded
 * entry with that number must be the same call, else NondeterminismError. Outcomes that completed
 * asynchronously (async activities, events, fired sleeps) are handed back in the order they completed live, so
 * Promise.all / Promise.race continuations run in the recorded order: a call whose turn has not come waits
 * until the entries recorded before it have been handed back.
 */
import { executionAsyncId } from "node:async_hooks";
import type { JournalRecord } from "./journal";
import { NondeterminismError } from "./errors";
import type { LazyActivities } from "./lazy-record";
import { describeSite, type Site } from "./site";

export type ActivityRecord = Extract<JournalRecord, { t: "activity" }>;
export type TimerRecord = Extract<JournalRecord, { t: "timer" }>;
export type EventRecord = Extract<JournalRecord, { t: "event" }>;
export type OutcomeRecord = Extract<JournalRecord, { t: "outcome" }>;
export type SeqRecord = ActivityRecord | TimerRecord | EventRecord | OutcomeRecord;

/** What a call is compared with: the site's id and callee (events and timers have synthetic ones). */
export type CallSite = Pick<Site, "id" | "callee">;

/** The journal site of `sleep()` timers; `nextEvent` timeouts use `<akts>:nextEvent:<name>`. */
export const SLEEP_SITE: CallSite = { id: "<akts>:sleep", callee: "sleep" };

export function eventSite(name: string): CallSite {
  return { id: "<akts>", callee: `nextEvent("${name}")` };
}

/** The journal site of `httpOutcome()` and `outcome()`. */
export function outcomeSite(fn: string): CallSite {
  return { id: "<akts>:outcome", callee: fn };
}

export function timeoutSite(name: string): CallSite {
  return { id: `<akts>:nextEvent:${name}`, callee: "timeout" };
}

const HANDED_BACK: Promise<void> = Promise.resolve();

/** Replays stuck on an entry the code never calls are failed when the event loop runs dry (see `stuck`). */
const active = new Set<Replay>();
let watching = false;

function watchForDeadlock(): void {
  if (watching) return;
  watching = true;
  process.on("beforeExit", () => {
    for (const replay of active) replay.failIfStuck();
  });
}

interface HistoryRead {
  readonly records: readonly JournalRecord[];
  readonly activities?: LazyActivities;
}

/** A journal's records for a replay: a list, or a read that left activity records undecoded (lazy-record.ts). */
export type History = readonly JournalRecord[] | HistoryRead;

export function historyRead(history: History): HistoryRead {
  return Array.isArray(history) ? { records: history } : (history as HistoryRead);
}

export class Replay {
  /** Decoded entries by seq. Seqs count the calls of a run from 1, so an array (a Map cost a replay more than its decoding). */
  private readonly recorded: (SeqRecord | undefined)[] = [];
  /** Undecoded entries (in `lazy`) by seq: their frame offsets, 0 for none. */
  private readonly lazyAt: Float64Array;
  private readonly lazy: LazyActivities | undefined;
  /** Seqs of asynchronously completed entries, in completion order. */
  private readonly order: Float64Array | number[];
  private released = 0;
  /** Calls waiting for their turn: seq → [resolve, reject]. */
  private readonly waiting = new Map<number, [() => void, (err: Error) => void]>();
  /**
   * The execution async id (one per callback and per promise job while AsyncLocalStorage is on) that handed back the
   * last outcome. A call asking for the next turn under the same id was made alongside it (`Promise.race([a(), b()])`),
   * not from its continuation, so it waits for the pump's next macrotask: each kind settles a different number of
   * microtasks after its turn (an event two, an activity one), so both handed back in one job could settle swapped.
   */
  private handedIn = -1;
  private pumpScheduled = false;
  /**
   * An outcome was handed back that settles a hop or more after its turn (an event, a sleep, an activity through
   * `turn`), and this macrotask is not over: its continuation may not have run, and an activity handed back without
   * hops could settle before it (`handBackNow`).
   */
  private settling = false;
  /** The highest recorded seq: past it, everything runs live. */
  readonly lastSeq: number;

  constructor(
    history: History,
    /** Told about a divergence found while no call is on the stack (a replay that can never finish). */
    private readonly onStuck: (err: NondeterminismError) => void,
  ) {
    const { records, activities: lazy } = historyRead(history);
    this.lazy = lazy;
    // Completions as two typed arrays sized once, not an object each: an async journal has one per entry.
    const size = records.length + (lazy?.asyncCount ?? 0);
    const completedSeq = new Float64Array(size);
    const completedAt = new Float64Array(size);
    let completed = 0;
    const sleeps: { seq: number; at: number }[] = [];
    let last = 0;
    const take = (rec: JournalRecord) => {
      if (rec.t !== "activity" && rec.t !== "timer" && rec.t !== "event" && rec.t !== "outcome") return;
      if (!Number.isSafeInteger(rec.seq) || rec.seq < 1) throw new NondeterminismError(`journal entry with seq ${rec.seq}: not a call number`);
      this.recorded[rec.seq] = rec;
      last = Math.max(last, rec.seq);
      if ((rec.t === "activity" && rec.async) || rec.t === "event") {
        completedSeq[completed] = rec.seq;
        completedAt[completed++] = rec.t === "event" ? rec.at : rec.end;
      }
      if (rec.t === "timer" && rec.site === SLEEP_SITE.id) sleeps.push({ seq: rec.seq, at: rec.deadline });
    };
    // Both lists in file order (completion order): `before` tells where each undecoded activity goes.
    let next = 0;
    this.lazyAt = new Float64Array(lazy ? lazy.lastSeq + 1 : 0);
    for (let i = 0; i < (lazy?.count ?? 0); i++) {
      while (next < lazy!.before[i]) take(records[next++]);
      const seq = lazy!.seq[i];
      this.lazyAt[seq] = lazy!.at[i];
      if (lazy!.async[i]) {
        completedSeq[completed] = seq;
        completedAt[completed++] = lazy!.end[i];
      }
    }
    if (lazy && lazy.lastSeq > last) last = lazy.lastSeq;
    while (next < records.length) take(records[next++]);
    this.lastSeq = last;
    this.order = mergeSleeps(completedSeq.subarray(0, completed), completedAt, sleeps);
  }

  /** The record of `seq` (decoded now if it was read undecoded), or undefined. */
  private record(seq: number): SeqRecord | undefined {
    const at = seq < this.lazyAt.length ? this.lazyAt[seq] : 0;
    return at > 0 ? this.lazy!.decode(at) : this.recorded[seq];
  }

  /** True while some recorded entry has not been asked for or handed back. */
  replaying(calledSeq: number): boolean {
    return calledSeq < this.lastSeq || this.released < this.order.length;
  }

  /** The recorded entry for `seq`, checked against what the code called now; undefined past the journal. */
  entry<T extends SeqRecord["t"]>(seq: number, t: T, site: CallSite): Extract<SeqRecord, { t: T }> | undefined {
    const at = seq < this.lazyAt.length ? this.lazyAt[seq] : 0;
    // An undecoded activity called from the site that recorded it: only its outcome is decoded.
    const answered = at > 0 && t === "activity" ? this.lazy!.answer(at, site) : undefined;
    if (answered !== undefined) return answered as Extract<SeqRecord, { t: T }>;
    const rec = at > 0 ? this.lazy!.decode(at) : this.recorded[seq];
    if (rec === undefined) return undefined;
    // The same activity: the same callee in the same file. Its line and column are not compared, so an edit that
    // moves code (a comment, formatting) keeps replaying; the replay fingerprint leaves them out for that reason.
    if (t === "activity" && rec.t === "activity" && rec.callee === site.callee && sameFile(rec.site, site.id)) return rec as Extract<SeqRecord, { t: T }>;
    const called = describeCall(t, site);
    if (rec.t !== t || describeRecord(rec) !== called) {
      throw new NondeterminismError(`entry #${seq}: journal has ${describeRecord(rec)}, code called ${called}`);
    }
    return rec as Extract<SeqRecord, { t: T }>;
  }

  /** The recorded entry for `seq`, unchecked (undefined past the journal): for calls decided by what the journal holds. */
  peek(seq: number): SeqRecord | undefined {
    return this.record(seq);
  }

  /** Resolves when every outcome that completed before `seq`'s has been handed back (at once if `seq` has no turn). */
  turn(seq: number): Promise<void> {
    // The next outcome, and no call waits: handed back now. The usual case (calls awaited one by one) makes no
    // promise of its own and no waiter.
    const id = executionAsyncId();
    if (this.isNext(seq, id)) {
      this.handBack(id, true);
      return HANDED_BACK;
    }
    if (!this.order.includes(seq, this.released)) return HANDED_BACK;
    return new Promise((resolve, reject) => {
      this.waiting.set(seq, [resolve, reject]);
      active.add(this);
      watchForDeadlock();
      this.pump();
    });
  }

  /**
   * An async activity's turn, when it can settle with no hop of its own: true if `seq` is handed back now and the
   * last outcome handed back did the same (or every continuation queued since it was handed back has run). The
   * caller then hands back an already settled promise, one microtask sooner than `turn` would; since every such
   * outcome is that much sooner, they stay in order among themselves, and one after an outcome that takes hops of
   * its own waits for `turn` until the next macrotask. False: the caller asks `turn`.
   */
  handBackNow(seq: number): boolean {
    if (this.settling) return false;
    const id = executionAsyncId();
    if (!this.isNext(seq, id)) return false;
    this.handBack(id, false);
    return true;
  }

  /**
   * `seq` is the next outcome, no call waits, and it is not asked for alongside the last one handed back (`id`: the
   * execution async id of the call).
   */
  private isNext(seq: number, id: number): boolean {
    return this.waiting.size === 0 && this.order[this.released] === seq && id !== this.handedIn;
  }

  /** Hands back the next outcome in job `id`; `hops`: it settles a microtask or more after its turn (see `settling`). */
  private handBack(id: number, hops: boolean): void {
    this.released++;
    this.handedIn = id;
    if (hops && !this.settling) {
      this.settling = true;
      // Every microtask queued before this macrotask (the outcome's continuation included) has run by then.
      setImmediate(() => (this.settling = false));
    }
  }

  private pump(): void {
    const id = executionAsyncId();
    if (id === this.handedIn) return this.pumpLater();
    const seq = this.order[this.released];
    const waiter = seq === undefined ? undefined : this.waiting.get(seq);
    if (waiter === undefined) return;
    this.waiting.delete(seq);
    this.handBack(id, true);
    if (this.waiting.size === 0) active.delete(this);
    waiter[0]();
    // Let this outcome's continuation run (and make the calls it makes) before the next one is handed back.
    if (this.waiting.size > 0) this.pumpLater();
  }

  /** Pumps once every microtask queued so far has run (an outcome's continuation included): one pending at a time. */
  private pumpLater(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      // Every job queued before has run: whatever this callback's id, the last outcome's continuation is done.
      this.handedIn = -1;
      this.pump();
    });
  }

  /**
   * Called when nothing else can happen in the process: calls are waiting for an entry recorded before theirs
   * that the code has not called and now never will (e.g. concurrent calls were made sequential).
   */
  failIfStuck(): void {
    const next = this.order[this.released];
    if (this.waiting.size === 0 || next === undefined) return;
    const blocked = [...this.waiting.keys()].map((s) => `#${s}`).join(", ");
    const err = new NondeterminismError(
      `entry #${next}: journal has ${describeRecord(this.record(next)!)} completing before ${blocked}, which the code waits on; the code never called it`,
    );
    active.delete(this);
    const waiters = [...this.waiting.values()];
    this.waiting.clear();
    this.onStuck(err);
    for (const [, reject] of waiters) reject(err);
  }

  /** The session is over: calls still waiting for their turn are dropped, not failed (nobody awaits them). */
  close(): void {
    active.delete(this);
    this.waiting.clear();
  }

  /** After the handler returned: recorded entries the code never asked for mean the code changed. */
  assertConsumed(calledSeq: number): void {
    for (let seq = calledSeq + 1; seq <= this.lastSeq; seq++) {
      const rec = this.record(seq);
      if (rec !== undefined) {
        throw new NondeterminismError(`entry #${seq}: journal has ${describeRecord(rec)}, code returned without calling it`);
      }
    }
  }
}

/**
 * A sleep fired at its deadline, before every completion recorded later than that. Sleeps with no completion
 * after their deadline come last, in deadline order: one that fired after every other outcome still settles after them.
 */
function mergeSleeps(completedSeq: Float64Array, completedAt: Float64Array, sleeps: { seq: number; at: number }[]): Float64Array | number[] {
  if (sleeps.length === 0) return completedSeq;
  sleeps.sort((a, b) => a.at - b.at);
  const order: number[] = [];
  let i = 0;
  for (let c = 0; c < completedSeq.length; c++) {
    while (i < sleeps.length && sleeps[i].at <= completedAt[c]) order.push(sleeps[i++].seq);
    order.push(completedSeq[c]);
  }
  while (i < sleeps.length) order.push(sleeps[i++].seq);
  return order;
}

/** Site ids are `file:line:column`: equal up to the line. */
function sameFile(a: string, b: string): boolean {
  if (a === b) return true;
  const end = a.lastIndexOf(":", a.lastIndexOf(":") - 1);
  return end > 0 && end === b.lastIndexOf(":", b.lastIndexOf(":") - 1) && a.startsWith(b.slice(0, end));
}

/** A call as messages name it: `fetch at program.ts:12:3`, `sleep()`, `nextEvent("approval")`, `httpOutcome()`. */
export function describeCall(t: SeqRecord["t"], site: CallSite): string {
  if (t === "outcome") return `${site.callee}()`;
  return t === "event" ? site.callee : t === "timer" ? describeTimer(site.id) : describeSite(site);
}

/** `sleep()`, or `timeout of nextEvent("approval")`. */
function describeTimer(siteId: string): string {
  return siteId === SLEEP_SITE.id ? "sleep()" : `timeout of nextEvent("${siteId.slice(timeoutSite("").id.length)}")`;
}

function describeRecord(rec: SeqRecord): string {
  switch (rec.t) {
    case "event":
      return `nextEvent("${rec.name}")`;
    case "timer":
      return describeTimer(rec.site);
    case "outcome":
      return `${rec.fn}()`;
    case "activity":
      return describeSite({ callee: rec.callee, id: rec.site });
  }
}
