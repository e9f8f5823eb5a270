/**
 * The stub module rewritten code calls (docs/stub-contract.md). Outside a session, in a non-durable session and
 * inside a running activity every call passes straight through; that path is one AsyncLocalStorage lookup.
 */
import { storage } from "./context";
import { project, prepare } from "./codec";
import { formatFinding } from "../errors";
import type { SessionState } from "./session-state";
import { describeSite, type Site } from "./site";

export { site } from "./site";
export type { Site } from "./site";

export const STUB_ABI = 1;

const ACTIVITY = Symbol.for("akts.activity");
const NO_ACTIVITY = Symbol.for("akts.noActivity");

export interface ActivityOptions {
  /** Extra attempts after a thrown error, each journaled only by its final outcome. */
  readonly retries?: number;
}

type Tagged = Function & { [ACTIVITY]?: ActivityOptions; [NO_ACTIVITY]?: true };

/** `tpl\`a${x}b\`` → `[strings, x]`: the argument list of a tagged template, template object identity kept. */
export function tpl(strings: TemplateStringsArray, ...values: unknown[]): unknown[] {
  return [strings, ...values];
}

export function call(s: Site, thisArg: unknown, fn: unknown, args: unknown[]): unknown {
  const frame = storage.getStore();
  if (frame === undefined || frame.inActivity || !frame.session.durable || (fn as Tagged)?.[NO_ACTIVITY]) {
    return (fn as Function).apply(thisArg, args);
  }
  if (typeof fn !== "function") throw new TypeError(`${s.callee} is not a function`);
  return durableCall(frame.session, s, () => fn.apply(thisArg, args), (fn as Tagged)[ACTIVITY]?.retries ?? 0);
}

export function nondet<T>(s: Site, thunk: () => T): T {
  const frame = storage.getStore();
  if (frame === undefined || frame.inActivity || !frame.session.durable) return thunk();
  return durableCall(frame.session, s, thunk, 0) as T;
}

/** Runs one activity in a durable session: answered from the journal when recorded, else run live and journaled. */
export function durableCall(session: SessionState, s: Site, run: () => unknown, retries: number): unknown {
  const seq = session.nextSeq();
  const rec = session.recordedFor(seq, "activity", s);
  if (rec !== undefined) {
    if (!rec.async) {
      if (rec.ok) return rec.value;
      throw rec.error;
    }
    return session.releaseInOrder(seq).then(() => {
      if (rec.ok) return rec.value;
      throw rec.error;
    });
  }
  const activityFrame = { session, inActivity: true, seq };
  const start = Date.now();
  let result: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      result = storage.run(activityFrame, run);
    } catch (error) {
      if (attempt < retries) continue;
      journalSync(session, s, seq, false, error, start);
      throw error;
    }
    break;
  }
  if (!isThenable(result)) {
    journalSync(session, s, seq, true, result, start);
    return result;
  }
  const settling = settleAsync(session, s, seq, result, run, retries, start);
  session.inflight.add(settling);
  void settling.then(
    () => session.inflight.delete(settling),
    () => session.inflight.delete(settling),
  );
  return settling;
}

async function settleAsync(
  session: SessionState,
  s: Site,
  seq: number,
  first: PromiseLike<unknown>,
  run: () => unknown,
  retries: number,
  start: number,
): Promise<unknown> {
  let pending = first;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await pending;
      await session.sink!.append(activityRecord(session, s, seq, true, await prepare(value), start, true));
      return value;
    } catch (error) {
      if (error instanceof Error && (error as { code?: string }).code?.startsWith("AKTS")) throw error;
      if (attempt < retries) {
        pending = Promise.resolve(storage.run({ session, inActivity: true, seq }, run));
        continue;
      }
      await session.sink!.append(activityRecord(session, s, seq, false, error, start, true));
      throw error;
    }
  }
}

function journalSync(session: SessionState, s: Site, seq: number, ok: boolean, outcome: unknown, start: number): void {
  session.sink!.appendSync(activityRecord(session, s, seq, ok, outcome, start, false));
}

function activityRecord(session: SessionState, s: Site, seq: number, ok: boolean, outcome: unknown, start: number, async: boolean) {
  const { value, dropped } = project(outcome, s);
  if (dropped.length > 0 && !session.reportedDrops.has(s.id)) {
    session.reportedDrops.add(s.id);
    process.stderr.write(
      formatFinding({
        code: "AKTS2003",
        severity: "info",
        message: `${describeSite(s)}: the journal keeps a data projection of the result; dropped ${dropped.join(", ")}`,
      }) + "\n",
    );
  }
  return {
    t: "activity" as const,
    seq,
    site: s.id,
    callee: s.callee,
    ok,
    ...(ok ? { value } : { error: value }),
    async,
    start,
    end: Date.now(),
  };
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { then?: unknown }).then === "function";
}
