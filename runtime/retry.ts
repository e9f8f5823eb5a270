/**
 * Retry policies of activities (`activity(fn, { retries, backoff, timeout })`, docs/retries.md): which errors are
 * retried, how long to wait before the next attempt, and an attempt's timeout. The durable path (retry-call.ts)
 * journals every failed attempt; a non-durable session retries in-process (`retryInProcess`).
 */
import { AktsError } from "../errors";
import { ActivityTimeoutError, FatalError, RetryableError } from "./errors";

export interface Backoff {
  /** Milliseconds before the second attempt. Default 1000. */
  readonly initial?: number;
  /** Each wait is the one before times this. Default 2. */
  readonly factor?: number;
  /** No wait is longer. Default 60000. */
  readonly max?: number;
}

export interface ActivityOptions {
  /** Extra attempts after a failed one (a thrown or rejected error other than FatalError). Default 0. */
  readonly retries?: number;
  readonly backoff?: Backoff;
  /** Milliseconds an attempt may take; past it the attempt fails with ActivityTimeoutError (AKTS6033). */
  readonly timeout?: number;
}

export interface RetryPolicy {
  readonly retries: number;
  readonly initial: number;
  readonly factor: number;
  readonly max: number;
  readonly timeout: number | undefined;
}

const DEFAULT_BACKOFF = { initial: 1000, factor: 2, max: 60_000 };

/** The policy of `options`, checked; undefined when the activity neither retries nor times out (the fast path). */
export function retryPolicy(options: ActivityOptions | undefined): RetryPolicy | undefined {
  if (options === undefined || (!options.retries && options.timeout === undefined)) return undefined;
  const retries = options.retries ?? 0;
  const { initial, factor, max } = { ...DEFAULT_BACKOFF, ...options.backoff };
  check(Number.isSafeInteger(retries) && retries >= 0, "retries", retries, "a whole number of at least 0");
  check(isMs(initial), "backoff.initial", initial, "milliseconds, at least 0");
  check(typeof factor === "number" && Number.isFinite(factor) && factor >= 1, "backoff.factor", factor, "a number of at least 1");
  check(isMs(max), "backoff.max", max, "milliseconds, at least 0");
  check(options.timeout === undefined || (isMs(options.timeout) && options.timeout > 0), "timeout", options.timeout, "milliseconds, more than 0");
  return { retries, initial, factor, max, timeout: options.timeout };
}

function isMs(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && v >= 0;
}

function check(ok: boolean, key: string, value: unknown, what: string): void {
  if (!ok) throw new AktsError("AKTS6035", `activity option ${key} must be ${what}, not ${JSON.stringify(value)}`);
}

/** Whether `failed` (the number of attempts made so far) leaves room for another one after `error`. */
export function mayRetry(policy: RetryPolicy, error: unknown, failed: number): boolean {
  return failed <= policy.retries && !(error instanceof FatalError);
}

/** Milliseconds to wait after the `failed`th failed attempt: a RetryableError's retryAfter, else the backoff. */
export function retryDelay(policy: RetryPolicy, error: unknown, failed: number): number {
  if (error instanceof RetryableError && error.retryAfter !== undefined && isMs(error.retryAfter)) return error.retryAfter;
  return Math.min(policy.initial * policy.factor ** (failed - 1), policy.max);
}

/**
 * One attempt with the policy's timeout. A timed-out attempt is not stopped (JavaScript cannot stop a promise): it
 * runs on in the background and its outcome is ignored, so a side effect it makes late is not journaled.
 */
export function withTimeout(attempt: Promise<unknown>, policy: RetryPolicy, callee: string): Promise<unknown> {
  if (policy.timeout === undefined) return attempt;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new ActivityTimeoutError(callee, policy.timeout!)), policy.timeout)));
  attempt.catch(() => {});
  return Promise.race([attempt, timedOut]).finally(() => clearTimeout(timer));
}

/**
 * A non-durable session's retries: in this process, nothing journaled. `wait` sleeps between attempts (the
 * session's, so a cancellation or shutdown wakes it). A synchronous activity that throws is retried at once.
 */
export function retryInProcess(policy: RetryPolicy, callee: string, run: () => unknown, wait: (ms: number) => Promise<void>): unknown {
  let failed = 0;
  for (;;) {
    let result: unknown;
    try {
      result = run();
    } catch (error) {
      if (!mayRetry(policy, error, ++failed)) throw error;
      continue;
    }
    if (!isThenable(result)) return result;
    return (async () => {
      for (let pending = Promise.resolve(result); ; ) {
        try {
          return await withTimeout(pending, policy, callee);
        } catch (error) {
          if (!mayRetry(policy, error, ++failed)) throw error;
          await wait(retryDelay(policy, error, failed));
          pending = Promise.resolve().then(run);
        }
      }
    })();
  }
}

export function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";
}
