/**
 * The state of one running session: its sequence counter, and in durable mode the journal it replays from
 * (replay.ts) and appends to. Failures of the journal itself (a divergence, an unserializable result, a failed
 * write) are fatal: they end the session as failed even if the handler catches them.
 */
import type { JournalRecord } from "./journal";
import { Replay, describeCall, historyRead, type CallSite, type History, type SeqRecord } from "./replay";
import { durableSessions } from "./context";
import { CancelledError, SessionParkedError } from "./errors";
import type { OutcomeFn } from "./journal-records";
import type { SessionOutcome } from "./outcome";
import type { SessionEnv } from "./session-env";

/** Told once a journal write is durable, or failed. */
export interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/** Where a durable session writes: implemented by a store's session lease. */
export interface JournalSink {
  append(record: JournalRecord): Promise<void>;
  /**
   * `append` that tells `waiter` instead of returning a promise (a store whose writes settle their waiters
   * themselves): may throw instead of telling.
   */
  appendThen?(record: JournalRecord, waiter: Waiter): void;
  appendSync(record: JournalRecord): void;
}

/** Events delivered to a session, waiting to be taken by `nextEvent`. */
export interface Inbox {
  /** The first undelivered event named `name` (or any of `name`); undefined when `deadline` (epoch ms) passes first. */
  take(name: string | readonly string[], deadline: number | undefined): Promise<{ id: string; name: string; value: unknown } | undefined>;
  /** Called once the event is journaled: it may be removed from the inbox. */
  consumed(id: string): Promise<void>;
}

/**
 * A replay that runs nothing live (`akts replay`): a call past the journal's end gets the error `pastJournal`
 * returns instead of running, and recorded sleeps are not waited out.
 */
export interface ReplayOnly {
  pastJournal(seq: number, called: string): Error;
  /** The journal holds the session's end: nothing was ever called past it. */
  readonly ended: boolean;
}

export class SessionState {
  private seq = 0;
  private waiters = 0;
  private fatalError: { error: unknown } | undefined;
  private readonly replay: Replay;
  /** Set by park(); rejects the waits under way (sleep, nextEvent) so the handler stops there. */
  private parkError: SessionParkedError | undefined;
  private rejectWaits: (err: SessionParkedError) => void = () => {};
  /** What a wait races, made by the first wait (most sessions never wait): rejected by park(). */
  private parkedWaits: Promise<never> | undefined;
  /** Live async activities not yet journaled: the session ends only after they are. */
  readonly inflight = new Set<Promise<unknown>>();
  /** Which of `httpOutcome()`/`outcome()` (outcome.ts) claimed the session's answer: a session answers once. */
  outcomeBy: OutcomeFn | undefined;
  /** The answer, once journaled (durable), set (non-durable) or replayed. */
  outcome: SessionOutcome | undefined;
  /** Hands a live outcome to the caller waiting on the session (a sync webhook); nobody by default. */
  answer: (outcome: SessionOutcome) => void = () => {};
  /** Set by the engine that runs the session; a replay-only session has none (its store calls are all journaled). */
  env: SessionEnv | undefined;
  /** Failed attempts journaled per activity seq (retry records): a resumed retry goes on from there. */
  private readonly retries = new Map<number, { failed: number; next: number }>();
  /** The call the journal says the cancellation was delivered at, if it was. */
  private cancelledAt: number | undefined;
  /** A cancellation requested and not delivered yet. */
  private cancelPending = false;
  private delivered = false;
  private rejectCancelWaits: (err: CancelledError) => void = () => {};
  /** What a wait races, made by the first wait after each delivered cancellation: rejected by requestCancel(). */
  private cancelWaits: Promise<never> | undefined;

  constructor(
    readonly id: string,
    readonly attempt: number,
    readonly durable: boolean,
    private readonly sink: JournalSink | undefined,
    history: History,
    readonly inbox: Inbox,
    /** Told when the session starts or stops waiting on a timer or an event (status `waiting`). */
    private readonly onWaiting: (waiting: boolean) => void = () => {},
    private readonly replayOnly?: ReplayOnly,
  ) {
    this.replay = new Replay(history, (err) => this.markFatal(err));
    for (const r of historyRead(history).records) {
      if (r.t === "retry") this.retries.set(r.seq, { failed: r.attempt, next: r.next });
      else if (r.t === "cancel") this.cancelledAt ??= r.seq;
    }
    if (durable) durableSessions.open++;
  }

