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
      codeHash: string;
      /** Absolute path of the manifest or bundle folder, so `akts resume` finds the handler again. */
      manifest?: string;
      event: unknown;
      createdAt: number;
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
  /** Attempt `attempt` of activity #seq failed with `error`; the next attempt runs at `next` (epoch ms), not before. */
  | { t: "retry"; seq: number; attempt: number; error: unknown; at: number; next: number }
  /** The cancellation was delivered: call #seq threw CancelledError. */
  | { t: "cancel"; seq: number; at: number }
  | { t: "end"; ok: boolean; result?: unknown; error?: unknown; at: number; cancelled?: true };

export type HeaderRecord = Extract<JournalRecord, { t: "header" }>;
export type AttemptRecord = Extract<JournalRecord, { t: "attempt" }>;

