/**
 * The stub module rewritten code calls (docs/stub-contract.md). Outside a session, in a non-durable session and
 * inside a running activity every call passes straight through: while no durable session is open that path is
 * one property read, else one context lookup (`currentFrame`: an AsyncLocalStorage lookup, remembered per async id).
 */
import { currentFrame, durableSessions, storage, type Frame } from "./context";
import { holdsResponse, isPlainData, project, prepare } from "./codec";
import { formatFinding } from "../errors";
import type { SessionState, Waiter } from "./session-state";
import type { JournalRecord } from "./journal";
import type { ActivityRecord } from "./replay";
import { describeSite, nativeCallee, sites, type Site } from "./site";
import { isIterableResult, recordedShape, replayableIterable, shapeOf, shapeRecord } from "./iteration";
import { retryPolicy, isThenable, type ActivityOptions } from "./retry";
import { retryingCall } from "./retry-call";

export { site, sites } from "./site";
export { registerErrorClasses as errorClasses } from "./error-class";
export type { Site } from "./site";
export type { ActivityOptions } from "./retry";

/**
 * 3: `table` (a file's sites as one object whose `call` and `nondet` name a site by its index). Modules of ABI 2
 * (`sites`, destructured into one constant per site) and ABI 1 (`site` per site) still run.
 */
export const STUB_ABI = 3;

const ACTIVITY = Symbol.for("akts.activity");
const NO_ACTIVITY = Symbol.for("akts.noActivity");

type Tagged = Function & { [ACTIVITY]?: ActivityOptions; [NO_ACTIVITY]?: true };

/** `tpl\`a${x}b\`` → `[strings, x]`: the argument list of a tagged template, template object identity kept. */
export function tpl(strings: TemplateStringsArray, ...values: unknown[]): unknown[] {
  return [strings, ...values];
}

export function call(s: Site, thisArg: unknown, fn: unknown, args: unknown[]): unknown {
  if (typeof fn !== "function") throw notCallable(s);
  if (durableSessions.open === 0) return fn.apply(thisArg, args);
  const frame = currentFrame();
  if (frame === undefined || frame.inActivity || (fn as Tagged)[NO_ACTIVITY]) return fn.apply(thisArg, args);
  // Looked up here only while a cancellation is pending (SessionState.requestCancel): a boundary.
  if (!frame.session.durable) {
    frame.session.boundary();
    return fn.apply(thisArg, args);
  }
  return durableCall(frame.session, s, fn, thisArg, args, (fn as Tagged)[ACTIVITY]);
}

/**
 * A compiled file's sites, read from its table once at module load (`sites`). Rewritten code calls
 * `__akts_sites.call(i, thisArg, fn, args)` and `__akts_sites.nondet(i, thunk)`, which are `call` and `nondet` for
 * the file's `i`th site: the file declares one name instead of one per site.
 */
export class SiteTable {
  readonly sites: readonly Site[];

  constructor(file: string, table: string) {
    this.sites = sites(file, table);
  }

  call(i: number, thisArg: unknown, fn: unknown, args: unknown[]): unknown {
    return call(this.sites[i], thisArg, fn, args);
  }

  nondet<T>(i: number, thunk: () => T): T {
    return nondet(this.sites[i], thunk);
  }
}

export function table(file: string, text: string): SiteTable {
  return new SiteTable(file, text);
}

/** The TypeError a native call of a non-function throws. */
function notCallable(s: Site): TypeError {
  return new TypeError(`${nativeCallee(s.callee)} is not a function`);
}

export function nondet<T>(s: Site, thunk: () => T): T {
  if (durableSessions.open === 0) return thunk();
  const frame = currentFrame();
  if (frame === undefined || frame.inActivity || !frame.session.durable) return thunk();
  return durableCall(frame.session, s, thunk, undefined, [], undefined) as T;
}

/**
 * Runs one activity, `fn.apply(thisArg, args)`, in a durable session: answered from the journal when recorded,
 * else run live and journaled. A replay makes nothing for the call it answers. A result that is iterated
 * (iteration.ts) is journaled by its shape, and each step of its iteration as an activity of its own.
 */
export function durableCall(session: SessionState, s: Site, fn: Function, thisArg: unknown, args: readonly unknown[], options: ActivityOptions | undefined): unknown {
  const seq = session.nextSeq();
  const rec = session.recorded(seq, "activity", s);
  // A replayed call makes neither the frame nor the closure that running it live needs (most calls of a replay).
  if (rec !== undefined) {
    // In its turn (replay.ts), which keeps it in its recorded order with the others: settled at once when it may be
    // (calls awaited one by one), else one microtask after the turn.
    if (rec.async) {
      if (session.handBackNow(seq)) return rec.ok ? Promise.resolve(rec.value) : Promise.reject(rec.error);
      return session.turn(seq).then(() => replayed(rec));
    }
    const shape = rec.ok ? recordedShape(rec.value) : undefined;
    if (shape === undefined) return replayed(rec);
    const frame: Frame = { session, inActivity: true, seq };
    return replayableIterable(session, s, shape, undefined, args, (a) => storage.run(frame, () => fn.apply(thisArg, a)), journaledStep);
  }
  const run = () => fn.apply(thisArg, args);
  const frame: Frame = { session, inActivity: true, seq };
  const start = Date.now();
  const policy = retryPolicy(options);
  if (policy !== undefined) return retryingCall(session, s, seq, () => storage.run(frame, run), policy, start);
  let result: unknown;
  try {
    result = storage.run(frame, run);
  } catch (error) {
    session.appendSync(session.guard(() => activityRecord(session, s, seq, false, error, start, false)));
    throw error;
  }
  if (isIterableResult(result)) {
    const shape = shapeOf(result as object);
    session.appendSync(session.guard(() => activityRecord(session, s, seq, true, shapeRecord(shape), start, false)));
    return replayableIterable(session, s, shape, result as object, args, (a) => fn.apply(thisArg, a), journaledStep);
  }
  if (!isThenable(result)) {
    session.appendSync(session.guard(() => activityRecord(session, s, seq, true, result, start, false)));
    return result;
  }
  // Counted in flight as tracked() counts, but let go by journalSettled itself right before it settles: tracked()'s
  // `then` would put a promise of its own between the journal's sync and the handler.
  const settling: Promise<unknown> = journalSettled(session, s, seq, result, start, () => session.inflight.delete(settling));
  session.inflight.add(settling);
  return settling;
}

