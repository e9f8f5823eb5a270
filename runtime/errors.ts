import { AktsError } from "../errors";
import { describeSite, type Site } from "./site";
import { registerErrorClasses } from "./error-class";

/**
 * Damage before the journal's tail: the session is marked failed and nothing is deleted. In a journal file the
 * position is a byte offset; in a store that keeps one frame per row, it is the frame's index.
 */
export class JournalCorruptError extends AktsError {
  constructor(
    readonly file: string,
    readonly offset: number,
    detail: string,
    readonly unit: "byte" | "frame" = "byte",
  ) {
    super("AKTS4001", `journal is corrupt at ${unit} ${offset}: ${detail}`, {
      location: unit === "byte" ? { file, offset } : { file },
      hint: unit === "byte" ? "the file was left as it is; restore it from a backup or remove the session" : "the rows were left as they are; restore them from a backup or remove the session",
    });
  }
}

/** A result the journal cannot hold at all (a symbol, a WeakMap, a native handle). */
export class UnserializableResultError extends AktsError {
  constructor(
    readonly site: Pick<Site, "callee" | "id">,
    readonly path: string,
    what: string,
  ) {
    super("AKTS2002", `${describeSite(site)}: result is not serializable: ${what} at ${path}`, {
      hint: "return data from the activity (group the work in an activity() function that returns plain values)",
    });
  }
}

/** The replayed code did not call what the journal recorded. */
export class NondeterminismError extends AktsError {
  constructor(message: string, hint = "the handler changed, or depends on time, randomness or state outside the journal") {
    super("AKTS5001", message, { hint });
  }

  /**
   * The same divergence, saying whether the code changed since the session started (`recorded` is the journal
   * header's replay fingerprint, `current` that of the code replayed): an unchanged one points at nondeterminism.
   */
  withCodeHashes(recorded: string, current: string): NondeterminismError {
    return recorded === current
      ? new NondeterminismError(
          `${this.message} (the code is unchanged since this session started: hash ${current})`,
          "the same code took another path: it depends on time, randomness or state outside the journal",
        )
      : new NondeterminismError(
          `${this.message} (the code changed since this session started: hash ${recorded} → ${current})`,
          "the handler changed since the session started: deploy the old code to finish it, or keep calls in their order",
        );
  }
}

/** A write from a runner whose lease on the session was taken over. */
export class StaleLeaseError extends AktsError {
  constructor(sessionId: string, fence: number, current: number) {
    super("AKTS4003", `session ${sessionId}: lease fence ${fence} is stale (current ${current}); nothing was written`);
  }
}

/** `nextEvent` waited longer than its timeout. */
export class EventTimeoutError extends AktsError {
  constructor(name: string, timeoutMs: number) {
    super("AKTS6003", `no '${name}' event arrived within ${timeoutMs} ms`);
  }
}

/**
 * Shutdown stopped the session at an activity boundary (Engine.park): it stays unfinished in the store, with
 * every finished activity journaled, and the next runner resumes it. Fatal, so a handler cannot catch it and go on.
 */
export class SessionParkedError extends AktsError {
  constructor(sessionId: string) {
    super("AKTS6004", `session ${sessionId} was parked at shutdown; it resumes on the next start`);
  }
}

/** `httpOutcome()` was given something HTTP cannot answer (a status out of range, `body` with `json`, a non-string header). */
export class HttpOutcomeError extends AktsError {
  constructor(detail: string) {
    super("AKTS6010", `httpOutcome(): ${detail}`);
  }
}

/** A session answers its caller once: a second `httpOutcome()`/`outcome()` is refused. */
export class OutcomeSetError extends AktsError {
  constructor(called: string, first: string) {
    super("AKTS6011", `${called}(): the session's outcome was already set by ${first}(); a session answers its caller once`, {
      hint: "call httpOutcome() or outcome() once; return a value instead to keep it as the session's result only",
    });
  }
}

/** `httpOutcome()`/`outcome()` outside a session's workflow code (outside a session, or inside an activity, which may run again). */
export class OutcomeContextError extends AktsError {
  constructor(called: string, where: string) {
    super("AKTS6012", `${called}() ${where}: only a session's workflow code sets its outcome`);
  }
}
/**
 * The session was cancelled (`akts cancel`, `POST /sessions/<id>/cancel`): thrown once, at the first boundary
 * after the request (an activity call, `sleep`, `nextEvent`, or a wait under way), so `finally` blocks run. The
 * session then ends `cancelled`, whatever the handler does after catching it.
 */
export class CancelledError extends AktsError {
  constructor(sessionId: string) {
    super("AKTS6030", `session ${sessionId} was cancelled`);
  }
}

/** Thrown by an activity to fail at once: never retried, whatever the activity's `retries`. */
export class FatalError extends AktsError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super("AKTS6031", message, options);
  }
}

/** Thrown by an activity to be retried (within its `retries`), after `retryAfter` ms instead of its backoff. */
export class RetryableError extends AktsError {
  readonly retryAfter?: number;

  constructor(message: string, options: { retryAfter?: number; cause?: unknown } = {}) {
    super("AKTS6032", message, { cause: options.cause });
    if (options.retryAfter !== undefined) this.retryAfter = options.retryAfter;
  }
}

/** An activity attempt ran past the activity's `timeout`: the attempt counts as failed (and is retried if it may be). */
export class ActivityTimeoutError extends AktsError {
  constructor(callee: string, timeoutMs: number) {
    super("AKTS6033", `${callee}: the attempt did not settle within ${timeoutMs} ms`);
  }
}

// Restored from a journal, these keep their class, so `instanceof` answers the same after a crash.
registerErrorClasses(() => [CancelledError, FatalError, RetryableError, ActivityTimeoutError]);
