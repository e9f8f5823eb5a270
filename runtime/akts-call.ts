/**
 * The session calls that reach the store (start, signal, the values): in a durable session each is one journaled
 * step, answered from the journal on replay. What it changes carries a token, `sessionId:seq`, stable across
 * replays, so a call run again after a crash that came between its effect and its journal record is recognised by
 * the store and not applied twice.
 */
import { storage } from "./context";
import { durableCall } from "./stub";
import type { Site } from "./site";
import { AktsError } from "../errors";
import type { SessionEnv } from "./session-env";
import type { SessionState } from "./session-state";

/**
 * Runs `run` for the akts function `fn`. `token` is set in a durable session outside activities; inside an
 * activity the call is part of the activity's outcome and runs again with it.
 */
export function aktsCall<T>(fn: string, run: (env: SessionEnv, token: string | undefined) => Promise<T>): Promise<T> {
  const frame = storage.getStore();
  if (!frame) return Promise.reject(outside(fn));
  const s = frame.session;
  if (frame.inActivity || !s.durable) return Promise.resolve().then(() => run(envOf(s, fn), undefined));
  const journaled = () => run(envOf(s, fn), `${s.id}:${storage.getStore()!.seq}`);
  return durableCall(s, aktsSite(fn), journaled, undefined, [], undefined) as Promise<T>;
}

/** `<akts>:setValue`, as `sleep()`'s timers are `<akts>:sleep`. */
function aktsSite(fn: string): Site {
  return Object.freeze({ file: "<akts>", line: 0, column: 0, callee: fn, reason: "marked", id: `<akts>:${fn}` });
}

/** A replay-only session (`akts replay`) has no env: it answers every call from the journal. */
function envOf(s: SessionState, fn: string): SessionEnv {
  if (!s.env) throw outside(fn);
  return s.env;
}

function outside(fn: string): AktsError {
  return new AktsError("AKTS6020", `${fn}() needs a running akts session`);
}
