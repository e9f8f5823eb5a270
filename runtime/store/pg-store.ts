/**
 * A store in PostgreSQL, for runners on several machines. Tables (pg-schema.ts): `akts.sessions` (the summary, the
 * fence and the lease holder), `akts.journal` (one row per record: its encoded frame, as in a journal file) and
 * `akts.events`. Leases, fencing and what an append guarantees: docs/stores.md.
 *
 * This module loads `pg`; it is required only when a `postgres://` store is opened (open.ts).
 */
import { Client, Pool, type QueryResult, type QueryResultRow } from "pg";
import { decode, encode } from "../codec";
import { decodeFrame, encodeFrame, type AttemptRecord, type FsyncPolicy, type HeaderRecord, type JournalRecord } from "../journal";
import { JournalCorruptError, StaleLeaseError } from "../errors";
import type { Inbox, Waiter } from "../session-state";
import { AktsError } from "../../errors";
import { HOST, OWN_START, processAlive, type LeaseHolder } from "./holder";
import { jsonSafe } from "./json-safe";
import { migrate } from "./pg-schema";
import { DEFAULT_RETRY, isNotServing, isTransient, retrying, type RetryPolicy } from "./pg-retry";
import { PgWriter, type AppendFailure, type AppendOutcome } from "./pg-writer";
import { PgValues } from "./pg-values";
import type { StoredValue, ValueOp } from "./values";
import { PgCancels, PgIdempotency, PgQueue, PgSlots } from "./pg-operate";
import { PgVersions } from "./pg-versions";
import {
  UNFINISHED,
  checkSessionId,
  newEventId,
  type JournalRead,
  type ListFilter,
  type SessionLease,
  type SessionStatus,
  type SessionSummary,
  type StatusExtra,
  type Store,
  type CreateOptions,
} from "./store";

export interface PgStoreOptions {
  /** A lease not renewed for this long is free; holders renew every third of it. Default 60 s. */
  readonly leaseTtlMs?: number;
  /**
   * A waiting `nextEvent` is woken by NOTIFY when an event is delivered; it also looks every this often, in case
   * the notification was lost with a dropped connection. Default 1 s.
   */
  readonly eventPollMs?: number;
  /** Connections of the pool, and of the journal appends' pool. Default 4 each. */
  readonly poolSize?: number;
  /** How outages are waited out (pg-retry.ts): statements are retried for up to `budgetMs` (default 30 s). */
  readonly retry?: RetryPolicy;
  /**
   * `always` (default): every commit waits for the server's WAL flush (its `synchronous_commit`). `batch` (and
   * `none`): journal appends commit without waiting for it; creation, status writes and a session's end still do,
   * and each such flush covers every earlier commit. What a server crash can then lose: docs/stores.md.
   */
  readonly fsync?: FsyncPolicy;
}

/** A server never reached yet is more likely misconfigured than restarting: opening retries that only briefly. */
const OPEN_CONNECT_RETRY_MS = 1_000;

const DEFAULT_LEASE_TTL_MS = 60_000;
const DEFAULT_EVENT_POLL_MS = 1_000;
const DEFAULT_POOL_SIZE = 4;
const EVENTS_CHANNEL = "akts_events";

/** The URL as shown in messages: its password replaced by nothing. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = "";
    return parsed.href;
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, "//$1@");
  }
}

/**
 * Whether pg can read the URL. A server's Unix socket is named by a `host` parameter after an empty host
 * (`postgres://user@/db?host=/var/run/postgresql`), which the URL parser refuses with a user in it and pg reads as
 * it reads an address, so the check sees it with a host in that place, as pg's own parser does.
 */
function validUrl(url: string): boolean {
  return URL.canParse(url) || URL.canParse(url.replace("@/", "@localhost/"));
}

