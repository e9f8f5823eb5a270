/**
 * PostgreSQL outages are waited out, not fatal: a statement that fails because the server is away (connection
 * refused or cut, the server shutting down, restarting or "starting up") is tried again with exponential backoff,
 * up to a time budget; any other error (a constraint, a bug, a refused login) is thrown at once. A restart with
 * `pg_ctl restart -m fast` or `-m immediate` therefore costs the sessions a pause, not their run.
 *
 * A statement cut by a dropped connection may have committed before the reply was lost. Callers whose statement is
 * not idempotent (a journal append) pass `landed`, asked before each retry, to find out.
 */

export interface RetryPolicy {
  /** Give up (and throw the last error) once this much time has passed since the first try. */
  readonly budgetMs: number;
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
}

/** Enough for a restart with crash recovery; below the default lease TTL, so a session's run outlives it. */
export const DEFAULT_RETRY: RetryPolicy = { budgetMs: 30_000, firstDelayMs: 50, maxDelayMs: 2_000 };

/** SQLSTATEs of a server that is there but not serving: admin shutdown, crash shutdown, cannot connect now (starting up). */
const NOT_SERVING = /^(57P01|57P02|57P03)$/;
/** Connection exceptions (class 08), too many connections for now (53300), and socket errors. */
const CONNECTION = /^(08\d{3}|53300|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ECONNABORTED)$/;

/** The server is starting up or shutting down: it will answer again soon. */
export function isNotServing(err: unknown): boolean {
  return NOT_SERVING.test(codeOf(err));
}

/** The server is away for now: worth trying again. */
export function isTransient(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.length > 0 && err.errors.every(isTransient);
  const code = codeOf(err);
  if (code !== "") return NOT_SERVING.test(code) || CONNECTION.test(code);
  // "not queryable": a connection that broke before the statement was sent on it; a retry takes another.
  return /connection terminated|terminating connection|server closed the connection|Connection ended|not queryable/i.test((err as Error)?.message ?? "");
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : "";
}

/** Delay before retry `n` (0-based): first, doubling, at most max, with jitter so runners do not retry in step. */
export function backoff(n: number, policy: RetryPolicy = DEFAULT_RETRY): number {
  const base = Math.min(policy.firstDelayMs * 2 ** n, policy.maxDelayMs);
  return base / 2 + Math.random() * (base / 2);
}

/**
 * Runs `op` until it succeeds, fails for a reason other than an outage, or the budget is spent. `retryable`
 * decides which errors are outages (isTransient by default). `landed`, when given, is asked before each retry
 * whether the failed try took effect after all; if it says yes, its answer is the result. `failed`: the first
 * try, made already (begun at `at`), failed with `error`; what follows is as if `op` had made it.
 */
export async function retrying<T>(
  op: () => Promise<T>,
  options: { policy?: RetryPolicy; retryable?: (err: unknown) => boolean; landed?: () => Promise<T | undefined>; failed?: { error: unknown; at: number } } = {},
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY;
  const retryable = options.retryable ?? isTransient;
  const deadline = (options.failed?.at ?? Date.now()) + policy.budgetMs;
  for (let n = 0; ; n++) {
    try {
      if (n === 0 && options.failed) throw options.failed.error;
      if (n > 0 && options.landed) {
        const landed = await options.landed();
        if (landed !== undefined) return landed;
      }
      return await op();
    } catch (err) {
      const delay = backoff(n, policy);
      if (!retryable(err) || Date.now() + delay > deadline) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
