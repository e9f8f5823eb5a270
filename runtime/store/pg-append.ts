/**
 * Journal appends of the PostgreSQL store, grouped: the appends of one session are written in the order they came;
 * those of every session waiting together go in one statement (a group commit across sessions: one round trip and
 * one commit for all of them). Each statement inserts a session's frames only while its fence is still the lease's,
 * holding a share lock on the session row so a concurrent claim waits for it: a frame is either stored before the
 * takeover or not at all. Used on the event loop for async appends and by the writer thread for sync ones
 * (pg-writer.ts).
 */
import type { Pool, PoolClient, QueryConfig } from "pg";
import type { AppendFailure, AppendOutcome, AppendRequest } from "./pg-writer";
import { retrying, type RetryPolicy } from "./pg-retry";

/**
 * One statement for the frames of many sessions: each session's frames go at the index its lease expects, in the
 * order they were sent, and only while the session's fence is still the one they were written under and its
 * journal ends where the lease expects. Named (prepared once per connection): the server plans it once.
 */
const INSERT = `
  WITH r AS (SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[], $4::integer[]) WITH ORDINALITY AS r (session_id, fence, frame, expect, ord)),
       d AS (SELECT DISTINCT ON (session_id) session_id, fence, expect FROM r ORDER BY session_id, ord),
       s AS (SELECT s.id, d.expect FROM akts.sessions s JOIN d ON s.id = d.session_id AND s.fence = d.fence FOR SHARE OF s),
       n AS (SELECT id, expect FROM s WHERE expect = coalesce((SELECT max(idx) + 1 FROM akts.journal j WHERE j.session_id = s.id), 0))
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT r.session_id, n.expect + row_number() OVER (PARTITION BY r.session_id ORDER BY r.ord) - 1, r.frame FROM r JOIN n ON n.id = r.session_id
  RETURNING session_id, idx`;

/**
 * The same for one session's frames, the case of every round while sessions do not overlap: without the grouping
 * (the distinct sessions, the numbering window), which costs the server about as much as the insert itself. All or
 * none of them go in, at the index the lease expects, so the row count tells what happened: no RETURNING to send
 * back and parse.
 */
const INSERT_RUN = `
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT s.id, $4 + f.ord - 1, f.frame FROM akts.sessions s, unnest($3::bytea[]) WITH ORDINALITY AS f (frame, ord)
   WHERE s.id = $1 AND s.fence = $2 AND $4 = (SELECT coalesce(max(idx) + 1, 0) FROM akts.journal j WHERE j.session_id = $1)
   FOR SHARE OF s`;

/** The same for a single frame, a step's usual round: without the unnest, a quarter of the server's work for it. */
const INSERT_FRAME = `
  INSERT INTO akts.journal (session_id, idx, frame)
  SELECT s.id, $4, $3 FROM akts.sessions s
   WHERE s.id = $1 AND s.fence = $2 AND $4 = (SELECT coalesce(max(idx) + 1, 0) FROM akts.journal j WHERE j.session_id = $1)
   FOR SHARE OF s`;

/** A pooled connection; pg's Client has ref() and unref(), which its type declarations leave out. */
type Held = PoolClient & { ref(): void; unref(): void };

/** One session's run of frames under one fence, in a statement. */
interface Run {
  readonly session: string;
  readonly fence: number;
  readonly requests: AppendRequest[];
}

/** Per run: the index its first frame got, or why it was not stored. */
type RunOutcome = { ok: true; first: number } | AppendFailure;

/** A row the statement inserted. */
interface Stored {
  session_id: string;
  idx: number;
}

/** How often a run waiting for frames under way on another connection looks again (AppendRequest.waitUntil). */
const WAIT_POLL_MS = 1;

export class Appender {
  /** Requests not yet written, per session. */
  private readonly queues = new Map<string, AppendRequest[]>();
  /** Sessions with a statement under way: their next frames wait for it, since where they go depends on it. */
  private readonly busy = new Set<string>();
  /**
   * Connections held for first tries, idle ones here. A round starts only on one of them, which sends it at once:
   * a statement under way is on the wire, not waiting for a connection (appendSync relies on it).
   */
  private readonly idle: Held[] = [];
  private held = 0;
  private connecting = false;
  private closed = false;

  /**
   * `inFlight`: statements under way at once, each on a connection of its own; `pool` has one more, for retries
   * and lookups. A commit that waits for the WAL flush leaves its connection idle meanwhile, so several overlap;
   * one that does not (fsync batch) is mostly work, so one at a time lets each carry more frames.
   */
  constructor(
    private readonly pool: Pool,
    private readonly retry: RetryPolicy,
    private readonly inFlight: number,
    private readonly settle: (request: AppendRequest, outcome: AppendOutcome) => void,
  ) {}

