/**
 * Every finding and error akts reports has a stable code. The compiler (CLI and editor) and the runtime read
 * their codes, severities and short titles from this one table, so a code means the same thing everywhere.
 *
 * Ranges: 1xxx activity detection and determinism (compiler), 2xxx serialization, 3xxx manifest,
 * 4xxx journal and store, 5xxx replay, 6xxx session and runtime, 7xxx HTTP server (`akts serve`), 9xxx usage
 * (CLI, config).
 */
export type Severity = "error" | "warning" | "info";

export interface CodeInfo {
  readonly severity: Severity;
  readonly title: string;
}

export const CODES = {
  // Determinism and activity findings (compiler).
  AKTS1001: { severity: "info", title: "nondeterministic builtin is journaled in durable mode" },
  AKTS1002: { severity: "warning", title: "timer in workflow code: use the durable sleep() from akts" },
  AKTS1003: { severity: "warning", title: "workflow code writes module-level mutable state" },
  AKTS1004: { severity: "warning", title: "Promise.race/Promise.any over non-activity promises" },
  AKTS1005: { severity: "warning", title: "process.env read in workflow code" },
  AKTS1006: { severity: "warning", title: "activity promise is neither awaited nor used" },
  AKTS1007: { severity: "warning", title: "durable trigger with is_sync: true may time out on replay" },
  AKTS1008: { severity: "error", title: "a callback handed to an activity writes state outside it: a replay does not run it" },
  // Serialization (compiler checks the use site; runtime checks the value).
  AKTS2001: { severity: "error", title: "activity result is used as a live object the journal cannot restore" },
  AKTS2002: { severity: "error", title: "activity result cannot be serialized" },
  AKTS2003: { severity: "info", title: "journal dropped parts of an activity result" },
  AKTS2004: { severity: "error", title: "an activity's stream result is iterated: the journal keeps no stream" },
  // Manifest.
  AKTS3001: { severity: "error", title: "invalid manifest" },
  // Journal and store.
  AKTS4001: { severity: "error", title: "journal is corrupt" },
  AKTS4002: { severity: "info", title: "torn journal tail was cut" },
  AKTS4003: { severity: "error", title: "stale runner: the session lease is held by another runner" },
  AKTS4004: { severity: "error", title: "the store cannot be reached" },
  AKTS4005: { severity: "error", title: "the session could not be recorded in the store" },
  AKTS4030: { severity: "error", title: "the store lost journal frames it had acknowledged (a database crash under fsync batch)" },
  AKTS4010: { severity: "error", title: "the project's stored values are damaged" },
  // Replay.
  AKTS5001: { severity: "error", title: "replay diverged from the journal" },
  // akts diff and kept versions (docs/versioning.md).
  AKTS5010: { severity: "error", title: "a code change breaks every recorded session that ran the changed code" },
  AKTS5011: { severity: "warning", title: "a code change breaks the recorded sessions past a point" },
  AKTS5012: { severity: "error", title: "an unfinished session would diverge on the new code" },
  AKTS5013: { severity: "error", title: "a kept code version is not usable" },
  // Sessions.
  AKTS6001: { severity: "error", title: "session failed" },
  AKTS6002: { severity: "error", title: "session gave up after max_attempts" },
  AKTS6003: { severity: "error", title: "timed out waiting for an event" },
  AKTS6004: { severity: "info", title: "session parked at shutdown: unfinished, resumed on the next start" },
  AKTS6010: { severity: "error", title: "httpOutcome() was given an answer HTTP cannot send" },
  AKTS6011: { severity: "error", title: "the session's outcome is already set: httpOutcome()/outcome() answer once" },
  AKTS6012: { severity: "error", title: "httpOutcome()/outcome() called outside workflow code of a session" },
  AKTS6020: { severity: "error", title: "an akts session call was made outside a running session" },
  AKTS6021: { severity: "error", title: "signal to a session that does not exist" },
  AKTS6022: { severity: "error", title: "signal to a session that has finished" },
  AKTS6023: { severity: "error", title: "invalid argument to a stored-value or signal call" },
  AKTS6024: { severity: "error", title: "stored value is too large" },
  AKTS6025: { severity: "error", title: "start(): not a handler location of the form file.ts:function" },
  AKTS6030: { severity: "error", title: "session cancelled" },
  AKTS6031: { severity: "error", title: "activity failed with a fatal error: not retried" },
  AKTS6032: { severity: "error", title: "activity failed with a retryable error" },
  AKTS6033: { severity: "error", title: "activity attempt timed out" },
  AKTS6034: { severity: "error", title: "the session is finished: nothing to cancel" },
  AKTS6035: { severity: "error", title: "invalid activity options (retries, backoff, timeout)" },
  // HTTP server: each answer's error code.
  AKTS7001: { severity: "error", title: "malformed request" },
  AKTS7002: { severity: "error", title: "request body is over the limit" },
  AKTS7003: { severity: "error", title: "no such route, trigger or session" },
  AKTS7004: { severity: "error", title: "method not allowed" },
  AKTS7005: { severity: "error", title: "missing or wrong admin token" },
  AKTS7006: { severity: "error", title: "session already finished" },
  AKTS7007: { severity: "error", title: "sync webhook timed out; the session goes on" },
  AKTS7008: { severity: "error", title: "server is shutting down" },
  AKTS7009: { severity: "error", title: "the handler's response cannot be sent" },
  AKTS7010: { severity: "error", title: "internal server error" },
  AKTS7015: { severity: "error", title: "JSON body nests too deep" },
  AKTS7030: { severity: "error", title: "Idempotency-Key reused with a different request" },
  AKTS7031: { severity: "error", title: "invalid Idempotency-Key header" },
  AKTS7016: { severity: "error", title: "the store is unavailable (its folder was removed)" },
  // Usage.
  AKTS9001: { severity: "error", title: "invalid command line" },
  AKTS9002: { severity: "error", title: "invalid configuration" },
  AKTS9003: { severity: "error", title: "TypeScript reported an error" },
  AKTS9004: { severity: "error", title: "file not found" },
  AKTS9005: { severity: "error", title: "source file does not parse" },
  AKTS9006: { severity: "error", title: "invalid bundle" },
  AKTS9007: { severity: "error", title: "a journal names code the operator did not name" },
  AKTS9010: { severity: "error", title: "the server cannot listen on the address" },
  AKTS9011: { severity: "error", title: "akts init: the folder is not empty" },
} as const satisfies Record<string, CodeInfo>;

export type Code = keyof typeof CODES;
