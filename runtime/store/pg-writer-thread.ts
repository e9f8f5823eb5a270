/**
 * The body of the PostgreSQL store's journal writer thread (pg-writer.ts starts it). Appends of one session are
 * written in the order they were sent; those waiting together go in one statement (a group commit per session).
 * Each statement inserts only while the session's fence is still the lease's, holding a share lock on the session
 * row so a concurrent claim waits for it: a frame is either stored before the takeover or not at all.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { Pool } from "pg";
import type { AppendFailure, AppendReply, AppendRequest, WriterData } from "./pg-writer";
import { retrying } from "./pg-retry";

const { url, flag, syncPort, poolSize, retry } = workerData as WriterData & { syncPort: MessagePort };
const signal = new Int32Array(flag);
const pool = new Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 10_000 });
// An idle connection dropped by the server is replaced by the next query; the error itself needs no handling.
pool.on("error", () => {});

const INSERT = `
  WITH s AS (SELECT id FROM akts.sessions WHERE id = $1 AND fence = $2 FOR SHARE),
       n AS (SELECT coalesce(max(idx) + 1, 0) AS next FROM akts.journal WHERE session_id = $1)
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT s.id, n.next + f.ord - 1, f.frame FROM s, n, unnest($3::bytea[]) WITH ORDINALITY AS f (frame, ord)`;

/** Requests not yet written, per session; a session is in the map while its queue is being drained. */
const queues = new Map<string, AppendRequest[]>();

parentPort!.on("message", (request: AppendRequest) => {
  const queue = queues.get(request.session);
  if (queue) return void queue.push(request);
  queues.set(request.session, [request]);
  void drain(request.session);
});

async function drain(session: string): Promise<void> {
  for (let queue = queues.get(session)!; queue.length > 0; queue = queues.get(session)!) {
    // One statement per run of the same fence: a takeover inside this process leaves both leases writing.
    const fence = queue[0].fence;
    let n = 1;
    while (n < queue.length && queue[n].fence === fence) n++;
    const batch = queue.splice(0, n);
    const outcome = await insert(session, fence, batch.map((r) => Buffer.from(r.frame.buffer, r.frame.byteOffset, r.frame.byteLength)));
    for (const request of batch) reply({ call: request.call, ...outcome }, request.sync);
  }
  queues.delete(session);
}

async function insert(session: string, fence: number, frames: Buffer[]): Promise<{ ok: true } | AppendFailure> {
  try {
    // Through an outage the insert is retried; a try whose reply was lost may have committed, which its frames,
    // found at the journal's end under this fence, tell.
    const { rowCount } = await retrying(async () => ({ rowCount: (await pool.query(INSERT, [session, fence, frames])).rowCount }), {
      policy: retry,
      landed: () => landed(session, fence, frames),
    });
    if (rowCount === frames.length) return { ok: true };
    const { rows } = await pool.query<{ fence: number }>("SELECT fence FROM akts.sessions WHERE id = $1", [session]);
    return { ok: false, stale: rows[0]?.fence ?? -1, message: "" };
  } catch (err) {
    return { ok: false, message: (err as Error).message, code: (err as { code?: string }).code };
  }
}

async function landed(session: string, fence: number, frames: Buffer[]): Promise<{ rowCount: number } | undefined> {
  const { rows } = await pool.query<{ fence: number; frame: Buffer }>(
    "SELECT s.fence, j.frame FROM akts.sessions s JOIN akts.journal j ON j.session_id = s.id WHERE s.id = $1 ORDER BY j.idx DESC LIMIT $2",
    [session, frames.length],
  );
  const last = rows.reverse();
  const there = last.length === frames.length && last[0].fence === fence && last.every((r, i) => r.frame.equals(frames[i]));
  return there ? { rowCount: frames.length } : undefined;
}

function reply(message: AppendReply, sync: boolean): void {
  if (!sync) return parentPort!.postMessage(message);
  syncPort.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}