  push(requests: readonly AppendRequest[]): void {
    for (const request of requests) {
      const queue = this.queues.get(request.session);
      if (queue) queue.push(request);
      else this.queues.set(request.session, [request]);
    }
    this.startRounds();
  }

  /** The session's requests not sent yet, taken out of the queue. */
  take(session: string): AppendRequest[] {
    const queue = this.queues.get(session) ?? [];
    this.queues.delete(session);
    return queue;
  }

  /** Whether a statement with frames of the session is under way. */
  sending(session: string): boolean {
    return this.busy.has(session);
  }

  /**
   * Group commit across sessions: while a connection is free, one statement takes the waiting frames of every
   * session that has none under way (one fence's run per session: a takeover inside this process leaves both leases
   * writing). Frames that arrive meanwhile wait for the next statement, so under load each carries many sessions'.
   */
  private startRounds(): void {
    while ([...this.queues.keys()].some((session) => !this.busy.has(session))) {
      const client = this.idle.pop();
      if (!client) return this.connect();
      const round: Run[] = [];
      for (const [session, queue] of this.queues) {
        if (this.busy.has(session)) continue;
        const fence = queue[0].fence;
        let n = 1;
        while (n < queue.length && queue[n].fence === fence) n++;
        round.push({ session, fence, requests: queue.splice(0, n) });
        if (queue.length === 0) this.queues.delete(session);
        this.busy.add(session);
      }
      if (round.length === 0) {
        this.idle.push(client);
        return;
      }
      client.ref();
      send(client, round, (err, rows) => {
        const outcomes = err === undefined ? storedAll(round, rows!) : undefined;
        // The usual round: every run stored. Settled here, in the reply's step, with the connection free again
        // first, so the steps it wakes find it idle; anything else takes the path that retries and looks up.
        if (outcomes) {
          this.free(round, client, false);
          this.settleRound(round, outcomes);
          return this.startRounds();
        }
        void this.write(round, err === undefined ? Promise.resolve(rows!) : Promise.reject(err)).finally(() => {
          this.free(round, client, err !== undefined);
          this.startRounds();
        });
      });
    }
  }

  /** After a round: its sessions may send again, and its connection is idle again unless it broke. */
  private free(round: Run[], client: Held, broken: boolean): void {
    for (const { session } of round) this.busy.delete(session);
    if (broken || this.closed) {
      this.held--;
      client.release(broken);
    } else {
      client.unref();
      this.idle.push(client);
    }
  }

  private settleRound(round: Run[], outcomes: RunOutcome[]): void {
    for (const [i, { requests }] of round.entries()) this.settleRun(requests, outcomes[i]);
  }

  private settleRun(requests: AppendRequest[], outcome: RunOutcome): void {
    for (const [k, request] of requests.entries()) this.settle(request, outcome.ok ? { ok: true, idx: outcome.first + k } : outcome);
  }

  /** One more held connection, while fewer than `inFlight`; through an outage it is tried again, as a statement is. */
  private connect(): void {
    if (this.connecting || this.closed || this.held >= this.inFlight) return;
    this.connecting = true;
    retrying(async () => (await this.pool.connect()) as Held, { policy: this.retry }).then(
      (client) => {
        this.connecting = false;
        if (this.closed) return client.release();
        this.held++;
        // A held connection the server dropped while idle is let go; one in use fails its statement, which is retried.
        client.on("error", () => {
          const at = this.idle.indexOf(client);
          if (at < 0) return;
          this.idle.splice(at, 1);
          this.held--;
          client.release(true);
        });
        // An idle held connection does not keep the process alive.
        client.unref();
        this.idle.push(client);
        this.startRounds();
      },
      (err: unknown) => {
        this.connecting = false;
        if (this.held > 0) return;
        const failure: AppendFailure = { ok: false, message: (err as Error).message, code: (err as { code?: string }).code };
        for (const session of [...this.queues.keys()]) for (const request of this.take(session)) this.settle(request, failure);
      },
    );
  }

  /** Hands the held connections back to the pool (which the caller ends). */
  close(): void {
    this.closed = true;
    for (const client of this.idle.splice(0)) client.release();
  }

