/**
 * The admin routes, behind the admin token: list sessions a page at a time, inspect one and its timeline
 * (timeline.ts), deliver events to sessions waiting in `nextEvent`, cancel a session. Sessions are shown as the store summarizes
 * them (as `akts sessions --json` prints them), plus a summary of the journal for one session.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { AktsError } from "../../errors";
import type { JournalRecord } from "../journal";
import { STATUSES, UNFINISHED, isSessionId, type SessionStatus, type SessionSummary } from "../store/store";
import { sessionJson, type SessionJson } from "../store/session-json";
import { cancelSession } from "../cancel-watch";
import { parseJson, readBody } from "./body";
import { HttpError } from "./http-error";
import type { Host } from "./host";
import { sendJson } from "./respond";
import { timeline } from "./timeline";

/** Sessions in a page of `GET /sessions`, unless `limit` says otherwise, and the most it may say. */
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

/** `parts` is the decoded path below `/sessions`: `[]`, `[id]`, `[id, "timeline"]`, `[id, "cancel"]` or `[id, "events", name]`. */
export async function handleAdmin(host: Host, maxBody: number, parts: string[], url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (parts.length === 0) {
    allow(req, "GET");
    return sendJson(res, 200, await list(host, url));
  }
  if (parts.length === 1) {
    allow(req, "GET");
    const summary = await lookup(host, parts[0]);
    const { records, end } = await host.store.read(summary.id);
    // The journal's end record holds the exact result; the summary may not carry it.
    const last = records.at(-1);
    const result = last?.t === "end" && last.ok ? { result: last.result } : {};
    return sendJson(res, 200, { ...sessionJson(summary), ...result, journal: { ...journalSummary(records), end_offset: end } });
  }
  if (parts.length === 2 && parts[1] === "timeline") {
    allow(req, "GET");
    const summary = await lookup(host, parts[0]);
    return sendJson(res, 200, timeline(summary, (await host.store.read(summary.id)).records, Date.now()));
  }
  if (parts.length === 2 && parts[1] === "cancel") {
    allow(req, "POST");
    req.resume();
    if (!isSessionId(parts[0])) throw new HttpError(404, `no session '${parts[0]}'`);
    let cancelled;
    try {
      cancelled = await cancelSession(host.store, parts[0]);
    } catch (err) {
      if (err instanceof AktsError && err.code === "AKTS6034") throw new HttpError(409, err.message, {}, err.code);
      throw err;
    }
    if (!cancelled) throw new HttpError(404, `no session '${parts[0]}'`);
    return sendJson(res, 202, { session_id: parts[0], status: cancelled.status, cancel: "requested" });
  }
  if (parts.length === 3 && parts[1] === "events") {
    allow(req, "POST");
    const summary = await lookup(host, parts[0]);
    const raw = await readBody(req, maxBody);
    const value = raw.length > 0 ? parseJson(raw.toString("utf8")) : null;
    if (!UNFINISHED.includes(summary.status)) throw new HttpError(409, `session ${summary.id} is ${summary.status}: it takes no more events`);
    const eventId = await host.store.deliver(summary.id, parts[2], value);
    return sendJson(res, 202, { session_id: summary.id, event_id: eventId });
  }
  throw new HttpError(404, `no route ${url.pathname}`);
}

function allow(req: IncomingMessage, method: string): void {
  if (req.method !== method) throw new HttpError(405, `${req.method} is not allowed here (${method})`, { allow: method });
}

/** A page of sessions, newest first, and the cursor of the next page (`before`), null on the last page. */
async function list(host: Host, url: URL): Promise<{ sessions: SessionJson[]; next: string | null }> {
  const query = url.searchParams;
  const status = query.get("status") || undefined;
  if (status !== undefined && !STATUSES.includes(status as SessionStatus)) {
    throw new HttpError(400, `unknown status '${status}' (use ${STATUSES.join(", ")})`);
  }
  const before = query.get("before") || undefined;
  if (before !== undefined && !isSessionId(before)) throw new HttpError(400, `before must be a session id, not '${before}'`);
  const limitText = query.get("limit") || undefined;
  if (limitText !== undefined && !(/^[1-9]\d*$/.test(limitText) && Number(limitText) <= MAX_PAGE)) {
    throw new HttpError(400, `limit must be a whole number from 1 to ${MAX_PAGE}, not '${limitText}'`);
  }
  const limit = limitText === undefined ? DEFAULT_PAGE : Number(limitText);
  // One more than the page tells whether an older page exists, so the last page says so.
  const sessions = await host.store.list({ status: status as SessionStatus | undefined, trigger: query.get("trigger") || undefined, before, limit: limit + 1 });
  const more = sessions.length > limit;
  if (more) sessions.length = limit;
  return { sessions: sessions.map(sessionJson), next: more ? sessions[limit - 1].id : null };
}

async function lookup(host: Host, id: string): Promise<SessionSummary> {
  let summary: SessionSummary | undefined;
  try {
    summary = await host.store.get(id);
  } catch (err) {
    // A string that cannot be a session id names no session.
    if (!(err instanceof AktsError)) throw err;
  }
  if (!summary) throw new HttpError(404, `no session '${id}'`);
  return summary;
}

export interface JournalSummary {
  /** How many records of each kind: header, attempt, activity, timer, event, end. */
  readonly records: Record<string, number>;
  /** Activities whose outcome is journaled, by outcome: each is answered from the journal on replay. */
  readonly activities: { readonly ok: number; readonly failed: number };
  /** The highest sequence number journaled (activities, timers, events, outcomes), 0 when none. */
  readonly last_seq: number;
}

export function journalSummary(records: readonly JournalRecord[]): JournalSummary {
  const counts: Record<string, number> = {};
  let ok = 0;
  let failed = 0;
  let lastSeq = 0;
  for (const r of records) {
    counts[r.t] = (counts[r.t] ?? 0) + 1;
    if (r.t === "activity") r.ok ? ok++ : failed++;
    if ("seq" in r) lastSeq = Math.max(lastSeq, r.seq);
  }
  return { records: counts, activities: { ok, failed }, last_seq: lastSeq };
}
