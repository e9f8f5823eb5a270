/**
 * The body of the PostgreSQL store's journal writer thread (pg-writer.ts starts it). Appends of one session are
 * written in the order they were sent; those of every session waiting together go in one statement (a group commit
 * across sessions: one round trip and one commit for all of them). Each statement inserts a session's frames only
 * while its fence is still the lease's, holding a share lock on the session row so a concurrent claim waits for it:
 * a frame is either stored before the takeover or not at all.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { Pool } from "pg";
import type { AppendFailure, AppendReply, AppendRequest, WriterData } from "./pg-writer";
import { retrying } from "./pg-retry";

const { url, flag, syncPort, poolSize, retry, asyncCommit } = workerData as WriterData & { syncPort: MessagePort };
const signal = new Int32Array(flag);
// fsync batch: the server acknowledges an append once committed, before its WAL flush (docs/stores.md).
const pool = new Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000, ...(asyncCommit && { options: "-c synchronous_commit=off" }) });
// An idle connection dropped by the server is replaced by the next query; the error itself needs no handling.
pool.on("error", () => {});

/**
 * One statement for the frames of many sessions: each session's frames go after its last row, in the order they
 * were sent, and only while the session's fence is still the one they were written under and its journal ends
 * where the lease expects (an index of -1 expects nothing: a lease that has not written yet). Named (prepared once
 * per connection): the server plans it once, not at every step.
 */
const INSERT = `
  WITH r AS (SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[], $4::integer[]) WITH ORDINALITY AS r (session_id, fence, frame, expect, ord)),
       d AS (SELECT DISTINCT ON (session_id) session_id, fence, expect FROM r ORDER BY session_id, ord),
       s AS (SELECT s.id, d.expect FROM akts.sessions s JOIN d ON s.id = d.session_id AND s.fence = d.fence FOR SHARE OF s),
       e AS (SELECT s.id, s.expect, coalesce((SELECT max(idx) + 1 FROM akts.journal j WHERE j.session_id = s.id), 0) AS next FROM s),
       n AS (SELECT id, next FROM e WHERE expect < 0 OR next = expect)
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT r.session_id, n.next + row_number() OVER (PARTITION BY r.session_id ORDER BY r.ord) - 1, r.frame FROM r JOIN n ON n.id = r.session_id
  RETURNING session_id, idx`;

/** One session's run of frames under one fence, in a statement. */
interface Run {
  readonly session: string;
  readonly fence: number;
  readonly requests: AppendRequest[];
}

/**
 * Statements under way at once. A commit that waits for the WAL flush leaves the connection idle meanwhile, so
 * several overlap; one that does not (fsync batch) is mostly work, so one at a time lets each carry more frames.
 */
const inFlight = asyncCommit ? 1 : poolSize;

/** Requests not yet written, per session. */
const queues = new Map<string, AppendRequest[]>();
/** Sessions with a statement under way: their next frames wait for it, since where they go depends on it. */
const busy = new Set<string>();
let running = 0;

parentPort!.on("message", (request: AppendRequest) => {
  const queue = queues.get(request.session);
  if (queue) queue.push(request);
  else queues.set(request.session, [request]);
  startRounds();
});

/**
 * Group commit across sessions: while a connection is free, one statement takes the waiting frames of every session
 * that has none under way (one fence's run per session: a takeover inside this process leaves both leases writing).
 * Frames that arrive meanwhile wait for the next statement, so under load each statement carries many sessions' frames.
 */
function startRounds(): void {
  while (running < inFlight) {
    const round: Run[] = [];
    for (const [session, queue] of queues) {
      if (busy.has(session)) continue;
      const fence = queue[0].fence;
      let n = 1;
      while (n < queue.length && queue[n].fence === fence) n++;
      round.push({ session, fence, requests: queue.splice(0, n) });
      if (queue.length === 0) queues.delete(session);
      busy.add(session);
    }
    if (round.length === 0) return;
    running++;
    void write(round).finally(() => {
      running--;
      for (const { session } of round) busy.delete(session);
      startRounds();
    });
  }
}