  private async write(round: Run[], sent: Promise<Stored[]>): Promise<void> {
    const outcomes = await this.insert(round, sent);
    let waiting = false;
    for (const [i, { session, requests }] of round.entries()) {
      const outcome = outcomes[i];
      const { waitUntil } = requests[0];
      // A journal that ends where these go was short when the statement looked: what it waited for has just landed.
      if (!outcome.ok && outcome.lost !== undefined && outcome.lost <= requests[0].idx && waitUntil !== undefined) {
        if (Date.now() < waitUntil) {
          // Frames before these are under way on another connection: they go first, these after them.
          this.queues.set(session, [...requests, ...(this.queues.get(session) ?? [])]);
          waiting = true;
          continue;
        }
        outcomes[i] = { ok: false, message: `the frames before frame ${requests[0].idx}, under way on another connection, did not land within ${this.retry.budgetMs / 1000} s` };
      }
      this.settleRun(requests, outcomes[i]);
    }
    if (waiting) await new Promise((resolve) => setTimeout(resolve, WAIT_POLL_MS));
  }

  /** `sent`: the first try, on a held connection. */
  private async insert(round: Run[], sent: Promise<Stored[]>): Promise<RunOutcome[]> {
    let tries = 0;
    try {
      // Through an outage the statement is retried. A try whose reply was lost may have committed (one statement:
      // all of it or none), which the frames of its sessions, found at their journals' ends under their fences, tell.
      const rows = await retrying(() => (tries++ === 0 ? sent : sending(this.pool, round)), { policy: this.retry, landed: () => this.landed(round) });
      const first = firstIndexes(rows);
      const refused = round.filter(({ session }) => !first.has(session)).map(({ session }) => session);
      const current = new Map<string, { fence: number; next: number }>();
      if (refused.length > 0) {
        const { rows: seen } = await this.pool.query<{ id: string; fence: number; next: number }>(
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

  /**
   * The rows a lost statement returned, if it committed: the sessions whose last frames are this round's, under the
   * round's fence. None found: it did not commit (or refused them all, which a retry refuses again).
   */
  private async landed(round: Run[]): Promise<Stored[] | undefined> {
    const rows: Stored[] = [];
    for (const { session, fence, requests } of round) {
      const { rows: last } = await this.pool.query<{ fence: number; idx: number; frame: Buffer }>(
        "SELECT s.fence, j.idx, j.frame FROM akts.sessions s JOIN akts.journal j ON j.session_id = s.id WHERE s.id = $1 ORDER BY j.idx DESC LIMIT $2",
        [session, requests.length],
      );
      last.reverse();
      const there = last.length === requests.length && last[0].fence === fence && last.every((row, i) => row.frame.equals(frameOf(requests[i])));
      if (there) rows.push(...last.map((row) => ({ session_id: session, idx: row.idx })));
    }
    return rows.length > 0 ? rows : undefined;
  }
}

/** Sends a round's named statement; tells `done` the rows it inserted (the first of each session's is enough). */
function send(on: Pick<Pool, "query">, round: Run[], done: (err: Error | undefined, rows?: Stored[]) => void): void {
  if (round.length === 1) {
    const [{ session, fence, requests }] = round;
    const [first] = requests;
    const config: QueryConfig<unknown[]> =
      requests.length === 1
        ? { name: "akts_append_frame", text: INSERT_FRAME, values: [session, fence, frameOf(first), first.idx] }
        : { name: "akts_append_run", text: INSERT_RUN, values: [session, fence, requests.map(frameOf), first.idx] };
    // A callback, not the promise pg would make: one promise less per step, each paying the async hooks.
    on.query(config, (err: Error | undefined, result) => (err ? done(err) : done(undefined, result.rowCount ? [{ session_id: session, idx: first.idx }] : [])));
    return;
  }
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
  on.query<Stored>({ name: "akts_append", text: INSERT, values: [sessions, fences, frames, expects] }, (err: Error | undefined, result) => (err ? done(err) : done(undefined, result.rows)));
}

/** send() as a promise. */
function sending(on: Pick<Pool, "query">, round: Run[]): Promise<Stored[]> {
  return new Promise((resolve, reject) => send(on, round, (err, rows) => (err ? reject(err) : resolve(rows!))));
}

/** The index each session's first inserted frame got. */
function firstIndexes(rows: Stored[]): Map<string, number> {
  const first = new Map<string, number>();
  for (const row of rows) first.set(row.session_id, Math.min(row.idx, first.get(row.session_id) ?? row.idx));
  return first;
}

/** Per run, the index its first frame got, when every run of the round was stored. */
function storedAll(round: Run[], rows: Stored[]): RunOutcome[] | undefined {
  const first = firstIndexes(rows);
  const outcomes: RunOutcome[] = [];
  for (const { session } of round) {
    const at = first.get(session);
    if (at === undefined) return undefined;
    outcomes.push({ ok: true, first: at });
  }
  return outcomes;
}

function frameOf(request: AppendRequest): Buffer {
  return Buffer.from(request.frame.buffer, request.frame.byteOffset, request.frame.byteLength);
}
