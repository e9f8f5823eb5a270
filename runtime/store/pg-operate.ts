/**
 * The PostgreSQL store's operator state (tables in pg-schema.ts): cancellation requests (`akts.cancels`), the queue
 * of sessions waiting for a slot of their trigger (`akts.queue`, FIFO by session id, which sorts by creation time),
 * the slots they wait for (`akts.slots`) and webhook Idempotency-Keys (`akts.idempotency`). Every statement goes
 * through the store's retrying query.
 */
import type { Pool } from "pg";
import { decode, encode } from "../codec";
import { retrying, type RetryPolicy } from "./pg-retry";
import { checkSessionId, type IdempotencyKeys, type IdempotencyRecord, type QueuedStart, type SessionQueue, type SessionSlots } from "./store";

type Query = <R extends Record<string, unknown>>(text: string, params: unknown[]) => Promise<{ rows: R[]; rowCount: number }>;

export class PgCancels {
  constructor(private readonly query: Query) {}

  async request(id: string): Promise<void> {
    checkSessionId(id);
    await this.query("INSERT INTO akts.cancels (session_id, at) VALUES ($1, $2) ON CONFLICT (session_id) DO NOTHING", [id, Date.now()]);
  }

  async requested(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const { rows } = await this.query<{ session_id: string }>("SELECT session_id FROM akts.cancels WHERE session_id = ANY($1)", [ids]);
    return new Set(rows.map((r) => r.session_id));
  }

  /** Requests of finished sessions, and of sessions neither made nor queued (Store.sweepCancels). */
  async sweep(): Promise<number> {
    const { rowCount } = await this.query(
      `DELETE FROM akts.cancels c
        WHERE EXISTS (SELECT 1 FROM akts.sessions s WHERE s.id = c.session_id AND s.status NOT IN ('running', 'waiting'))
           OR (NOT EXISTS (SELECT 1 FROM akts.sessions s WHERE s.id = c.session_id) AND NOT EXISTS (SELECT 1 FROM akts.queue q WHERE q.session_id = c.session_id))`,
      [],
    );
    return rowCount;
  }
}

export class PgQueue implements SessionQueue {
  constructor(private readonly query: Query) {}

  async push(start: QueuedStart): Promise<void> {
    checkSessionId(start.sessionId);
    await this.query("INSERT INTO akts.queue (session_id, project, trigger, event) VALUES ($1, $2, $3, $4) ON CONFLICT (session_id) DO NOTHING", [
      start.sessionId,
      start.project,
      start.trigger,
      encode(start.event),
    ]);
  }

  async peek(project: string, trigger: string, limit: number): Promise<QueuedStart[]> {
    const { rows } = await this.query<{ session_id: string; event: Buffer }>(
      "SELECT session_id, event FROM akts.queue WHERE project = $1 AND trigger = $2 ORDER BY session_id LIMIT $3",
      [project, trigger, limit],
    );
    return rows.map((r) => ({ sessionId: r.session_id, project, trigger, event: decode(r.event) }));
  }

  async remove(sessionId: string): Promise<void> {
    await this.query("DELETE FROM akts.queue WHERE session_id = $1", [sessionId]);
  }

  async has(sessionId: string): Promise<boolean> {
    return (await this.query("SELECT 1 FROM akts.queue WHERE session_id = $1", [sessionId])).rowCount > 0;
  }

  async sweep(): Promise<number> {
    return (await this.query("DELETE FROM akts.queue q WHERE EXISTS (SELECT 1 FROM akts.sessions s WHERE s.id = q.session_id)", [])).rowCount;
  }
}

/**
 * `akts.slots`: one row per session holding a slot. A take is one transaction under an advisory lock on the
 * trigger, so runners on any machine count and insert one after the other; it first removes the rows of slots
 * that are free (their session finished, or was never made within the lease TTL). Taking again for a session that
 * holds a slot changes nothing, so a take whose commit was lost is simply retried.
 */
export class PgSlots implements SessionSlots {
  constructor(
    private readonly pool: Pool,
    private readonly retry: RetryPolicy,
    private readonly wrap: (err: unknown) => unknown,
    private readonly ttlMs: number,
  ) {}

  async take(project: string, trigger: string, sessionId: string, max: number): Promise<boolean> {
    checkSessionId(sessionId);
    try {
      return await retrying(() => this.takeOnce(project, trigger, sessionId, max), { policy: this.retry });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private async takeOnce(project: string, trigger: string, sessionId: string, max: number): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext('akts.slots'), hashtext($1))", [JSON.stringify([project, trigger])]);
      await client.query(
        `DELETE FROM akts.slots l
          WHERE l.project = $1 AND l.trigger = $2 AND l.session_id <> $3
            AND (EXISTS (SELECT 1 FROM akts.sessions s WHERE s.id = l.session_id AND s.status NOT IN ('running', 'waiting'))
                 OR (l.taken_at < $4 AND NOT EXISTS (SELECT 1 FROM akts.sessions s WHERE s.id = l.session_id)))`,
        [project, trigger, sessionId, Date.now() - this.ttlMs],
      );
      const { rowCount } = await client.query(
        `INSERT INTO akts.slots (session_id, project, trigger, taken_at)
         SELECT $3, $1, $2, $4 WHERE (SELECT count(*) FROM akts.slots WHERE project = $1 AND trigger = $2) < $5
         ON CONFLICT (session_id) DO NOTHING`,
        [project, trigger, sessionId, Date.now(), max],
      );
      const held = rowCount === 1 || (await client.query("SELECT 1 FROM akts.slots WHERE session_id = $1", [sessionId])).rowCount === 1;
      await client.query("COMMIT");
      return held;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}

export class PgIdempotency implements IdempotencyKeys {
  constructor(private readonly query: Query) {}

  /** One statement: inserted, or taken over from an expired record, or the live record is read back. */
  async reserve(key: string, record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const { rows } = await this.query<{ session_id: string; digest: string; expires_at: string }>(
      `WITH taken AS (
         INSERT INTO akts.idempotency AS i (key, session_id, digest, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET session_id = excluded.session_id, digest = excluded.digest, expires_at = excluded.expires_at
         WHERE i.expires_at <= $5
         RETURNING session_id, digest, expires_at)
       SELECT session_id, digest, expires_at FROM taken
       UNION ALL SELECT session_id, digest, expires_at FROM akts.idempotency WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM taken)`,
      [key, record.sessionId, record.digest, record.expiresAt, Date.now()],
    );
    const row = rows[0];
    return { sessionId: row.session_id, digest: row.digest, expiresAt: Number(row.expires_at) };
  }

  async release(key: string, sessionId: string): Promise<void> {
    await this.query("DELETE FROM akts.idempotency WHERE key = $1 AND session_id = $2", [key, sessionId]);
  }

  async sweep(now: number): Promise<number> {
    return (await this.query("DELETE FROM akts.idempotency WHERE expires_at <= $1", [now])).rowCount;
  }
}
