/**
 * A live activity with a retry policy in a durable session (docs/retries.md). Every failed attempt is journaled
 * (a `retry` record: its error and when the next attempt may run) before the next one starts, and the final outcome
 * as the activity's record. A replay answers the call from that record and reruns no attempt; a session resumed
 * mid-retry goes on with the next attempt, after only what is left of its backoff.
 */
import { project } from "./codec";
import type { SessionState } from "./session-state";
import type { Site } from "./site";
import { isThenable, mayRetry, retryDelay, withTimeout, type RetryPolicy } from "./retry";
import { activityRecord, journalSettled, tracked } from "./stub";

export function retryingCall(session: SessionState, s: Site, seq: number, run: () => unknown, policy: RetryPolicy, start: number): unknown {
  const prior = session.failedAttempts(seq);
  let failed = prior?.failed ?? 0;
  if (prior !== undefined && prior.next > Date.now()) return tracked(session, settleRetrying(session, s, seq, undefined, run, policy, failed, start, prior.next));
  for (;;) {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      // A synchronous activity is retried at once: waiting would make its call asynchronous.
      failed++;
      if (!mayRetry(policy, error, failed)) {
        session.appendSync(session.guard(() => activityRecord(session, s, seq, false, error, start, false)));
        throw error;
      }
      const at = Date.now();
      session.appendSync(session.guard(() => retryRecord(s, seq, failed, error, at, at)));
      continue;
    }
    if (isThenable(result)) return tracked(session, settleRetrying(session, s, seq, result, run, policy, failed, start, 0));
    session.appendSync(session.guard(() => activityRecord(session, s, seq, true, result, start, false)));
    return result;
  }
}

/**
 * Awaits attempts until one succeeds or none may follow. `pending` is the attempt under way, or undefined when the
 * next one starts at `next` (a resumed backoff). A shutdown or cancellation during a backoff ends the call with it,
 * with the failed attempts journaled and nothing else.
 */
async function settleRetrying(
  session: SessionState,
  s: Site,
  seq: number,
  pending: unknown,
  run: () => unknown,
  policy: RetryPolicy,
  failed: number,
  start: number,
  next: number,
): Promise<unknown> {
  for (;;) {
    if (pending === undefined) {
      await backoff(session, next);
      pending = Promise.resolve().then(run);
    }
    try {
      return await journalSettled(session, s, seq, await withTimeout(Promise.resolve(pending), policy, s.callee), start);
    } catch (error) {
      if (session.fatal?.error === error) throw error;
      failed++;
      if (!mayRetry(policy, error, failed)) return journalSettled(session, s, seq, Promise.reject(error), start);
      const at = Date.now();
      next = at + retryDelay(policy, error, failed);
      await session.appendActivity(session.guard(() => retryRecord(s, seq, failed, error, at, next)));
      pending = undefined;
    }
  }
}

function backoff(session: SessionState, until: number): Promise<void> {
  if (until <= Date.now()) return Promise.resolve();
  return session.waiting(() => new Promise((resolve) => setTimeout(resolve, until - Date.now())));
}

function retryRecord(s: Site, seq: number, attempt: number, error: unknown, at: number, next: number) {
  return { t: "retry", seq, attempt, error: project(error, s).value, at, next } as const;
}