/** Errors that mean the server is not there for us (network, authentication, missing database), not a bug. */
function isUnreachable(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (err instanceof AggregateError) return true;
  if (typeof code !== "string") return /connect|connection terminated/i.test((err as Error).message ?? "");
  return /^(E[A-Z]|08|28|3D000|57P|53300)/.test(code);
}

function describe(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map((e: Error) => e.message).join("; ");
  return (err as Error).message;
}

interface SessionRow {
  id: string;
  project: string;
  trigger: string;
  handler: string;
  mode: SessionSummary["mode"];
  status: SessionStatus;
  attempts: number;
  created_at: string;
  updated_at: string;
  error: string | null;
  error_code: string | null;
  result: string | null;
  parent: string | null;
}

const SUMMARY_COLUMNS = "id, project, trigger, handler, mode, status, attempts, created_at, updated_at, error, error_code, result, parent";

function summaryOf(row: SessionRow): SessionSummary {
  return {
    id: row.id,
    project: row.project,
    trigger: row.trigger,
    handler: row.handler,
    mode: row.mode,
    status: row.status,
    attempts: row.attempts,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    ...(row.error === null ? {} : { error: row.error }),
    ...(row.error_code === null ? {} : { errorCode: row.error_code }),
    ...(row.result === null ? {} : { result: JSON.parse(row.result) }),
    ...(row.parent === null ? {} : { parent: row.parent }),
  };
}

/**
 * A new session: the session row (its first attempt counted, so the engine's "running" status write after it has
 * nothing to change) and its first frames, together or not at all; and whether a cancellation was requested before
 * the session existed (a queued start), the engine's first question about it. `flushed: false` (CreateOptions
 * .deferSync): its commit does not wait for the WAL flush (set_config for this statement's transaction, in the same
 * round trip); the session's next commit that waits covers it, since the WAL is one sequence.
 */
function createStatement(flushed: boolean): string {
  return `WITH s AS (
    INSERT INTO akts.sessions (id, project, trigger, handler, mode, status, attempts, created_at, updated_at, fence,
                               holder, holder_host, holder_pid, holder_start, expires_at, parent)
    VALUES ($1, $2, $3, $4, $5, 'running', $15, $6, $7, 1, $8, $9, $10, $11, now() + $12::double precision * interval '1 millisecond', $14)
    RETURNING id),
  j AS (INSERT INTO akts.journal (session_id, idx, frame) SELECT id, f.ord - 1, f.frame FROM s, unnest($13::bytea[]) WITH ORDINALITY AS f (frame, ord))
  SELECT EXISTS (SELECT 1 FROM akts.cancels WHERE session_id = $1) AS cancelled${flushed ? "" : ", set_config('synchronous_commit', 'off', true)"} FROM s`;
}
const CREATE = createStatement(true);
const CREATE_DEFERRED = createStatement(false);

/**
 * A write that changes nothing the session shows, whatever its state: its commit waits for the WAL flush, which
 * covers every commit before it (a transaction that writes no WAL does not wait, even with a transaction id).
 */
const FLUSH = "UPDATE akts.sessions SET updated_at = updated_at WHERE id = $1";

export class PgStore implements Store {
  private readonly held = new Set<PgLease>();
  /** Sessions created here whose cancellation the engine has not asked about yet: whether one was requested then. */
  private readonly askedAtCreate = new Map<string, boolean>();
  private heartbeat: NodeJS.Timeout | undefined;
  private appends: PgWriter | undefined;
  private readonly listener: EventListener;
  readonly ttlMs: number;
  private readonly pollMs: number;
  readonly retry: RetryPolicy;
  private readonly fsync: FsyncPolicy;
  private closed = false;
  private readonly values: PgValues;
  private readonly cancels = new PgCancels((text, params) => this.query(text, params));
  readonly queue = new PgQueue((text, params) => this.query(text, params));
  readonly idempotency = new PgIdempotency((text, params) => this.query(text, params));
  readonly slots: PgSlots;