  private get parked(): Promise<never> {
    if (this.parkedWaits === undefined) {
      this.parkedWaits = new Promise<never>((_, reject) => (this.rejectWaits = reject));
      this.parkedWaits.catch(() => {});
    }
    return this.parkedWaits;
  }

  private get cancelWait(): Promise<never> {
    if (this.cancelWaits === undefined) {
      this.cancelWaits = new Promise<never>((_, reject) => (this.rejectCancelWaits = reject));
      this.cancelWaits.catch(() => {});
    }
    return this.cancelWaits;
  }

  /**
   * A cancellation: CancelledError at the next boundary past the journal (a wait under way is woken with it now).
   * Delivered once, and journaled where, so a replay throws it at the same call; later calls (a `finally` that
   * cleans up) run as usual. A non-durable session's calls other than activity() functions, sleep and nextEvent
   * pass through without looking, so it needs the stubs to look while one is pending.
   */
  requestCancel(): void {
    if (this.closed || this.cancelPending || this.delivered || this.cancelledAt !== undefined) return;
    this.cancelPending = true;
    if (!this.durable) durableSessions.open++;
    if (this.waiters > 0) this.rejectCancelWaits(this.deliverCancel(this.seq));
  }

  /** True once the cancellation was delivered, live or in the replayed journal: the session ends `cancelled`. */
  get cancelled(): boolean {
    return this.delivered || this.cancelledAt !== undefined;
  }

  private deliverCancel(seq: number): CancelledError {
    this.cancelPending = false;
    this.delivered = true;
    if (!this.durable) durableSessions.open--;
    else this.appendSync({ t: "cancel", seq, at: Date.now() });
    return new CancelledError(this.id);
  }

  /** A boundary that takes no sequence number (a non-durable session's activity call). */
  boundary(): void {
    if (this.cancelPending) throw this.deliverCancel(this.seq);
  }

  /** The attempts of activity #seq that failed before a crash, and when the next may run. */
  failedAttempts(seq: number): { failed: number; next: number } | undefined {
    return this.retries.get(seq);
  }

  /**
   * Shutdown: the session stops at its next boundary (a new activity, sleep or nextEvent, or a wait already under
   * way) with SessionParkedError, which is fatal, so catching it does not let the handler go on. Activities
   * already running are not interrupted: they finish and are journaled (see `settled`).
   */
  park(): void {
    if (this.parkError) return;
    this.parkError = new SessionParkedError(this.id);
    this.rejectWaits(this.parkError);
  }

  /** True once the handler was stopped by park(): the session must be left unfinished, not ended. */
  get wasParked(): boolean {
    return this.parkError !== undefined && this.fatalError?.error === this.parkError;
  }

  private stopIfParked(): void {
    if (!this.parkError) return;
    this.markFatal(this.parkError);
    throw this.parkError;
  }

  private closed = false;

  /** The session is over: its stubs need not be looked up any more. */
  close(): void {
    if ((this.durable || this.cancelPending) && !this.closed) durableSessions.open--;
    this.closed = true;
    this.replay.close();
  }

  nextSeq(): number {
    this.throwIfFatal();
    this.stopIfParked();
    const seq = ++this.seq;
    if (seq === this.cancelledAt) {
      // Its recorded entry (a sleep's timer, say) is handed back in its turn, so later outcomes are not held up.
      void this.replay.turn(seq);
      throw new CancelledError(this.id);
    }
    if (this.cancelPending && seq > this.replay.lastSeq) throw this.deliverCancel(seq);
    return seq;
  }

  /** True while the handler is still being answered from the journal. */
  get replaying(): boolean {
    return this.replay.replaying(this.seq);
  }

  /** The recorded entry for `seq` (undefined past the journal's end); a different call is fatal. */
  recorded<T extends SeqRecord["t"]>(seq: number, t: T, site: CallSite): Extract<SeqRecord, { t: T }> | undefined {
    try {
      const rec = this.replay.entry(seq, t, site);
      if (rec === undefined && this.replayOnly) throw this.replayOnly.pastJournal(seq, describeCall(t, site));
      return rec;
    } catch (err) {
      this.markFatal(err);
      throw err;
    }
  }

