/**
 * `httpOutcome()` and `outcome()`: a session answers the caller that started it (a sync webhook's) while it runs
 * on, as in AutoKitteh. A session answers once. In durable mode the answer is journaled before the caller gets it,
 * so a replay finds it in the journal and does not answer again.
 */
import { storage } from "./context";
import { prepare, project } from "./codec";
import { HttpOutcomeError, OutcomeContextError, OutcomeSetError } from "./errors";
import type { OutcomeFn } from "./journal-records";
import { outcomeSite } from "./replay";

export interface HttpOutcomeOptions {
  /** 200–599; 200 when left out, as in AutoKitteh. */
  readonly status?: number;
  /** A string or bytes are sent as they are; anything else as JSON. Not with `json`. */
  readonly body?: unknown;
  /** Sent as JSON with `Content-Type: application/json` (unless `headers` name one). Not with `body`. */
  readonly json?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * What the caller is answered with: which call set it and the journaled value (for `httpOutcome`,
 * `{ status, headers, body?, json? }`).
 */
export interface SessionOutcome {
  readonly fn: OutcomeFn;
  readonly value: unknown;
}

const KEYS = new Set(["status", "body", "json", "headers"]);

/** Answers the HTTP request that started the session with this status, headers and body; the session runs on. */
export async function httpOutcome(options: HttpOutcomeOptions = {}): Promise<void> {
  await setOutcome("httpOutcome", httpValue(options));
}

/**
 * Sets the session's outcome: a sync webhook's caller gets `value` now, as if the handler had returned it (a
 * `{ status, headers?, body? }` shapes the response); the session runs on.
 */
export async function outcome(value: unknown): Promise<void> {
  await setOutcome("outcome", value);
}

function httpValue(options: HttpOutcomeOptions): { status: number; headers: Record<string, string>; body?: unknown; json?: unknown } {
  if (typeof options !== "object" || options === null) throw new HttpOutcomeError("expects an object { status, body?, json?, headers? }");
  const unknown = Object.keys(options).find((k) => !KEYS.has(k));
  if (unknown !== undefined) throw new HttpOutcomeError(`unknown option '${unknown}' (status, body, json, headers)`);
  const { status = 200, body, json, headers = {} } = options;
  if (typeof status !== "number" || !Number.isInteger(status) || status < 200 || status > 599) throw new HttpOutcomeError(`status ${String(status)} is not a whole number from 200 to 599`);
  if (body !== undefined && json !== undefined) throw new HttpOutcomeError("body and json cannot be set together");
  if (typeof headers !== "object" || headers === null) throw new HttpOutcomeError("headers must be an object of strings");
  const bad = Object.entries(headers).find(([, v]) => typeof v !== "string");
  if (bad) throw new HttpOutcomeError(`header '${bad[0]}' is not a string`);
  return { status, headers: { ...headers }, ...(body !== undefined ? { body } : {}), ...(json !== undefined ? { json } : {}) };
}

async function setOutcome(fn: OutcomeFn, given: unknown): Promise<void> {
  const frame = storage.getStore();
  if (!frame) throw new OutcomeContextError(fn, "outside a session");
  // An activity may run again after a crash (at-least-once): it must not be what answers.
  if (frame.inActivity) throw new OutcomeContextError(fn, "inside an activity");
  const s = frame.session;
  // Claimed before anything is awaited, so two calls racing each other cannot both answer.
  if (s.outcomeBy !== undefined) throw new OutcomeSetError(fn, s.outcomeBy);
  s.outcomeBy = fn;
  const prepared = await prepare(given);
  if (s.durable) {
    const seq = s.nextSeq();
    const recorded = s.recorded(seq, "outcome", outcomeSite(fn));
    if (recorded) {
      // Answered before the crash; the caller that got it went with that process, and nobody is answered again.
      s.outcome = { fn, value: recorded.value };
      return s.turn(seq);
    }
    const value = s.guard(() => project(prepared, outcomeSite(fn)).value);
    // Set (and answered) only once journaled: a failed write answers nobody, and the session fails.
    await s.append({ t: "outcome", seq, fn, value, at: Date.now() });
    s.outcome = { fn, value };
  } else {
    s.outcome = { fn, value: project(prepared, outcomeSite(fn)).value };
  }
  s.answer(s.outcome);
}