  private constructor(
    private readonly url: string,
    readonly location: string,
    private readonly pool: Pool,
    private readonly poolSize: number,
    options: PgStoreOptions,
  ) {
    this.ttlMs = options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS;
    this.pollMs = options.eventPollMs ?? DEFAULT_EVENT_POLL_MS;
    this.retry = options.retry ?? DEFAULT_RETRY;
    this.fsync = options.fsync ?? "always";
    this.listener = new EventListener(url);
    this.values = new PgValues(pool, this.retry, (err) => this.wrap(err));
    this.slots = new PgSlots(pool, this.retry, (err) => this.wrap(err), this.ttlMs);
  }

  mutateValue(project: string, key: string, op: ValueOp, token?: string): Promise<unknown> {
    return this.values.mutateValue(project, key, op, token);
  }

  listValues(project: string): Promise<StoredValue[]> {
    return this.values.listValues(project);
  }

  /** Connects and creates or upgrades the schema; an unreachable server is AKTS4004 naming the URL without its password. */
  static async open(url: string, options: PgStoreOptions = {}): Promise<PgStore> {
    const location = redactUrl(url);
    if (!validUrl(url)) {
      throw new AktsError("AKTS9001", `invalid store URL ${location}`, { hint: "postgres://user[:password]@host[:port]/database, or postgres://user@/database?host=/socket/folder" });
    }
    const pool = new Pool({ connectionString: url, max: options.poolSize ?? DEFAULT_POOL_SIZE, connectionTimeoutMillis: 10_000, allowExitOnIdle: true });
    // An idle connection dropped by the server is replaced by the next query; the error itself needs no handling.
    pool.on("error", () => {});
    const store = new PgStore(url, location, pool, options.poolSize ?? DEFAULT_POOL_SIZE, options);
    const started = Date.now();
    try {
      await retrying(
        async () => {
          const client = await pool.connect();
          try {
            await migrate(client, location);
          } finally {
            client.release();
          }
        },
        { policy: store.retry, retryable: (err) => isNotServing(err) || (isTransient(err) && Date.now() - started < OPEN_CONNECT_RETRY_MS) },
      );
    } catch (err) {
      await pool.end().catch(() => {});
      throw store.wrap(err);
    }
    return store;
  }

  /** A pg error as the AktsError it means; others (bugs) unchanged. */
  wrap(err: unknown): unknown {
    if (err instanceof AktsError || !isUnreachable(err)) return err;
    return new AktsError("AKTS4004", `cannot reach the PostgreSQL store at ${this.location}: ${describe(err)}`);
  }

  /** One statement, retried through an outage (pg-retry.ts); `landed` as there, for a statement that is not idempotent. */
  query<R extends QueryResultRow>(text: string, params: unknown[], landed?: () => Promise<boolean>): Promise<{ rows: R[]; rowCount: number }> {
    const config = { text, name: NAMED.get(text), values: params };
    const answer = (result: QueryResult<R>) => ({ rows: result.rows, rowCount: result.rowCount ?? 0 });
    const at = Date.now();
    // The first try by callback: the usual answer costs one promise, not one per layer (each pays the async hooks).
    return new Promise((resolve, reject) =>
      this.pool.query<R>(config, (error: Error | undefined, result) => {
        if (!error) return resolve(answer(result));
        retrying(
          async () => answer(await this.pool.query<R>(config)),
          { policy: this.retry, failed: { error, at }, landed: landed && (async () => ((await landed()) ? { rows: [] as R[], rowCount: 1 } : undefined)) },
        ).then(resolve, (err: unknown) => reject(this.wrap(err)));
      }),
    );
  }

  /** What appends journal frames (pg-writer.ts), made by the first lease. */
  get writer(): PgWriter {
    return (this.appends ??= new PgWriter(this.url, this.poolSize, this.retry, this.fsync !== "always"));
  }

  private missing(id: string): AktsError {
    return new AktsError("AKTS9004", `no session ${id} in ${this.location}`);
  }

