/**
 * `start(loc, data?, memo?)`, AutoKitteh's `start`: a new session of the same project running the handler `loc`
 * (`"program.ts:fn"`) with the caller's trigger and durability. In a durable session the child's id comes from the
 * caller's id and journal position, and the child is created only if absent, so a replay (even one after a crash
 * between creating the child and journaling it) never starts it twice.
 */
import { createHash } from "node:crypto";
import { aktsCall } from "./akts-call";
import { AktsError } from "../errors";
import { newSessionId } from "./store/store";

const LOC = /^([^:\\]+\.[cm]?[jt]sx?):([A-Za-z_$][\w$]*)$/;
const BASE32 = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/** Starts a child session and returns its id. `memo` is kept in the child's journal header. */
export function start(loc: string, data: unknown = null, memo?: Record<string, string>): Promise<string> {
  return aktsCall("start", async (env, token) => {
    checkLoc(loc);
    const childId = token === undefined ? newSessionId() : childSessionId(token);
    await env.startChild(childId, loc, data, memo);
    return childId;
  });
}

function checkLoc(loc: unknown): void {
  const m = typeof loc === "string" ? LOC.exec(loc) : null;
  if (!m || m[1].startsWith("/") || m[1].split("/").includes("..")) {
    throw new AktsError("AKTS6025", `start(${JSON.stringify(loc)}): name a handler as "file.ts:function", the file relative to the project`);
  }
}

/**
 * `ses_` + the caller's time part + 16 characters of a hash of `sessionId:seq`: the same id on every replay, and it
 * sorts beside its parent.
 */
export function childSessionId(token: string): string {
  const parent = token.slice(0, token.lastIndexOf(":"));
  const time = /^ses_[0-9A-Z]{10}/.test(parent) ? parent.slice(4, 14) : "0000000000";
  const hash = createHash("sha256").update(token).digest();
  let random = "";
  for (let i = 0; i < 16; i++) random += BASE32[hash[i] & 31];
  return `ses_${time}${random}`;
}

/** The child's handler argument: AutoKitteh's event, with no event id or type for a session started by code. */
export function childEvent(data: unknown, sessionId: string): { data: unknown; event_id: null; event_type: null; session_id: string } {
  return { data, event_id: null, event_type: null, session_id: sessionId };
}
