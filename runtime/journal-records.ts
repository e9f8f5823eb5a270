/** The records of a journal (docs/journal.md): what a session's journal holds, one msgpack record per frame. */
export type Mode = "durable" | "nondurable";

export type JournalRecord =
  | {
      t: "header";
      v: 1;
      sessionId: string;
      project: string;
      trigger: string;
      handler: string;
      mode: Mode;
      /** The replay fingerprint of the code the session started on (docs/versioning.md). */
      fingerprint?: string;
      /** Journals written before the fingerprint: a hash of the source files, or of a bundle's handler modules. */
      codeHash?: string;
      /** Absolute path of the manifest or bundle folder, so `akts resume` finds the handler again. */
      manifest?: string;
      event: unknown;
      createdAt: number;
      /** The session that started this one with `start()`, and the memo it gave. */
      parent?: string;
      memo?: Record<string, string>;
    }
  | { t: "attempt"; attempt: number; at: number }
  | {
      t: "activity";
      seq: number;
      site: string;
      callee: string;
      ok: boolean;
      value?: unknown;
      error?: unknown;
      async: boolean;
      start: number;
      end: number;
    }
  | { t: "timer"; seq: number; site: string; deadline: number }
  | { t: "event"; seq: number; name: string; value: unknown; at: number; id?: string; timedOut?: boolean }
  /** A durable session's answer to its caller: `httpOutcome()` (value: `{ status, headers, body?, json? }`) or `outcome()`. */
  | { t: "outcome"; seq: number; fn: OutcomeFn; value: unknown; at: number }
  /** Attempt `attempt` of activity #seq failed with `error`; the next attempt runs at `next` (epoch ms), not before. */
  | { t: "retry"; seq: number; attempt: number; error: unknown; at: number; next: number }
  /** The cancellation was delivered: call #seq threw CancelledError. */
  | { t: "cancel"; seq: number; at: number }
  | { t: "end"; ok: boolean; result?: unknown; error?: unknown; at: number; cancelled?: true };

export type OutcomeFn = "httpOutcome" | "outcome";

export type HeaderRecord = Extract<JournalRecord, { t: "header" }>;
export type AttemptRecord = Extract<JournalRecord, { t: "attempt" }>;


/** What the header says the session's code was: its replay fingerprint, or an older journal's code hash. */
export function recordedFingerprint(header: HeaderRecord): string {
  return header.fingerprint ?? header.codeHash ?? "";
}