  async create(header: HeaderRecord, runner: string, attempt?: AttemptRecord, options: CreateOptions = {}): Promise<SessionLease> {
    checkSessionId(header.sessionId);
    const now = Date.now();
    const attempts = attempt ? 1 : 0;
    let cancelled: boolean;
    try {
      const { rows } = await this.query<{ cancelled: boolean }>(
        options.deferSync ? CREATE_DEFERRED : CREATE,
        [header.sessionId, header.project, header.trigger, header.handler, header.mode, header.createdAt, now, runner, HOST, process.pid, OWN_START ?? null, this.ttlMs, (attempt ? [header, attempt] : [header]).map(encodeFrame), header.parent ?? null, attempts],
        // A retry after a lost reply: the first try committed if the session is there, leased by this runner.
        async () => (await this.pool.query("SELECT 1 FROM akts.sessions WHERE id = $1 AND fence = 1 AND holder = $2 AND holder_pid = $3", [header.sessionId, runner, process.pid])).rowCount === 1,
      );
      cancelled = rows[0]?.cancelled ?? false;
    } catch (err) {
      if ((err as { code?: string }).code === "23505") throw new AktsError("AKTS9001", `session ${header.sessionId} already exists in ${this.location}`);
      throw err;
    }
    this.askedAtCreate.set(header.sessionId, cancelled);
    return this.hold(new PgLease(this, header.sessionId, 1, attempt ? 2 : 1, { status: "running", attempts }, options.deferSync ?? false));
  }

  async claim(id: string, runner: string): Promise<SessionLease | undefined> {
    checkSessionId(id);
    // Free means released or expired; a holder on this machine whose process is gone frees the fence it held.
    const take = (deadFence: number | null) =>
      this.query<{ fence: number }>(
        `UPDATE akts.sessions
            SET fence = fence + 1, holder = $2, holder_host = $3, holder_pid = $4, holder_start = $5,
                expires_at = now() + $6::double precision * interval '1 millisecond'
          WHERE id = $1 AND status IN ('running', 'waiting')
            AND (holder IS NULL OR expires_at < now() OR fence = $7)
          RETURNING fence`,
        [id, runner, HOST, process.pid, OWN_START ?? null, this.ttlMs, deadFence],
      );
    let { rows } = await take(null);
    if (rows.length === 0) {
      const seen = await this.query<{ status: SessionStatus; fence: number; holder_host: string | null; holder_pid: number | null; holder_start: string | null }>(
        "SELECT status, fence, holder_host, holder_pid, holder_start FROM akts.sessions WHERE id = $1",
        [id],
      );
      const row = seen.rows[0];
      if (!row) throw this.missing(id);
      if (!UNFINISHED.includes(row.status) || row.holder_host !== HOST || row.holder_pid === null) return undefined;
      if (processAlive(row.holder_pid, row.holder_start ?? undefined)) return undefined;
      ({ rows } = await take(row.fence));
      if (rows.length === 0) return undefined;
    }
    // Where the journal ends, read once the claim committed: no append of an older fence can land after that.
    const end = await this.query<{ next: number }>("SELECT coalesce(max(idx) + 1, 0) AS next FROM akts.journal WHERE session_id = $1", [id]);
    return this.hold(new PgLease(this, id, rows[0].fence, end.rows[0].next));
  }

  /** Who holds the session's lease, for `akts resume` to name (holder.ts, describeHolder). */
  async holder(id: string): Promise<LeaseHolder | undefined> {
    const { rows } = await this.query<{ holder: string | null; holder_host: string; holder_pid: number }>("SELECT holder, holder_host, holder_pid FROM akts.sessions WHERE id = $1", [id]);
    const row = rows[0];
    return row?.holder ? { runner: row.holder, host: row.holder_host, pid: row.holder_pid } : undefined;
  }

