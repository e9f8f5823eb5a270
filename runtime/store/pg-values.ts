/**
 * The PostgreSQL store's project values (docs/values.md): `akts.values` holds them, `akts.value_ops` the tokens of
 * recent mutations with their results. A mutation is one transaction under an advisory lock on its key (a row lock
 * cannot lock a value that does not exist yet), so concurrent runners apply one after the other.
 */
import type { Pool } from "pg";
import { decode, encode } from "../codec";
import { isTransient, retrying, type RetryPolicy } from "./pg-retry";
import { TOKEN_RETENTION_MS, applyValueOp, type StoredValue, type ValueOp, type ValueStore } from "./values";

/** Migration 4: the values and the tokens of the mutations applied. */
export const VALUES_MIGRATION = `CREATE TABLE IF NOT EXISTS akts.values (
     project text NOT NULL,
     key text NOT NULL,
     value bytea NOT NULL,
     updated_at bigint NOT NULL,
     PRIMARY KEY (project, key)
   );
   CREATE TABLE IF NOT EXISTS akts.value_ops (
     token text PRIMARY KEY,
     result bytea NOT NULL,
     at bigint NOT NULL
   );
   CREATE INDEX IF NOT EXISTS value_ops_at ON akts.value_ops (at);`;

export class PgValues implements ValueStore {
  constructor(
    private readonly pool: Pool,
    private readonly retry: RetryPolicy,
    private readonly wrap: (err: unknown) => unknown,
  ) {}

  async mutateValue(project: string, key: string, op: ValueOp, token?: string): Promise<unknown> {
    try {
      if (op.op === "get") return await this.get(project, key);
      // Without a token a retried transaction whose commit was lost would apply twice: only a token's is retried.
      return await retrying(() => this.apply(project, key, op, token), { policy: this.retry, retryable: (err) => token !== undefined && isTransient(err) });
    } catch (err) {
      throw this.wrap(err);
    }
  }

  private async get(project: string, key: string): Promise<unknown> {
    const { rows } = await this.pool.query<{ value: Buffer }>("SELECT value FROM akts.values WHERE project = $1 AND key = $2", [project, key]);
    return rows[0] && decode(rows[0].value);
  }

  private async apply(project: string, key: string, op: ValueOp, token: string | undefined): Promise<unknown> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query("SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))", [project, key]);
      if (token !== undefined) {
        const seen = await client.query<{ result: Buffer }>("SELECT result FROM akts.value_ops WHERE token = $1", [token]);
        if (seen.rows[0]) {
          await client.query("ROLLBACK");
          return decode(seen.rows[0].result) ?? undefined;
        }
      }
      const current = await client.query<{ value: Buffer }>("SELECT value FROM akts.values WHERE project = $1 AND key = $2", [project, key]);
      const { next, result } = applyValueOp(current.rows[0] && decode(current.rows[0].value), op);
      const now = Date.now();
      if (next === undefined) await client.query("DELETE FROM akts.values WHERE project = $1 AND key = $2", [project, key]);
      else {
        await client.query(
          "INSERT INTO akts.values (project, key, value, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (project, key) DO UPDATE SET value = $3, updated_at = $4",
          [project, key, encode(next), now],
        );
      }
      if (token !== undefined) {
        await client.query("INSERT INTO akts.value_ops (token, result, at) VALUES ($1, $2, $3)", [token, encode(result ?? null), now]);
        await client.query("DELETE FROM akts.value_ops WHERE at < $1", [now - TOKEN_RETENTION_MS]);
      }
      await client.query("COMMIT");
      return result;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async listValues(project: string): Promise<StoredValue[]> {
    try {
      const { rows } = await this.pool.query<{ key: string; value: Buffer }>("SELECT key, value FROM akts.values WHERE project = $1 ORDER BY key", [project]);
      return rows.map((r) => ({ key: r.key, value: decode(r.value) }));
    } catch (err) {
      throw this.wrap(err);
    }
  }
}