async function write(round: Run[]): Promise<void> {
  const outcomes = await insert(round);
  for (const [i, { requests }] of round.entries()) {
    const outcome = outcomes[i];
    for (const [k, request] of requests.entries()) reply(outcome.ok ? { call: request.call, ok: true, idx: outcome.first + k } : { call: request.call, ...outcome }, request.sync);
  }
}

/** Per run: the index its first frame got, or why it was not stored. */
type RunOutcome = { ok: true; first: number } | AppendFailure;

async function insert(round: Run[]): Promise<RunOutcome[]> {
  const sessions: string[] = [];
  const fences: number[] = [];
  const frames: Buffer[] = [];
  const expects: number[] = [];
  for (const { session, fence, requests } of round) {
    for (const r of requests) {
      sessions.push(session);
      fences.push(fence);
      frames.push(frameOf(r));
      expects.push(r.idx);
    }
  }
  try {
    // Through an outage the statement is retried. A try whose reply was lost may have committed (one statement: all
    // of it or none), which the frames of its sessions, found at their journals' ends under their fences, tell.
    const rows = await retrying(async () => (await pool.query<Stored>({ name: "akts_append", text: INSERT, values: [sessions, fences, frames, expects] })).rows, {
      policy: retry,
      landed: () => landed(round),
    });
    const first = new Map<string, number>();
    for (const row of rows) first.set(row.session_id, Math.min(row.idx, first.get(row.session_id) ?? row.idx));
    const refused = round.filter(({ session }) => !first.has(session)).map(({ session }) => session);
    const current = new Map<string, { fence: number; next: number }>();
    if (refused.length > 0) {
      const { rows: seen } = await pool.query<{ id: string; fence: number; next: number }>(
        "SELECT id, fence, (SELECT coalesce(max(idx) + 1, 0) FROM akts.journal j WHERE j.session_id = s.id) AS next FROM akts.sessions s WHERE id = ANY($1::text[])",
        [refused],
      );
      for (const row of seen) current.set(row.id, row);
    }
    return round.map(({ session, fence }): RunOutcome => {
      const at = first.get(session);
      if (at !== undefined) return { ok: true, first: at };
      const now = current.get(session);
      return now?.fence === fence ? { ok: false, lost: now.next, message: "" } : { ok: false, stale: now?.fence ?? -1, message: "" };
    });
  } catch (err) {
    const failure: AppendFailure = { ok: false, message: (err as Error).message, code: (err as { code?: string }).code };
    return round.map(() => failure);
  }
}

function frameOf(request: AppendRequest): Buffer {
  return Buffer.from(request.frame.buffer, request.frame.byteOffset, request.frame.byteLength);
}

/** A row the statement inserted. */
interface Stored {
  session_id: string;
  idx: number;
}

/**
 * The rows a lost statement returned, if it committed: the sessions whose last frames are this round's, under the
 * round's fence. None found: it did not commit (or refused them all, which a retry refuses again).
 */
async function landed(round: Run[]): Promise<Stored[] | undefined> {
  const rows: Stored[] = [];
  for (const { session, fence, requests } of round) {
    const { rows: last } = await pool.query<{ fence: number; idx: number; frame: Buffer }>(
      "SELECT s.fence, j.idx, j.frame FROM akts.sessions s JOIN akts.journal j ON j.session_id = s.id WHERE s.id = $1 ORDER BY j.idx DESC LIMIT $2",
      [session, requests.length],
    );
    last.reverse();
    const there = last.length === requests.length && last[0].fence === fence && last.every((row, i) => row.frame.equals(frameOf(requests[i])));
    if (there) rows.push(...last.map((row) => ({ session_id: session, idx: row.idx })));
  }
  return rows.length > 0 ? rows : undefined;
}

function reply(message: AppendReply, sync: boolean): void {
  if (!sync) return parentPort!.postMessage(message);
  syncPort.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}