  private hold(lease: PgLease): PgLease {
    this.held.add(lease);
    // Armed by the first lease and kept until close (unref'd, a beat with no lease sends nothing): not made and
    // cleared again around every session of a server that runs one at a time.
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.ttlMs / 3)));
      this.heartbeat.unref();
    }
    return lease;
  }

  /** Heartbeat: extends the leases this store holds, those still at their fence; a failure waits for the next beat. */
  private async renew(): Promise<void> {
    const leases = [...this.held];
    if (leases.length === 0) return;
    await this.query(
      `UPDATE akts.sessions s SET expires_at = now() + $3::double precision * interval '1 millisecond'
         FROM unnest($1::text[], $2::int[]) AS h (id, fence)
        WHERE s.id = h.id AND s.fence = h.fence AND s.holder IS NOT NULL`,
      [leases.map((l) => l.id), leases.map((l) => l.fence), this.ttlMs],
    ).catch(() => {});
  }

  drop(lease: PgLease): void {
    this.held.delete(lease);
    this.askedAtCreate.delete(lease.id);
  }

  /** What a write refused by the fence says: the lease is stale, or the session is gone. */
  async staleError(id: string, fence: number): Promise<AktsError> {
    const { rows } = await this.query<{ fence: number }>("SELECT fence FROM akts.sessions WHERE id = $1", [id]);
    return rows[0] ? new StaleLeaseError(id, fence, rows[0].fence) : this.missing(id);
  }

  /** The error of an append that was not stored. */
  appendError(id: string, fence: number, outcome: AppendFailure): unknown {
    if (outcome.lost !== undefined) return this.lostError(id, outcome.lost);
    if (outcome.stale !== undefined) return outcome.stale < 0 ? this.missing(id) : new StaleLeaseError(id, fence, outcome.stale);
    return this.wrap(Object.assign(new Error(outcome.message), { code: outcome.code }));
  }

  /** The journal ends at `next`, before frames this lease had stored: the server lost them. */
  lostError(id: string, next: number): AktsError {
    return new AktsError("AKTS4030", `session ${id}: ${this.location} lost journal frames it had acknowledged (it ends after frame ${next - 1}; a database crash under fsync batch); the session resumes from the journal it kept`);
  }

  async get(id: string): Promise<SessionSummary | undefined> {
    checkSessionId(id);
    const { rows } = await this.query<SessionRow>(`SELECT ${SUMMARY_COLUMNS} FROM akts.sessions WHERE id = $1`, [id]);
    return rows[0] && summaryOf(rows[0]);
  }

  async unfinished(): Promise<SessionSummary[]> {
    const { rows } = await this.query<SessionRow>(`SELECT ${SUMMARY_COLUMNS} FROM akts.sessions WHERE status IN ('running', 'waiting') ORDER BY id`, []);
    return rows.map(summaryOf);
  }

  /** Only the conditions asked for are in the query, so the planner picks the index that serves them (pg-schema.ts). */
  async list(filter: ListFilter = {}): Promise<SessionSummary[]> {
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, op, value] of [["status", "=", filter.status], ["trigger", "=", filter.trigger], ["id", "<", filter.before]] as const) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} ${op} $${params.length}`);
    }
    params.push(filter.limit ?? null);
    const { rows } = await this.query<SessionRow>(
      `SELECT ${SUMMARY_COLUMNS} FROM akts.sessions ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $${params.length}`,
      params,
    );
    return rows.map(summaryOf);
  }

  async read(id: string): Promise<JournalRead> {
    checkSessionId(id);
    const { rows } = await this.query<{ idx: number; frame: Buffer }>("SELECT idx, frame FROM akts.journal WHERE session_id = $1 ORDER BY idx", [id]);
    if (rows.length === 0) throw this.missing(id);
    const where = `${this.location} session ${id}`;
    const records = rows.map((row, i) => {
      if (row.idx !== i) throw new JournalCorruptError(where, i, `frames ${i} to ${row.idx - 1} are missing`, "frame");
      return decodeFrame(row.frame, where, i);
    });
    return { records, notices: [] };
  }

  async deliver(id: string, name: string, value: unknown, eventId = newEventId()): Promise<string> {
    checkSessionId(id);
    // The notification is sent when the insert commits, so a woken waiter always finds the event.
    const { rowCount } = await this.query(
      `WITH e AS (INSERT INTO akts.events (id, session_id, name, value) SELECT $2, id, $3, $4 FROM akts.sessions WHERE id = $1
                  ON CONFLICT (id) DO NOTHING RETURNING session_id)
       SELECT pg_notify('${EVENTS_CHANNEL}', session_id) FROM e`,
      [id, eventId, name, encode(value)],
    );
    if (rowCount === 0 && !(await this.get(id))) throw this.missing(id);
    return eventId;
  }

  inbox(id: string, consumed: ReadonlySet<string>): Inbox {
    let cleaned = false;
    const next = async (names: readonly string[]) => {
      // Events the journal already holds were consumed by a run that died before removing them.
      if (!cleaned && consumed.size > 0) await this.query("DELETE FROM akts.events WHERE session_id = $1 AND id = ANY($2)", [id, [...consumed]]);
      cleaned = true;
      const { rows } = await this.query<{ id: string; name: string; value: Buffer }>(
        // Not one this run journaled already (a sender's repeated delivery after its crash).
        "SELECT id, name, value FROM akts.events WHERE session_id = $1 AND name = ANY($2) AND NOT (id = ANY($3)) ORDER BY id LIMIT 1",
        [id, names, [...consumed]],
      );
      return rows[0] && { id: rows[0].id, name: rows[0].name, value: decode(rows[0].value) };
    };
    return {
      take: async (name, deadline) => {
        for (;;) {
          // Listening before looking: an event delivered in between wakes the wait below instead of being missed.
          const wake = await this.listener.wake(id);
          try {
            const got = await next(typeof name === "string" ? [name] : name);
            if (got) return got;
            if (deadline !== undefined && Date.now() >= deadline) return undefined;
            await wake.within(deadline === undefined ? this.pollMs : Math.min(this.pollMs, deadline - Date.now()));
          } finally {
            wake.cancel();
          }
        }
      },
      consumed: async (eventId) => {
        await this.query("DELETE FROM akts.events WHERE id = $1", [eventId]);
      },
    };
  }

  requestCancel(id: string): Promise<void> {
    return this.cancels.request(id);
  }

  /** The first question about a session this store just created was answered by its create statement. */
  cancelRequests(ids: readonly string[]): Promise<Set<string>> {
    if (ids.length === 1 && this.askedAtCreate.has(ids[0])) {
      const cancelled = this.askedAtCreate.get(ids[0]);
      this.askedAtCreate.delete(ids[0]);
      return Promise.resolve(new Set(cancelled ? ids : []));
    }
    return this.cancels.requested(ids);
  }

  sweepCancels(): Promise<number> {
    return this.cancels.sweep();
  }

  keptVersions(localDir: string): PgVersions {
    return new PgVersions((text, params) => this.query(text, params), localDir);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const lease of [...this.held]) await lease.release();
    clearInterval(this.heartbeat);
    await this.listener.close();
    await this.appends?.close();
    await this.pool.end();
  }
}

/**
 * One connection that LISTENs for deliveries and wakes the inboxes waiting on them. Opened by the first wait;
 * if it cannot be opened or drops, waits fall back to polling and the next wait opens it again.
 */
class EventListener {
  private client: Promise<Client | undefined> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly url: string) {}

  private connect(): Promise<Client | undefined> {
    return (this.client ??= (async () => {
      const client = new Client({ connectionString: this.url, connectionTimeoutMillis: 10_000 });
      const lost = () => {
        this.client = undefined;
        void client.end().catch(() => {});
      };
      client.on("error", lost);
      client.on("end", () => (this.client = undefined));
      client.on("notification", (n) => {
        for (const wake of this.waiters.get(n.payload ?? "") ?? []) wake();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${EVENTS_CHANNEL}`);
        return client;
      } catch {
        lost();
        return undefined;
      }
    })());
  }

  /** Registers a waiter for `session`; `within(ms)` resolves on a delivery or after `ms`. */
  async wake(session: string): Promise<{ within(ms: number): Promise<void>; cancel(): void }> {
    await this.connect();
    let woken = false;
    let resolve: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const wake = () => {
      woken = true;
      resolve?.();
    };
    let set = this.waiters.get(session);
    if (!set) this.waiters.set(session, (set = new Set()));
    set.add(wake);
    return {
      within: (ms) =>
        new Promise<void>((r) => {
          resolve = r;
          if (woken) return r();
          timer = setTimeout(r, Math.max(0, ms));
        }),
      cancel: () => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(session);
      },
    };
  }

  async close(): Promise<void> {
    const client = await this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }
}