/** A live async activity, counted in flight until its outcome is journaled. */
export function tracked(session: SessionState, settling: Promise<unknown>): Promise<unknown> {
  session.inflight.add(settling);
  const done = () => session.inflight.delete(settling);
  settling.then(done, done);
  return settling;
}

/** One step of an iterated result: an activity of its own, with no retries. */
function journaledStep(session: SessionState, s: Site, fn: () => unknown): unknown {
  return durableCall(session, s, fn, undefined, [], undefined);
}

function replayed(rec: ActivityRecord): unknown {
  if (rec.ok) return rec.value;
  throw rec.error;
}

/**
 * Awaits a live async activity's outcome (`pending`: its promise, or the value or a rejection standing for it) and
 * journals it before returning (or throwing) it; `done` runs right before. The journal write settles the returned
 * promise itself (SessionState.journalActivity): after its sync, the handler goes on one promise job later, and
 * each promise more on the way would cost the step a job and its hooks (AsyncLocalStorage's, in every promise).
 */
export function journalSettled(session: SessionState, s: Site, seq: number, pending: unknown, start: number, done?: () => void): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const outcome = new LiveOutcome(session, s, seq, start, done, resolve, reject);
    Promise.resolve(pending).then(
      (value) => outcome.settled(true, value),
      (error) => outcome.settled(false, error),
    );
  });
}

/**
 * A live async activity's outcome on its way to the journal (journalSettled): one object holding what each step
 * needs, where a closure per step would each make its own, and the journal write's waiter itself.
 */
class LiveOutcome implements Waiter {
  private ok = true;
  private value: unknown;

  constructor(
    private readonly session: SessionState,
    private readonly s: Site,
    private readonly seq: number,
    private readonly start: number,
    private readonly done: (() => void) | undefined,
    private readonly resolveCall: (value: unknown) => void,
    private readonly rejectCall: (err: unknown) => void,
  ) {}

  /**
   * Plain data (the usual result) has no body to buffer and is journaled as it is: one walk tells, and no extra
   * promise. A failure may hold a Response too (an HTTP client's error keeps the response it failed on).
   */
  settled(ok: boolean, value: unknown): void {
    this.ok = ok;
    this.value = value;
    if (isPlainData(value)) return this.journal(value, true);
    let buffer: boolean;
    try {
      buffer = holdsResponse(value);
    } catch (err) {
      return this.reject(err);
    }
    if (buffer)
      prepare(value).then(
        (stored) => this.journal(stored, false),
        (err) => this.reject(err),
      );
    else this.journal(value, false);
  }

  private journal(stored: unknown, plain: boolean): void {
    let record: JournalRecord;
    try {
      record = this.session.guard(() => activityRecord(this.session, this.s, this.seq, this.ok, stored, this.start, true, plain));
    } catch (err) {
      return this.reject(err);
    }
    this.session.journalActivity(record, this);
  }

  /** Journaled: the call settles as the activity did. */
  resolve(): void {
    this.done?.();
    if (this.ok) this.resolveCall(this.value);
    else this.rejectCall(this.value);
  }

  /** Not journaled: the call fails with why. */
  reject(err: unknown): void {
    this.done?.();
    this.rejectCall(err);
  }
}

/** Sites whose dropped parts were reported (AKTS2003): once per site per process, not per session. */
const reportedDrops = new Set<string>();

/** `plain`: the outcome is known to be plain data (codec.ts, `isPlainData`), which the journal keeps as it is. */
export function activityRecord(session: SessionState, s: Site, seq: number, ok: boolean, outcome: unknown, start: number, async: boolean, plain = false): JournalRecord {
  const value = plain ? outcome : projected(outcome, s);
  // Two literals in the key order of the codec's shared structures, not a spread: no intermediate object.
  return ok
    ? { t: "activity", seq, async, end: Date.now(), site: s.id, callee: s.callee, ok, start, value }
    : { t: "activity", seq, async, end: Date.now(), site: s.id, callee: s.callee, ok, start, error: value };
}

/** The data projection of an outcome, its dropped parts reported once per site. */
function projected(outcome: unknown, s: Site): unknown {
  const { value, dropped } = project(outcome, s);
  if (dropped.length > 0 && !reportedDrops.has(s.id)) {
    reportedDrops.add(s.id);
    process.stderr.write(
      formatFinding({
        code: "AKTS2003",
        severity: "info",
        message: `${describeSite(s)}: the journal keeps a data projection of the result; dropped ${dropped.join(", ")}`,
      }) + "\n",
    );
  }
  return value;
}