  /**
   * The entry recorded for the next call, unchecked, without taking its number; undefined past the journal, where a
   * replay-only session stops (its `pastJournal` error, thrown for `called`).
   */
  peekNext(called: string): SeqRecord | undefined {
    this.throwIfFatal();
    const rec = this.replay.peek(this.seq + 1);
    if (rec === undefined && this.replayOnly && !this.replayOnly.ended) {
      this.guard(() => {
        throw this.replayOnly!.pastJournal(this.seq + 1, called);
      });
    }
    return rec;
  }

  /** A replay-only session of a finished journal: the code it ran called nothing more. */
  get journalEnded(): boolean {
    return this.replayOnly?.ended === true;
  }

  /** False in a replay-only session: a recorded timer is answered at once, whatever its deadline. */
  get waitsTimers(): boolean {
    return this.replayOnly === undefined;
  }

  /** Resolves when the outcomes recorded as completing before `seq`'s have been handed back. */
  turn(seq: number): Promise<void> {
    return this.replay.turn(seq);
  }

  /** An async activity's turn when it may settle at once (Replay.handBackNow). */
  handBackNow(seq: number): boolean {
    return this.replay.handBackNow(seq);
  }

  append(record: JournalRecord): Promise<void> {
    const written = this.guard(() => this.sink!.append(record)).catch((err) => {
      this.markFatal(err);
      throw err;
    });
    // A timer or event record being written counts as in flight too: a parked session waits for it.
    this.inflight.add(written);
    const done = () => this.inflight.delete(written);
    written.then(done, done);
    return written;
  }

  /**
   * Appends the record of a live async activity, whose own promise is in `inflight` already (so this one is not
   * tracked again); a failure is fatal, as in append(), marked before `done` is told of it.
   */
  appendActivity(record: JournalRecord): Promise<void> {
    return new Promise((resolve, reject) => this.journalActivity(record, { resolve, reject }));
  }

  /**
   * appendActivity() telling `done` instead of returning a promise. A store that settles waiters itself
   * (`appendThen`) tells it in the step its sync returned, so the handler goes on a promise job after the sync.
   */
  journalActivity(record: JournalRecord, done: Waiter): void {
    const fail = (err: unknown) => {
      this.markFatal(err);
      done.reject(err);
    };
    // `done` may be an object whose methods need it as `this` (stub.ts, LiveOutcome).
    const resolve = () => done.resolve();
    try {
      if (this.sink!.appendThen) this.sink!.appendThen(record, { resolve, reject: fail });
      else this.sink!.append(record).then(resolve, fail);
    } catch (err) {
      fail(err);
    }
  }

  appendSync(record: JournalRecord): void {
    this.guard(() => this.sink!.appendSync(record));
  }

  /** Runs `make` (which builds or writes a journal entry); what it throws is fatal to the session. */
  guard<T>(make: () => T): T {
    try {
      return make();
    } catch (err) {
      this.markFatal(err);
      throw err;
    }
  }

  markFatal(error: unknown): void {
    this.fatalError ??= { error };
  }

  /** The first fatal error, if any: the session fails with it whatever the handler did. */
  get fatal(): { error: unknown } | undefined {
    return this.fatalError;
  }

  private throwIfFatal(): void {
    if (this.fatalError) throw this.fatalError.error;
  }

  /**
   * Runs `wait` with the session marked as waiting while it is pending. A cancellation wakes it (journaled at the
   * latest call, the one that waits when the handler awaits its calls one by one).
   */
  async waiting<T>(wait: () => Promise<T>): Promise<T> {
    this.stopIfParked();
    this.boundary();
    if (this.waiters++ === 0) this.onWaiting(true);
    try {
      return await Promise.race([wait(), this.parked, this.cancelWait]);
    } catch (err) {
      if (err === this.parkError) this.markFatal(err);
      if (err instanceof CancelledError) this.cancelWaits = undefined;
      throw err;
    } finally {
      // A parked session keeps its `waiting` status: that is what it was doing when the runner stopped.
      if (--this.waiters === 0 && !this.wasParked) this.onWaiting(false);
    }
  }

  /** Waits until every live activity started so far is journaled (or failed to be). */
  async settled(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** After the handler returned: recorded entries the code never asked for mean the code changed. */
  assertFullyReplayed(): void {
    this.guard(() => this.replay.assertConsumed(this.seq));
  }
}
