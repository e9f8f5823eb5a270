/** The handler API: `import { activity, noActivity, sleep, nextEvent, session } from "akts"`. */
import { durableSessions, storage, type Frame } from "./context";
import { durableCall } from "./stub";
import { retryInProcess, retryPolicy, type ActivityOptions } from "./retry";
import { site } from "./site";
import { EventTimeoutError } from "./errors";
import type { SessionState } from "./session-state";
import { SLEEP_SITE, eventSite, timeoutSite } from "./replay";
import type { Event } from "./event";

const ACTIVITY = Symbol.for("akts.activity");
const NO_ACTIVITY = Symbol.for("akts.noActivity");

type AnyFn = (...args: any[]) => any;

interface DecoratorContext {
  kind: string;
  name: string | symbol;
}

/**
 * Marks `fn` as one activity: its calls are journaled as a unit and the external calls inside it are not.
 * Also a TC39 method decorator (`@activity`). Compiled call sites go through the stub; a call from code that
 * was not rewritten journals itself under a site named after the function.
 */
export function activity<F extends AnyFn>(fn: F, options?: ActivityOptions | DecoratorContext): F {
  const opts: ActivityOptions = options && "kind" in options ? {} : (options ?? {});
  const name = options && "kind" in options ? String(options.name) : fn.name || "anonymous";
  const fallbackSite = site(`<activity>`, 0, 0, name, "marked");
  // Checked here, so bad options fail where the activity is defined rather than at its first call.
  const policy = retryPolicy(opts);
  const wrapped = function (this: unknown, ...args: unknown[]) {
    const frame = durableSessions.open === 0 && policy === undefined ? undefined : storage.getStore();
    if (frame === undefined || frame.inActivity) return fn.apply(this, args);
    if (frame.session.durable) return durableCall(frame.session, fallbackSite, fn, this, args, opts);
    // Non-durable: a boundary for cancellation, and retries in this process with nothing journaled.
    const s = frame.session;
    s.boundary();
    if (policy === undefined) return fn.apply(this, args);
    return retryInProcess(policy, name, () => fn.apply(this, args), (ms) => s.waiting(() => wait(ms)));
  } as unknown as F & { [ACTIVITY]: ActivityOptions };
  Object.defineProperty(wrapped, "name", { value: fn.name });
  wrapped[ACTIVITY] = opts;
  return wrapped;
}

/** Opts `fn` out: its calls are never journaled and run again on replay (e.g. making a client). */
export function noActivity<F extends AnyFn>(fn: F): F {
  (fn as F & { [NO_ACTIVITY]?: true })[NO_ACTIVITY] = true;
  return fn;
}

export interface SessionView {
  readonly id: string;
  readonly attempt: number;
  readonly durable: boolean;
  /** True while the handler is still being answered from the journal. */
  readonly replaying: boolean;
  /** Inside an activity: `sessionId:seq`, stable across replays, for dedup with external APIs. */
  readonly idempotencyKey: string | undefined;
}

/** The running session, or undefined outside one. */
export function session(): SessionView | undefined {
  const frame = storage.getStore();
  if (!frame) return undefined;
  const s = frame.session;
  return {
    id: s.id,
    attempt: s.attempt,
    durable: s.durable,
    replaying: s.replaying,
    idempotencyKey: frame.seq === undefined ? undefined : `${s.id}:${frame.seq}`,
  };
}

/** A durable timer: its deadline is journaled, so after a crash only the remaining time is waited. */
export async function sleep(ms: number): Promise<void> {
  const frame = storage.getStore();
  if (!frame || frame.inActivity) return wait(ms);
  const s = frame.session;
  if (!s.durable) return s.waiting(() => wait(ms));
  const seq = s.nextSeq();
  const recorded = s.recorded(seq, "timer", SLEEP_SITE);
  let deadline: number;
  if (recorded) {
    deadline = recorded.deadline;
    await s.turn(seq);
  } else {
    deadline = Date.now() + ms;
    await s.append({ t: "timer", seq, site: SLEEP_SITE.id, deadline });
  }
  // A deadline already past resolves at once: a replayed sleep that fired before later outcomes must not lag them.
  if (deadline > Date.now() && s.waitsTimers) await s.waiting(() => waitUntil(deadline));
}

