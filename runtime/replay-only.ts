/**
 * Replays a recorded durable session against the current code without running anything live (`akts replay`):
 * the session state answers every call from an in-memory copy of the journal, and a call the journal does not
 * have is a divergence (or, for an unfinished session, where the replay stops). Nothing is written: the sink
 * refuses writes and the inbox refuses to deliver events the journal does not hold.
 */
import { isDeepStrictEqual } from "node:util";
import { storage } from "./context";
import { decode, encode, prepare, project } from "./codec";
import { SessionState, type Inbox, type JournalSink } from "./session-state";
import { NondeterminismError } from "./errors";
import { jsonSafe, errorLine } from "./store/json-safe";
import type { Handler } from "./engine";
import { recordedFingerprint, type HeaderRecord, type JournalRecord } from "./journal";
import { AktsError } from "../errors";

export interface ReplayReport {
  readonly sessionId: string;
  /**
   * `clean`: the whole session replayed and its result matches; `unfinished`: clean up to the journal's end (the
   * session has not ended); `nondurable`: nothing journaled to replay; `diverged`: see `error`.
   */
  readonly status: "clean" | "unfinished" | "nondurable" | "diverged";
  /** Activity entries in the journal (nondeterministic builtins included). */
  readonly activities: number;
  /** The last sequence number the journal holds. */
  readonly lastEntry: number;
  /** Why it diverged: a NondeterminismError that says whether the code hash changed. */
  readonly error?: AktsError;
}

/** Thrown into the handler when an unfinished session's replay reaches the journal's end: it stops there. */
class JournalEnd extends Error {}

const REFUSE_WRITES: JournalSink = {
  append: () => Promise.reject(refused("write to the journal")),
  appendSync: () => {
    throw refused("write to the journal");
  },
};

const NO_EVENTS: Inbox = {
  take: () => Promise.reject(refused("take an event the journal does not hold")),
  consumed: () => Promise.reject(refused("consume an event")),
};

function refused(what: string): AktsError {
  return new AktsError("AKTS5001", `a replay-only session cannot ${what}`);
}

/** Replays `records` (a whole journal, header first) with `handler`, whose code hash is `codeHash`. */
export async function replayOnly(records: readonly JournalRecord[], handler: Handler, codeHash: string): Promise<ReplayReport> {
  const header = records[0] as HeaderRecord;
  const seqs = records.filter((r) => r.t === "activity" || r.t === "timer" || r.t === "event" || r.t === "outcome") as { seq: number; t: string }[];
  const base = {
    sessionId: header.sessionId,
    activities: seqs.filter((r) => r.t === "activity").length,
    lastEntry: Math.max(0, ...seqs.map((r) => r.seq)),
  };
  if (header.mode !== "durable") return { ...base, status: "nondurable" };
  const end = records.findLast((r) => r.t === "end");
  const attempts = records.filter((r) => r.t === "attempt").length;
  const state = new SessionState(header.sessionId, attempts, true, REFUSE_WRITES, records, NO_EVENTS, undefined, {
    ended: end !== undefined,
    pastJournal: (seq, called) =>
      end === undefined
        ? new JournalEnd()
        : new NondeterminismError(`entry #${seq}: journal has no entry (the session ended after #${base.lastEntry}), code called ${called}`),
  });
  let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
  try {
    const value = await storage.run({ session: state, inActivity: false }, () => handler(header.event));
    await state.settled();
    if (!state.fatal) state.assertFullyReplayed();
    outcome = { ok: true, value };
  } catch (error) {
    await state.settled();
    outcome = { ok: false, error };
  } finally {
    state.close();
  }
  const fatal = state.fatal?.error;
  if (fatal instanceof JournalEnd) return { ...base, status: "unfinished" };
  const divergence = fatal ?? (end === undefined ? undefined : await compareEnd(end, outcome));
  if (divergence === undefined) return { ...base, status: end === undefined ? "unfinished" : "clean" };
  if (!(divergence instanceof AktsError)) throw divergence;
  const error = divergence instanceof NondeterminismError ? divergence.withCodeHashes(recordedFingerprint(header), codeHash) : divergence;
  return { ...base, status: "diverged", error };
}

type EndRecord = Extract<JournalRecord, { t: "end" }>;

/** The handler's outcome against the journaled one: the result as the journal would keep it, or the error's message. */
async function compareEnd(end: EndRecord, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): Promise<NondeterminismError | undefined> {
  const recorded = end.ok ? `returned ${show(end.result)}` : `failed with ${errorLine(end.error)}`;
  if (outcome.ok) {
    const value = decode(encode(project(await prepare(outcome.value), { callee: "handler", id: "result" }).value));
    if (end.ok && isDeepStrictEqual(value, end.result)) return undefined;
    return new NondeterminismError(`result: journal has the handler ${recorded}, code returned ${show(value)}`);
  }
  const message = (e: unknown) => (e instanceof Error ? e.message : errorLine(e));
  if (!end.ok && message(end.error) === message(outcome.error)) return undefined;
  return new NondeterminismError(`result: journal has the handler ${recorded}, code failed with ${errorLine(outcome.error)}`);
}

function show(value: unknown): string {
  const text = JSON.stringify(jsonSafe(value)) ?? "undefined";
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}