/** The status columns a lease wrote last. */
interface Written {
  readonly status: SessionStatus;
  readonly attempts: number;
}

/** The summary columns of a status write, NUL-free (a text column cannot hold NUL, which an error message might). */
function statusParams(status: SessionStatus, extra: StatusExtra): unknown[] {
  const result = extra.result === undefined ? null : (JSON.stringify(jsonSafe(extra.result)) ?? null);
  return [status, extra.attempts ?? null, extra.error?.replace(/\0/g, "\uFFFD") ?? null, extra.errorCode ?? null, result, Date.now()];
}

const STATUS_SET = "status = $3, attempts = coalesce($4, attempts), error = coalesce($5, error), error_code = coalesce($6, error_code), result = coalesce($7, result), updated_at = $8";
const RELEASE_SET = "holder = NULL, holder_host = NULL, holder_pid = NULL, holder_start = NULL, expires_at = NULL";

/**
 * A session's end in one statement: the end frame after the journal's last, the final summary, and the lease freed.
 * The UPDATE's row lock orders it against a claim as an append's share lock does: a stale fence writes nothing; nor
 * does a journal that does not end where the lease expects ($10).
 */
const FINISH = `WITH s AS (
    UPDATE akts.sessions u SET ${STATUS_SET}, ${RELEASE_SET}
     WHERE id = $1 AND fence = $2 AND $10::integer = (SELECT coalesce(max(idx) + 1, 0) FROM akts.journal j WHERE j.session_id = u.id)
     RETURNING id)
  INSERT INTO akts.journal (session_id, idx, frame) SELECT s.id, $10, $9 FROM s`;

