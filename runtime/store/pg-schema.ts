/**
 * The PostgreSQL store's tables, in their own schema `akts` so they never meet an application's tables in a shared
 * database. Each migration runs once, in order, inside one transaction that holds an advisory lock: several
 * processes opening a new database at the same moment create it once.
 */
import type { PoolClient } from "pg";
import { crc32 } from "node:zlib";
import { AktsError } from "../../errors";
import { frameWord, PAYLOAD_START } from "../crc";
import { FRAME_OVERHEAD } from "../journal";
import { VALUES_MIGRATION } from "./pg-values";

/** Any fixed number: the key of the advisory lock migrations hold ("akts" in ASCII). */
const MIGRATION_LOCK = 0x616b7473;

/** SQL, or a step that needs code. */
type Migration = string | ((client: PoolClient) => Promise<void>);

const MIGRATIONS: readonly Migration[] = [
  `CREATE TABLE akts.sessions (
     id text PRIMARY KEY,
     project text NOT NULL,
     trigger text NOT NULL,
     handler text NOT NULL,
     mode text NOT NULL,
     status text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     created_at bigint NOT NULL,
     updated_at bigint NOT NULL,
     error text,
     error_code text,
     result text,
     fence integer NOT NULL,
     holder text,
     holder_host text,
     holder_pid integer,
     holder_start text,
     expires_at timestamptz
   );
   CREATE INDEX sessions_status ON akts.sessions (status, id);
   CREATE TABLE akts.journal (
     session_id text NOT NULL REFERENCES akts.sessions (id) ON DELETE CASCADE,
     idx integer NOT NULL,
     frame bytea NOT NULL,
     PRIMARY KEY (session_id, idx)
   );
   CREATE TABLE akts.events (
     id text PRIMARY KEY,
     session_id text NOT NULL REFERENCES akts.sessions (id) ON DELETE CASCADE,
     name text NOT NULL,
     value bytea NOT NULL
   );
   CREATE INDEX events_session ON akts.events (session_id, name, id);`,
  checkWords,
  // 3: the sessions list filtered by trigger (and status), newest first, paged by id (ListFilter): each filter
  // reads its page from an index in id order, however many sessions there are.
  `CREATE INDEX IF NOT EXISTS sessions_trigger ON akts.sessions (trigger, id);
   CREATE INDEX IF NOT EXISTS sessions_trigger_status ON akts.sessions (trigger, status, id);`,
  VALUES_MIGRATION,
  // 5: the session that started a session with start(), if one did.
  "ALTER TABLE akts.sessions ADD COLUMN IF NOT EXISTS parent text",
  // 6: operator state (pg-operate.ts): cancellation requests, the queue of sessions beyond a trigger's
  // max_concurrent, webhook Idempotency-Keys.
  `CREATE TABLE IF NOT EXISTS akts.cancels (session_id text PRIMARY KEY, at bigint NOT NULL);
   CREATE TABLE IF NOT EXISTS akts.queue (session_id text PRIMARY KEY, project text NOT NULL, trigger text NOT NULL, event bytea NOT NULL);
   CREATE INDEX IF NOT EXISTS queue_trigger ON akts.queue (project, trigger, session_id);
   CREATE TABLE IF NOT EXISTS akts.idempotency (key text PRIMARY KEY, session_id text NOT NULL, digest text NOT NULL, expires_at bigint NOT NULL);
   CREATE INDEX IF NOT EXISTS idempotency_expiry ON akts.idempotency (expires_at);`,
  // 7: the sessions holding a slot of a trigger with max_concurrent (pg-operate.ts), and the code versions kept by
  // `akts serve --keep-versions` (pg-versions.ts).
  `CREATE TABLE IF NOT EXISTS akts.slots (session_id text PRIMARY KEY, project text NOT NULL, trigger text NOT NULL, taken_at bigint NOT NULL);
   CREATE INDEX IF NOT EXISTS slots_trigger ON akts.slots (project, trigger);
   CREATE TABLE IF NOT EXISTS akts.versions (fingerprint text PRIMARY KEY, modules text NOT NULL, files bytea NOT NULL, kept_at bigint NOT NULL);`,
  // 8: no foreign key from a journal row to its session. Every statement that writes journal rows finds the session
  // row in the same statement (an append under its share lock, a finish under its update, a create inserting it),
  // and akts never deletes a session; the check cost the server a lookup of the session per frame, about a quarter
  // of an append's work.
  "ALTER TABLE akts.journal DROP CONSTRAINT IF EXISTS journal_session_id_fkey",
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the database to SCHEMA_VERSION; a database migrated by a newer akts is an error, not a downgrade. */
export async function migrate(client: PoolClient, location: string): Promise<void> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1)", [MIGRATION_LOCK]);
    await client.query("CREATE SCHEMA IF NOT EXISTS akts");
    await client.query("CREATE TABLE IF NOT EXISTS akts.schema_version (version integer NOT NULL)");
    const { rows } = await client.query<{ version: number }>("SELECT version FROM akts.schema_version");
    const current = rows[0]?.version ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new AktsError("AKTS9002", `the store at ${location} has schema version ${current}; this akts knows up to ${SCHEMA_VERSION}`, { hint: "upgrade akts" });
    }
    for (let v = current; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (typeof step === "string") await client.query(step);
      else await step(client);
    }
    if (rows.length === 0) await client.query("INSERT INTO akts.schema_version VALUES ($1)", [SCHEMA_VERSION]);
    else if (current < SCHEMA_VERSION) await client.query("UPDATE akts.schema_version SET version = $1", [SCHEMA_VERSION]);
    await client.query("COMMIT");
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  }
}

/**
 * 2: journal rows hold frames of journal format 4, whose second word is a check word (docs/journal.md) where
 * format 3 had the payload's crc (continued from the length). A frame whose crc holds gets its check word; one
 * whose crc does not is left as it is, so it is still damage when its session is read.
 */
async function checkWords(client: PoolClient): Promise<void> {
  let after: [string, number] = ["", -1];
  for (;;) {
    const { rows } = await client.query<{ session_id: string; idx: number; frame: Buffer }>(
      "SELECT session_id, idx, frame FROM akts.journal WHERE (session_id, idx) > ($1, $2) ORDER BY session_id, idx LIMIT 1000",
      after,
    );
    if (rows.length === 0) return;
    const changed: { ids: string[]; idxs: number[]; frames: Buffer[] } = { ids: [], idxs: [], frames: [] };
    for (const { session_id, idx, frame } of rows) {
      const length = frame.length - FRAME_OVERHEAD;
      const payload = frame.subarray(FRAME_OVERHEAD);
      if (length < 1 || frame.readUInt32LE(0) !== length || crc32(payload, length) !== frame.readUInt32LE(4)) continue;
      frame.writeUInt32LE(frameWord(length, crc32(payload, PAYLOAD_START)), 4);
      changed.ids.push(session_id);
      changed.idxs.push(idx);
      changed.frames.push(frame);
    }
    if (changed.ids.length > 0) {
      await client.query(
        "UPDATE akts.journal AS j SET frame = u.frame FROM unnest($1::text[], $2::integer[], $3::bytea[]) AS u(session_id, idx, frame) WHERE j.session_id = u.session_id AND j.idx = u.idx",
        [changed.ids, changed.idxs, changed.frames],
      );
    }
    const last = rows[rows.length - 1];
    after = [last.session_id, last.idx];
  }
}
