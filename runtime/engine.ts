/**
 * Runs sessions. A session is one run of a trigger's handler for one event.
 * - Durable: every activity outcome is journaled; resuming replays the handler against the journal.
 * - Non-durable: nothing but attempts and the outcome is journaled; resuming reruns from the start, up to
 *   max_attempts. A user exception ends a session as failed in both modes, with no rerun.
 */
import { storage } from "./context";
import { holdsResponse, isPlainData, prepare, project } from "./codec";
import { SessionState } from "./session-state";
import { historyRead, type History } from "./replay";
import { newSessionId, type CreateOptions, type SessionLease, type SessionStatus, type Store } from "./store/store";
import { recordedFingerprint, type HeaderRecord, type Mode } from "./journal";
import { AktsError, isAktsError } from "../errors";
import { CancelledError, JournalCorruptError, NondeterminismError } from "./errors";
import type { SessionOutcome } from "./outcome";
import { childEvent } from "./start";
import { CancelWatch } from "./cancel-watch";

export type Handler = (event: unknown) => unknown;

export interface TriggerRef {
  readonly project: string;
  readonly trigger: string;
  /** `file.ts:export`, as the manifest says. */
  readonly handler: string;
  readonly mode: Mode;
  readonly maxAttempts: number;
  /** The replay fingerprint of the code that runs (docs/versioning.md), recorded in each new session's header. */
  readonly codeHash: string;
  readonly manifest?: string;
}

export interface Outcome {
  readonly sessionId: string;
  readonly status: SessionStatus;
  readonly result?: unknown;
  readonly error?: { name: string; message: string; code?: string };
  /** Stopped by `park()`: the session is unfinished in the store (status running or waiting). */
  readonly parked?: boolean;
  /** What `httpOutcome()`/`outcome()` set, live or replayed, when the handler called one. */
  readonly outcome?: SessionOutcome;
}

export class GaveUpError extends AktsError {
  constructor(attempts: number) {
    super("AKTS6002", `gave up after ${attempts} attempts that ended in an infrastructure failure (max_attempts)`);
  }
}

/**
 * Told how a session ends before its end record is written; what it returns is called once that record is durable,
 * in the step that learned it, before the engine's promises resolve: a sync caller's reply, built before the sync, is
 * then all that follows it. It must not throw.
 */
export type OnEnd = (outcome: Outcome) => () => void;

/** A session in the store, leased to this runner and not started: `run` runs it to its end. */
export interface CreatedSession {
  readonly sessionId: string;
  /**
   * `answer` gets the outcome a live `httpOutcome()`/`outcome()` sets, while the session runs on; `ending` is told of
   * its end (OnEnd).
   */
  run(handler: Handler, answer?: (outcome: SessionOutcome) => void, ending?: OnEnd): Promise<Outcome>;
  /** Leaves the session unfinished, its lease free, for a runner's takeover or `akts resume`. */
  leave(): Promise<void>;
  /** Resolves once the session's creation is durable (it is already, unless it was created with `deferSync`). */
  durable(): Promise<void>;
}

export interface EngineOptions {
  readonly store: Store;
  /** Names this runner in leases. */
  readonly runner?: string;
  /**
   * The handler of a session started by `start()` (its `handler` is the `file.ts:export` it was given). Without
   * it, such sessions are left unfinished for a runner's takeover.
   */
  readonly childHandler?: (ref: TriggerRef) => Promise<Handler>;
  /** Told of each child run here, as it starts: its outcome is the caller's to follow. */
  readonly onChild?: (running: Promise<Outcome>) => void;
}