/** The statements of every session's path, named: each connection parses and plans them once. */
const NAMED = new Map([
  [CREATE, "akts_create"],
  [CREATE_DEFERRED, "akts_create_deferred"],
  [FINISH, "akts_finish"],
]);

class PgLease implements SessionLease {
  private released = false;
  /** Status writes run one after another, so the last one asked for is the one that stays. */
  private statusWrites: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: PgStore,
    readonly id: string,
    readonly fence: number,
    /** The index of the next frame: where this lease's journal ends. */
    private next: number,
    /** What the row holds already (a create wrote it): a status write that would change nothing is not sent. */
    private written?: Written,
    /** Created with deferSync: its creation's commit did not wait for the WAL flush. */
    private readonly deferred = false,
  ) {}

  private flushed: Promise<void> | undefined;

  /** A deferred creation is made durable by a commit that waits for the flush (once: it covers all before it). */
  durable(): Promise<void> {
    if (!this.deferred) return Promise.resolve();
    return (this.flushed ??= this.store.query(FLUSH, [this.id]).then(
      async ({ rowCount }) => {
        if (rowCount === 0) throw await this.store.staleError(this.id, this.fence);
      },
      (err: unknown) => {
        this.flushed = undefined;
        throw err;
      },
    ));
  }

  /** The index the next frame must get. */
  private expect(): number {
    return this.next++;
  }

  private stored(outcome: AppendOutcome): void {
    if (!outcome.ok) throw this.store.appendError(this.id, this.fence, outcome);
  }

  private assertOpen(): void {
    if (this.released) throw new AktsError("AKTS4003", `session ${this.id}: the lease was released; nothing was written`);
  }

  append(record: JournalRecord): Promise<void> {
    return new Promise((resolve, reject) => this.appendThen(record, { resolve, reject }));
  }

  appendThen(record: JournalRecord, waiter: Waiter): void {
    this.assertOpen();
    this.store.writer.appendThen(this.id, this.fence, encodeFrame(record), this.expect(), (outcome) =>
      outcome.ok ? waiter.resolve() : waiter.reject(this.store.appendError(this.id, this.fence, outcome)),
    );
  }

  appendSync(record: JournalRecord): void {
    this.assertOpen();
    this.stored(this.store.writer.appendSync(this.id, this.fence, encodeFrame(record), this.expect()));
  }

  setStatus(status: SessionStatus, extra: StatusExtra = {}): Promise<void> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(err);
    }
    const unchanged = this.written?.status === status && (extra.attempts ?? this.written.attempts) === this.written.attempts;
    if (unchanged && extra.error === undefined && extra.errorCode === undefined && extra.result === undefined) return Promise.resolve();
    this.written = undefined;
    const params = statusParams(status, extra);
    const write = this.statusWrites.catch(() => {}).then(async () => {
      const { rowCount } = await this.store.query(`UPDATE akts.sessions SET ${STATUS_SET} WHERE id = $1 AND fence = $2`, [this.id, this.fence, ...params]);
      if (rowCount === 0) throw await this.store.staleError(this.id, this.fence);
    });
    this.statusWrites = write;
    return write;
  }

  /** The end record, the final status and the release in one statement (one round trip, one commit). */
  async finish(end: JournalRecord, status: SessionStatus, extra: StatusExtra = {}, durable?: () => void): Promise<void> {
    this.assertOpen();
    await this.statusWrites.catch(() => {});
    const frame = encodeFrame(end);
    const idx = this.next;
    const { rowCount } = await this.store.query(
      FINISH,
      [this.id, this.fence, ...statusParams(status, extra), frame, idx],
      // A retry after a lost reply: the first try committed if the end frame is the journal's last under this fence.
      async () => {
        const { rows } = await this.store.query<{ frame: Buffer }>(
          "SELECT j.frame FROM akts.sessions s JOIN akts.journal j ON j.session_id = s.id WHERE s.id = $1 AND s.fence = $2 AND s.holder IS NULL ORDER BY j.idx DESC LIMIT 1",
          [this.id, this.fence],
        );
        return rows[0]?.frame.equals(frame) ?? false;
      },
    );
    if (rowCount === 0) throw await this.finishError(idx);
    this.released = true;
    this.store.drop(this);
    durable?.();
  }

  /** Why a finish wrote nothing: a newer fence, a journal that lost frames, or no session. */
  private async finishError(idx: number): Promise<AktsError> {
    const { rows } = await this.store.query<{ fence: number; next: number }>(
      "SELECT fence, (SELECT coalesce(max(idx) + 1, 0) FROM akts.journal j WHERE j.session_id = s.id) AS next FROM akts.sessions s WHERE id = $1",
      [this.id],
    );
    if (rows[0]?.fence === this.fence && rows[0].next !== idx) return this.store.lostError(this.id, rows[0].next);
    return this.store.staleError(this.id, this.fence);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.store.drop(this);
    await this.statusWrites.catch(() => {});
    // Frees only this fence: a lease taken over since is untouched.
    await this.store.query(`UPDATE akts.sessions SET ${RELEASE_SET} WHERE id = $1 AND fence = $2`, [this.id, this.fence]);
  }
}
