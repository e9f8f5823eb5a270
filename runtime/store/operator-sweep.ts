/**
 * What operating sessions leaves in the store once it is of no use (docs/operations.md): cancellation requests of
 * finished sessions, queue entries of sessions already made, Idempotency-Keys past their retention. `akts serve`
 * and `akts worker` sweep when they start and every SWEEP_EVERY_MS after; `akts resume` once it is done.
 */
import type { Store } from "./store";

export const SWEEP_EVERY_MS = 10 * 60_000;

export interface Swept {
  readonly cancels: number;
  readonly queued: number;
  readonly keys: number;
}

export async function sweepOperatorState(store: Store, now: number = Date.now()): Promise<Swept> {
  return { cancels: await store.sweepCancels(), queued: await store.queue.sweep(), keys: await store.idempotency.sweep(now) };
}

/** One line for a log, or undefined when nothing was removed. */
export function describeSwept(swept: Swept): string | undefined {
  if (swept.cancels + swept.queued + swept.keys === 0) return undefined;
  return `removed ${swept.cancels} cancellation request(s) of finished sessions, ${swept.queued} queue entr(ies) of sessions already made, ${swept.keys} expired idempotency key(s)`;
}