export class Engine {
  readonly store: Store;
  readonly runner: string;
  /** Sessions whose handler is running in this process. */
  private readonly live = new Set<SessionState>();
  private parking = false;
  private readonly childHandler: EngineOptions["childHandler"];
  private readonly onChild: NonNullable<EngineOptions["onChild"]>;
  private readonly cancels: CancelWatch;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.runner = options.runner ?? `runner-${process.pid}`;
    this.childHandler = options.childHandler;
    this.onChild = options.onChild ?? ((running) => void running.catch(() => {}));
    this.cancels = new CancelWatch(options.store, this.live);
  }

  /** Starts a new session and runs it to its end (or to the process's death). */
  async start(trigger: TriggerRef, handler: Handler, event: unknown, sessionId = newSessionId()): Promise<Outcome> {
    return (await this.create(trigger, event, sessionId)).run(handler);
  }

  /**
   * Records a new session in the store (its header and event on disk, as the store's fsync policy says) and leases
   * it to this runner, without running it yet: a server acknowledges the session in between. With `deferSync`
   * (nobody is told of the session before its end or `durable()`) the header's sync is left to the session's next
   * synced write.
   */
  async create(trigger: TriggerRef, event: unknown, sessionId = newSessionId(), origin?: Pick<HeaderRecord, "parent" | "memo">, options: CreateOptions = {}): Promise<CreatedSession> {
    const header: HeaderRecord = {
      t: "header",
      v: 1,
      sessionId,
      project: trigger.project,
      trigger: trigger.trigger,
      handler: trigger.handler,
      mode: trigger.mode,
      fingerprint: trigger.codeHash,
      manifest: trigger.manifest,
      // Plain data is kept as it is, after one walk. Awaited only when it holds a Response to read: a plain event
      // costs no turn of the event loop.
      event: isPlainData(event) ? event : project(holdsResponse(event) ? await prepare(event) : event, { callee: "event", id: trigger.handler }).value,
      createdAt: Date.now(),
      ...origin,
    };
    // The first attempt is journaled with the header: one write and one sync for both.
    const attempt = this.parking ? undefined : ({ t: "attempt", attempt: 1, at: header.createdAt } as const);
    const lease = await this.store.create(header, this.runner, attempt, options);
    return {
      sessionId,
      // Nobody can have asked to cancel a session told to nobody yet: its start asks the store nothing.
      run: (handler, answer, ending) => this.execute(lease, header, [], 1, handler, trigger, attempt !== undefined, answer, !options.deferSync, ending),
      durable: () => lease.durable?.() ?? Promise.resolve(),
      leave: () => lease.release(),
    };
  }

  /** Creates a child session unless it exists, and runs it here when this engine knows how (`childHandler`). */
  private async startChild(parent: HeaderRecord, trigger: TriggerRef, childId: string, loc: string, data: unknown, memo?: Record<string, string>): Promise<void> {
    if (await this.store.get(childId)) return;
    const ref: TriggerRef = { ...trigger, handler: loc };
    const created = await this.create(ref, childEvent(data, childId), childId, { parent: parent.sessionId, ...(memo === undefined ? {} : { memo: { ...memo } }) });
    if (!this.childHandler || this.parking) return created.leave();
    this.onChild(
      this.childHandler(ref).then(
        (handler) => created.run(handler),
        async (err) => {
          await created.leave();
          throw err;
        },
      ),
    );
  }

  /**
   * Takes over an unfinished session and finishes it: durable sessions replay, non-durable ones rerun.
   * Returns undefined when another live runner holds it.
   */
  async resume(sessionId: string, resolve: (header: HeaderRecord) => Promise<{ trigger: TriggerRef; handler: Handler }>): Promise<Outcome | undefined> {
    let lease: SessionLease | undefined;
    try {
      lease = await this.store.claim(sessionId, this.runner);
    } catch (err) {
      // The store has marked the session failed (a damaged journal); report it like any failed session.
      if (err instanceof JournalCorruptError) return { sessionId, status: "failed", error: describeError(err) };
      throw err;
    }
    if (!lease) return undefined;
    let header: HeaderRecord | undefined;
    try {
      const { records, activities, notices } = lease.claimed ?? (await this.store.read(sessionId));
      for (const notice of notices) process.stderr.write(`akts: ${notice}\n`);
      header = records[0]?.t === "header" ? records[0] : undefined;
      if (!header) throw new AktsError("AKTS4001", `session ${sessionId}: journal has no header`);
      const attempts = records.filter((r) => r.t === "attempt").length;
      const { trigger, handler } = await resolve(header);
      if (header.mode === "nondurable" && attempts >= trigger.maxAttempts) {
        return await this.finish(lease, header.sessionId, attempts, { ok: false, error: new GaveUpError(attempts) });
      }
      if (header.mode === "nondurable") await new Promise((r) => setTimeout(r, rerunBackoff(attempts)));
      const history = header.mode === "durable" ? { records, activities } : [];
      return await this.execute(lease, header, history, attempts + 1, handler, trigger);
    } catch (err) {
      return await this.finish(lease, sessionId, 0, { ok: false, error: err });
    }
  }

  /**
   * Shutdown without losing work: every session, running or started from now on, stops at its next activity
   * boundary and stays unfinished in the store (SessionState.park); activities already running finish and are
   * journaled. Resolves once every session has stopped or is durable and quiet (nothing in flight: its journal
   * holds everything it did), or after `graceMs`. A non-durable session cannot stop between its external calls:
   * it is waited for, up to the grace period, and otherwise rerun by the next runner.
   */
  async park(graceMs: number): Promise<{ quiet: boolean }> {
    this.parking = true;
    for (const state of this.live) state.park();
    const deadline = Date.now() + graceMs;
    const quiet = () => [...this.live].every((s) => s.durable && s.inflight.size === 0);
    while (!quiet() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return { quiet: quiet() };
  }

  private async execute(
    lease: SessionLease,
    header: HeaderRecord,
    history: History,
    attempt: number,
    handler: Handler,
    trigger: TriggerRef,
    attemptJournaled = false,
    answer?: (outcome: SessionOutcome) => void,
    askCancel = true,
    ending?: OnEnd,
  ): Promise<Outcome> {
    const durable = header.mode === "durable";
    // Parked before it began: no attempt is recorded now, so a non-durable session loses none of its runs.
    if (this.parking) return this.leaveUnfinished(lease);
    // Awaited, not synced in place: recovering many sessions at once shares the syncs instead of queueing them. A
    // session created with its first attempt is running with that attempt already: no store would write the status.
    try {
      if (!attemptJournaled) {
        await lease.append({ t: "attempt", attempt, at: Date.now() });
        await lease.setStatus("running", { attempts: attempt });
      }
    } catch (err) {
      if (storeUnreachable(err)) return this.leaveUnfinished(lease);
      throw err;
    }
    const consumed = new Set<string>();
    for (const r of historyRead(history).records) if (r.t === "event" && r.id !== undefined) consumed.add(r.id);
    const state = new SessionState(
      header.sessionId,
      attempt,
      durable,
      durable ? lease : undefined,
      history,
      this.store.inbox(header.sessionId, consumed),
      (waiting) => void lease.setStatus(waiting ? "waiting" : "running").catch(() => {}),
    );
    if (answer) state.answer = answer;
    state.env = {
      store: this.store,
      project: header.project,
      consumed,
      startChild: (childId, loc, data, memo) => this.startChild(header, trigger, childId, loc, data, memo),
    };
    this.live.add(state);
    if (this.parking) state.park();
    // A resumed session may have been cancelled while nobody ran it: asked before it runs, so it stops at its first
    // boundary past the journal. A new one is asked alongside (its start pays no extra store round trip).
    const asked = this.cancels.watch(state, askCancel);
    if (!attemptJournaled) await asked;
    let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
    try {
      const value = await storage.run({ session: state, inActivity: false }, () => handler(header.event));
      await state.settled();
      if (durable) state.assertFullyReplayed();
      outcome = { ok: true, value: isPlainData(value) ? value : project(holdsResponse(value) ? await prepare(value) : value, { callee: "handler", id: trigger.handler }).value };
    } catch (error) {
      await state.settled();
      outcome = { ok: false, error };
    } finally {
      state.close();
      this.live.delete(state);
    }
    // A store that stayed unreachable past its retries is not the session's fault: it stays unfinished, and a
    // runner's takeover finishes it once the store is back.
    if (state.wasParked || storeUnreachable(state.fatal?.error)) return this.leaveUnfinished(lease);
    // A broken journal (divergence, unserializable result, failed write) fails the session even if caught.
    if (state.fatal) outcome = { ok: false, error: withCodeHashes(state.fatal.error, recordedFingerprint(header), trigger.codeHash) };
    // A delivered cancellation is final: what the handler did after catching it does not change how it ends.
    const told = { told: state.outcome, ending };
    return !state.fatal && state.cancelled
      ? this.finish(lease, header.sessionId, attempt, { ok: false, error: outcome.ok ? new CancelledError(header.sessionId) : outcome.error }, { ...told, cancelled: true })
      : this.finish(lease, header.sessionId, attempt, outcome, told);
  }

  private async leaveUnfinished(lease: SessionLease): Promise<Outcome> {
    // An unreachable store may not take the release either: the lease then expires.
    await lease.release().catch((err) => {
      if (!storeUnreachable(err)) throw err;
    });
    return { sessionId: lease.id, status: "running", parked: true };
  }

  /** `told`: what the handler's httpOutcome()/outcome() set, kept in the outcome; `ending`: told of the end (OnEnd). */
  private async finish(
    lease: SessionLease,
    sessionId: string,
    attempts: number,
    outcome: { ok: true; value: unknown } | { ok: false; error: unknown },
    how: { cancelled?: boolean; told?: SessionOutcome; ending?: OnEnd } = {},
  ): Promise<Outcome> {
    const withTold = (ended: Outcome): Outcome => (how.told ? { ...ended, outcome: how.told } : ended);
    try {
      if (outcome.ok) {
        const ended = withTold({ sessionId, status: "completed", result: outcome.value });
        await lease.finish({ t: "end", ok: true, result: outcome.value, at: Date.now() }, "completed", attempts ? { attempts } : {}, how.ending?.(ended));
        return ended;
      }
      const error = describeError(outcome.error);
      const status = how.cancelled ? "cancelled" : "failed";
      const record = { t: "end", ok: false, error: project(outcome.error, { callee: "handler", id: sessionId }).value, at: Date.now() } as const;
      const ended = withTold({ sessionId, status, error });
      await lease.finish(how.cancelled ? { ...record, cancelled: true } : record, status, { ...(attempts ? { attempts } : {}), error: error.message, errorCode: error.code }, how.ending?.(ended));
      return ended;
    } finally {
      await lease.release();
    }
  }
}

function storeUnreachable(err: unknown): boolean {
  // AKTS4030: the store lost this runner's last frames; a takeover replays the journal the store kept.
  return isAktsError(err) && (err.code === "AKTS4004" || err.code === "AKTS4030");
}

/** Non-durable reruns back off: 100 ms after the first failure, doubling, at most 5 s. */
export function rerunBackoff(failedAttempts: number): number {
  return Math.min(100 * 2 ** (failedAttempts - 1), 5000);
}

/** A divergence says whether the code changed since the session started; other errors are left as they are. */
function withCodeHashes(error: unknown, recorded: string, current: string): unknown {
  return error instanceof NondeterminismError ? error.withCodeHashes(recorded, current) : error;
}

function describeError(err: unknown): { name: string; message: string; code?: string } {
  if (isAktsError(err)) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}
