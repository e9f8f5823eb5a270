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

const { url, flag, syncPort, poolSize } = workerData as WriterData & { syncPort: MessagePort };
const signal = new Int32Array(flag);
const pool = new Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
// An idle connection dropped by the server is replaced by the next query; the error itself needs no handling.
pool.on("error", () => {});

/**
 * One statement for the frames of many sessions: each session's frames go after its last row, in the order they
 * were sent, and only while the session's fence is still the one they were written under.
 */
const INSERT = `
  WITH r AS (SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[]) WITH ORDINALITY AS r (session_id, fence, frame, ord)),
       s AS (SELECT s.id FROM akts.sessions s JOIN (SELECT DISTINCT session_id, fence FROM r) d ON s.id = d.session_id AND s.fence = d.fence
             FOR SHARE OF s),
       n AS (SELECT s.id, coalesce((SELECT max(idx) + 1 FROM akts.journal j WHERE j.session_id = s.id), 0) AS next FROM s)
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT r.session_id, n.next + row_number() OVER (PARTITION BY r.session_id ORDER BY r.ord) - 1, r.frame FROM r JOIN n ON n.id = r.session_id
  RETURNING session_id`;

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
  while (running < poolSize) {
    const round: Array<{ session: string; fence: number; requests: AppendRequest[] }> = [];
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

async function write(round: Array<{ session: string; fence: number; requests: AppendRequest[] }>): Promise<void> {
  const outcomes = await insert(round);
  for (const [i, { requests }] of round.entries()) for (const request of requests) reply({ call: request.call, ...outcomes[i] }, request.sync);
}

async function insert(round: Array<{ session: string; fence: number; requests: AppendRequest[] }>): Promise<Array<{ ok: true } | AppendFailure>> {
  const sessions: string[] = [];
  const fences: number[] = [];
  const frames: Buffer[] = [];
  for (const { session, fence, requests } of round) {
    for (const r of requests) {
      sessions.push(session);
      fences.push(fence);
      frames.push(Buffer.from(r.frame.buffer, r.frame.byteOffset, r.frame.byteLength));
    }
  }
  try {
    const { rows } = await pool.query<{ session_id: string }>(INSERT, [sessions, fences, frames]);
    const stored = new Set(rows.map((row) => row.session_id));
    const refused = round.filter(({ session }) => !stored.has(session)).map(({ session }) => session);
    const current = new Map<string, number>();
    if (refused.length > 0) {
      const { rows: seen } = await pool.query<{ id: string; fence: number }>("SELECT id, fence FROM akts.sessions WHERE id = ANY($1::text[])", [refused]);
      for (const row of seen) current.set(row.id, row.fence);
    }
    return round.map(({ session }) => (stored.has(session) ? { ok: true as const } : { ok: false as const, stale: current.get(session) ?? -1, message: "" }));
  } catch (err) {
    const failure: AppendFailure = { ok: false, message: (err as Error).message, code: (err as { code?: string }).code };
    return round.map(() => failure);
  }
}

function reply(message: AppendReply, sync: boolean): void {
  if (!sync) return parentPort!.postMessage(message);
  syncPort.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}