/** Until the clock reaches `deadline`: a timer runs on the loop's cached monotonic time and may fire 1 ms early. */
async function waitUntil(deadline: number): Promise<void> {
  for (let left = deadline - Date.now(); left > 0; left = deadline - Date.now()) await wait(left);
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

export interface NextEventOptions {
  /** Milliseconds to wait; the deadline is journaled, so a crash does not restart the clock. */
  readonly timeout?: number;
  /** Return the whole event `{ data, event_id, event_type: name, session_id }` instead of its data (AutoKitteh's `full=True`). */
  readonly full?: boolean;
}

/**
 * Waits for an event named `name` delivered to this session (`akts event <session> <name>`, or
 * `Store.deliver`) and returns its data, or with `full` the whole event. The event is journaled when received,
 * so a replay gets it from the journal. Throws EventTimeoutError (AKTS6003) once the timeout passes; without a
 * timeout it waits indefinitely.
 */
export async function nextEvent<T = unknown>(name: string, options: NextEventOptions & { readonly full: true }): Promise<Event<T>>;
export async function nextEvent<T = unknown>(name: string, options?: NextEventOptions): Promise<T>;
export async function nextEvent<T = unknown>(name: string, options: NextEventOptions = {}): Promise<T | Event<T>> {
  const frame = storage.getStore();
  if (!frame) throw new Error("nextEvent() needs a running akts session");
  const got = await receive(frame, name, name, options.timeout, (event) => event.value);
  if (got.timedOut) throw new EventTimeoutError(name, options.timeout ?? 0);
  return options.full ? { data: got.value as T, event_id: got.id ?? null, event_type: name, session_id: frame.session.id } : (got.value as T);
}

/**
 * Waits for an event named one of `names`, journaled as the event `key` (what a replay compares) with the value
 * `shape` makes of it. A timeout is journaled too, as `timedOut`.
 */
export async function receive(
  frame: Frame,
  key: string,
  names: string | readonly string[],
  timeout: number | undefined,
  shape: (event: { name: string; value: unknown }) => unknown,
): Promise<{ timedOut: true } | { timedOut: false; value: unknown; id: string | undefined }> {
  const s = frame.session;
  const journaled = s.durable && !frame.inActivity;
  let deadline: number | undefined;
  if (timeout !== undefined) {
    const timerSeq = journaled ? s.nextSeq() : 0;
    deadline = journaled ? s.recorded(timerSeq, "timer", timeoutSite(key))?.deadline : undefined;
    if (deadline === undefined) {
      deadline = Date.now() + timeout;
      if (journaled) await s.append({ t: "timer", seq: timerSeq, site: timeoutSite(key).id, deadline });
    }
  }
  const seq = journaled ? s.nextSeq() : 0;
  const recorded = journaled ? s.recorded(seq, "event", eventSite(key)) : undefined;
  if (recorded !== undefined) {
    await s.turn(seq);
    return recorded.timedOut ? { timedOut: true } : { timedOut: false, value: recorded.value, id: recorded.id };
  }
  const got = await s.waiting(() => s.inbox.take(names, deadline));
  if (got === undefined) {
    if (journaled) await s.append({ t: "event", seq, name: key, value: undefined, at: Date.now(), timedOut: true });
    return { timedOut: true };
  }
  const value = shape(got);
  if (journaled) await s.append({ t: "event", seq, name: key, value, at: Date.now(), id: got.id });
  s.env?.consumed.add(got.id);
  await s.inbox.consumed(got.id);
  return { timedOut: false, value, id: got.id };
}

export type { SessionState };
