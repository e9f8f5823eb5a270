/**
 * `patched(id)` and `deprecatePatch(id)`: changing code under sessions already recorded (docs/versioning.md).
 * A session that reaches `patched(id)` live takes the new branch and journals the decision (an entry at the
 * call's place in the sequence, site `<akts>:patched`); a replay finds that entry and takes the new branch again.
 * A session recorded before the guard existed has another entry (or its end) at that place: it takes the old
 * branch, and nothing is taken from its sequence. `deprecatePatch(id)` replaces the guard once no session needs
 * the old branch: it consumes the entry where one was recorded and records nothing.
 */
import { storage } from "./context";
import type { SeqRecord } from "./replay";
import type { SessionState } from "./session-state";

export const PATCH_SITE = "<akts>:patched";

function patchCallee(id: string): string {
  return `patched(${JSON.stringify(id)})`;
}

function isDecision(rec: SeqRecord | undefined, id: string): boolean {
  return rec?.t === "activity" && rec.site === PATCH_SITE && rec.callee === patchCallee(id);
}

/** The journaled session running here, if any (outside one, and in non-durable mode, the new code runs). */
function journaled(): SessionState | undefined {
  const frame = storage.getStore();
  return frame && !frame.inActivity && frame.session.durable ? frame.session : undefined;
}

/** True when this session runs the code guarded by `id`: every new session; false for sessions recorded before it. */
export function patched(id: string): boolean {
  const s = journaled();
  if (!s) return true;
  const recorded = s.peekNext(patchCallee(id));
  if (recorded !== undefined || s.journalEnded) {
    if (!isDecision(recorded, id)) return false;
    s.nextSeq();
    return true;
  }
  const seq = s.nextSeq();
  const now = Date.now();
  s.appendSync({ t: "activity", seq, site: PATCH_SITE, callee: patchCallee(id), ok: true, value: true, async: false, start: now, end: now });
  return true;
}

/** Marks where `patched(id)` was, once every session recorded before it has finished: keeps later sessions replaying. */
export function deprecatePatch(id: string): void {
  const s = journaled();
  if (s && isDecision(s.peekNext(patchCallee(id)), id)) s.nextSeq();
}
