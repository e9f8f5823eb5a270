/**
 * The PostgreSQL store against a private server (pg-server.ts): the store contract, then what only a shared
 * database has to get right: racing claims, fenced appends, expiry, migrations, connection errors, damaged rows.
 * The store is loaded from dist/ (run `npm run build` first): its journal writer thread runs compiled JavaScript.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as net from "node:net";
import * as path from "node:path";
import type * as PgStoreModule from "../runtime/store/pg-store";
import type { SessionLease } from "../runtime/store";
import { spawn, spawnSync } from "node:child_process";
import { crc32 } from "node:zlib";
import { akts, tempDir } from "./helpers";
import { startPgServer, type PgServer } from "./pg-server";
import { activity, header, storeContract } from "./store-contract";

const DIST_PG = path.resolve(__dirname, "..", "dist", "runtime", "store", "pg-store.js");
const { PgStore } = require(DIST_PG) as typeof PgStoreModule;

let pg: PgServer;
let url: string;
beforeAll(async () => {
  pg = await startPgServer();
  url = await pg.createDatabase("store_test");
});
afterAll(() => pg?.stop());

/** Waits in the contract's waiting-inbox test would take this long without NOTIFY. */
const NO_POLLING = { eventPollMs: 600_000 };

storeContract("PostgreSQL store", {
  make: async () => {
    const store = await PgStore.open(url, NO_POLLING);
    await pg.sql("store_test", "TRUNCATE akts.sessions, akts.journal CASCADE");
    return store;
  },
  openInChild: (ttlMs) => `const store = await require(${JSON.stringify(DIST_PG)}).PgStore.open(${JSON.stringify(url)}, { leaseTtlMs: ${ttlMs} });`,
});

describe("PostgreSQL store", () => {
  test("the location is the URL without its password", async () => {
    const store = await PgStore.open(url);
    expect(store.location).toBe(`postgres://akts@127.0.0.1:${pg.port}/store_test`);
    await store.close();
  });

  test("a sync append made while an async one of its session is under way lands after it", async () => {
    const store = await PgStore.open(url);
    try {
      const lease = await store.create(header(), "r");
      // The sync appends' thread and the async appends' connection exist: what follows is sent at once.
      lease.appendSync(activity(1));
      await lease.append(activity(2));
      // Another process locks the session row for 300 ms, so the next async append waits on the server, under way.
      const locker = spawn(process.execPath, ["-e", `(async () => {
        const c = new (require("pg").Client)(${JSON.stringify(url)});
        await c.connect();
        await c.query("BEGIN");
        await c.query("SELECT 1 FROM akts.sessions WHERE id = $1 FOR UPDATE", [${JSON.stringify(lease.id)}]);
        process.stdout.write("locked\\n");
        await c.query("SELECT pg_sleep(0.3)");
        await c.query("COMMIT");
        await c.end();
      })()`], { stdio: ["ignore", "pipe", "inherit"], cwd: path.resolve(__dirname, "..") });
      await new Promise<void>((resolve, reject) => {
        locker.stdout.on("data", () => resolve());
        locker.on("exit", (code) => reject(new Error(`the locker exited (${code})`)));
      });
      const underWay = lease.append(activity(3));
      // Both statements wait for the lock; the sync one must not land first, nor take the other's absence for a loss.
      lease.appendSync(activity(4));
      await underWay;
      await lease.release();
      expect((await store.read(lease.id)).records.slice(1).map((r) => (r.t === "activity" ? r.seq : r.t))).toEqual([1, 2, 3, 4]);
    } finally {
      await store.close();
    }
  });

  test("runners racing to claim the same session: exactly one wins", async () => {
    const owner = await PgStore.open(url);
    const lease = await owner.create(header(), "r");
    await lease.release();
    const racers = await Promise.all(Array.from({ length: 8 }, () => PgStore.open(url)));
    try {
      const leases = await Promise.all(racers.map((s, i) => s.claim(lease.id, `racer-${i}`)));
      const won = leases.filter((l): l is SessionLease => l !== undefined);
      expect(won.map((l) => l.fence)).toEqual([2]);
    } finally {
      for (const s of [owner, ...racers]) await s.close();
    }
  });

  test("an expired lease is claimed by another runner; the stale lease's appends are refused and land nothing", async () => {
    const a = await PgStore.open(url);
    const b = await PgStore.open(url);
    try {
      const stale = await a.create(header(), "a");
      stale.appendSync({ t: "attempt", attempt: 1, at: 1 });
      // The holder is alive in this very process: only expiry can free its lease.
      expect(await b.claim(stale.id, "b")).toBeUndefined();
      await pg.sql("store_test", "UPDATE akts.sessions SET expires_at = now() - interval '1 second' WHERE id = $1", [stale.id]);
      const fresh = (await b.claim(stale.id, "b")) as SessionLease;
      expect(fresh.fence).toBe(2);
      const refused = { code: "AKTS4003", message: `session ${stale.id}: lease fence 1 is stale (current 2); nothing was written` };
      expect(() => stale.appendSync(activity(1, "stale sync"))).toThrow(expect.objectContaining(refused));
      await expect(stale.append(activity(1, "stale async"))).rejects.toMatchObject(refused);
      await expect(Promise.all([stale.append(activity(1, "a")), stale.append(activity(2, "b"))])).rejects.toMatchObject(refused);
      await expect(stale.setStatus("failed", { error: "stale" })).rejects.toMatchObject(refused);
      await fresh.append(activity(1, "fresh"));
      expect((await b.read(stale.id)).records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", "fresh"]);
      expect(await pg.sql("store_test", "SELECT idx FROM akts.journal WHERE session_id = $1 ORDER BY idx", [stale.id])).toEqual([{ idx: 0 }, { idx: 1 }, { idx: 2 }]);
      expect((await b.get(stale.id))?.status).toBe("running");
      // Releasing the stale lease leaves the new holder's lease alone.
      await stale.release();
      expect(await a.claim(stale.id, "a")).toBeUndefined();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a held lease is renewed by the heartbeat and does not expire", async () => {
    const holder = await PgStore.open(url, { leaseTtlMs: 300 });
    const other = await PgStore.open(url);
    try {
      const lease = await holder.create(header(), "h");
      // The holder lives in this process, so only a lapsed expiry could hand the session over.
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 200));
        expect(await other.claim(lease.id, "o")).toBeUndefined();
      }
      await lease.release();
      expect((await other.claim(lease.id, "o"))?.fence).toBe(2);
    } finally {
      await holder.close();
      await other.close();
    }
  });

  test("opening creates the schema once, however many open it at the same time", async () => {
    const fresh = await pg.createDatabase("schema_test");
    const stores = await Promise.all(Array.from({ length: 4 }, () => PgStore.open(fresh)));
    for (const s of stores) await s.close();
    const again = await PgStore.open(fresh);
    await again.close();
    expect(await pg.sql("schema_test", "SELECT version FROM akts.schema_version")).toEqual([{ version: 8 }]);
    expect(await pg.sql("schema_test", "SELECT tablename FROM pg_tables WHERE schemaname = 'akts' ORDER BY tablename")).toEqual(
      ["cancels", "events", "idempotency", "journal", "queue", "schema_version", "sessions", "slots", "value_ops", "values", "versions"].map((tablename) => ({ tablename })),
    );
    // Schema version 8: a journal row's session is checked by the statement writing it, not by a foreign key.
    expect(await pg.sql("schema_test", "SELECT conname FROM pg_constraint WHERE conrelid = 'akts.journal'::regclass AND contype = 'f'")).toEqual([]);
    await pg.sql("schema_test", "UPDATE akts.schema_version SET version = 99");
    await expect(PgStore.open(fresh)).rejects.toMatchObject({ code: "AKTS9002", message: expect.stringContaining("schema version 99") });
  });

  test("a store of schema version 1 gets the check words of journal format 4; a frame damaged before stays damage", async () => {
    const db = await pg.createDatabase("frames_v1");
    const store = await PgStore.open(db);
    const ids: string[] = [];
    for (let n = 0; n < 2; n++) {
      const lease = await store.create(header(), "r");
      await lease.append(activity(1, "one"));
      await lease.append(activity(2, { two: [2] }));
      await lease.release();
      ids.push(lease.id);
    }
    const before = await Promise.all(ids.map((id) => store.read(id)));
    await store.close();
    // Back to what version 1 stored: the payload's crc, continued from the length, where the check word is.
    const rows = (await pg.sql("frames_v1", "SELECT session_id, idx, frame FROM akts.journal")) as { session_id: string; idx: number; frame: Buffer }[];
    for (const { session_id, idx, frame } of rows) {
      frame.writeUInt32LE(crc32(frame.subarray(8), frame.length - 8), 4);
      if (session_id === ids[1] && idx === 2) frame[frame.length - 1] ^= 1;
      await pg.sql("frames_v1", "UPDATE akts.journal SET frame = $3 WHERE session_id = $1 AND idx = $2", [session_id, idx, frame]);
    }
    await pg.sql("frames_v1", "UPDATE akts.schema_version SET version = 1");

    const migrated = await PgStore.open(db);
    try {
      expect(await pg.sql("frames_v1", "SELECT version FROM akts.schema_version")).toEqual([{ version: 8 }]);
      expect(await migrated.read(ids[0])).toEqual(before[0]);
      await expect(migrated.read(ids[1])).rejects.toMatchObject({ code: "AKTS4001", message: "journal is corrupt at frame 2: frame checksum or length mismatch" });
    } finally {
      await migrated.close();
    }
  });

  test("a damaged frame fails the read with the session and the frame's index", async () => {
    const store = await PgStore.open(url);
    try {
      const lease = await store.create(header(), "r");
      await lease.append(activity(1));
      await lease.append(activity(2));
      await lease.release();
      await pg.sql("store_test", "UPDATE akts.journal SET frame = set_byte(frame, 12, get_byte(frame, 12) # 1) WHERE session_id = $1 AND idx = 1", [lease.id]);
      const where = `${store.location} session ${lease.id}`;
      await expect(store.read(lease.id)).rejects.toMatchObject({ code: "AKTS4001", message: "journal is corrupt at frame 1: frame checksum or length mismatch", location: { file: where } });
      await pg.sql("store_test", "DELETE FROM akts.journal WHERE session_id = $1 AND idx = 1", [lease.id]);
      await expect(store.read(lease.id)).rejects.toMatchObject({ code: "AKTS4001", message: "journal is corrupt at frame 1: frames 1 to 1 are missing" });
    } finally {
      await store.close();
    }
  });

  test("a wrong password, an unreachable port and a bad URL are one clear line without the password", async () => {
    const wrong = `postgres://akts:not-the-password@127.0.0.1:${pg.port}/store_test`;
    await expect(PgStore.open(wrong)).rejects.toMatchObject({
      code: "AKTS4004",
      message: `cannot reach the PostgreSQL store at postgres://akts@127.0.0.1:${pg.port}/store_test: password authentication failed for user "akts"`,
    });
    const port = await closedPort();
    const unreachable = `postgres://akts:${pg.password}@127.0.0.1:${port}/store_test`;
    await expect(PgStore.open(unreachable)).rejects.toMatchObject({
      code: "AKTS4004",
      message: `cannot reach the PostgreSQL store at postgres://akts@127.0.0.1:${port}/store_test: connect ECONNREFUSED 127.0.0.1:${port}`,
    });
    for (const [store, shown] of [
      [wrong, `postgres://akts@127.0.0.1:${pg.port}/store_test: password authentication failed`],
      [unreachable, `postgres://akts@127.0.0.1:${port}/store_test: connect ECONNREFUSED`],
    ]) {
      const r = akts(["sessions", "--store", store]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^akts sessions: error AKTS4004: cannot reach the PostgreSQL store at ${shown.replace(/[.?]/g, "\\$&")}[^\\n]*\\n$`));
      expect(r.stderr).not.toContain(pg.password);
      expect(r.stderr).not.toContain("not-the-password");
    }
    const bad = akts(["sessions", "--store", "postgres://akts:hunter2@127.0.0.1:notaport/db"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("akts sessions: error AKTS9001: invalid store URL postgres://akts@127.0.0.1:notaport/db\n  hint: postgres://user[:password]@host[:port]/database, or postgres://user@/database?host=/socket/folder\n");
    expect(bad.stderr).not.toContain("hunter2");
  });

  test("a URL naming the server's Unix socket folder opens the store; a wrong folder is one clear line without the password", async () => {
    const socket = `postgres://akts@/store_test?host=${encodeURIComponent(pg.socket)}&port=${pg.port}`;
    const ok = akts(["sessions", "--store", socket]);
    expect([ok.code, ok.stderr]).toEqual([0, ""]);
    const missing = akts(["sessions", "--store", `postgres://akts:hunter2@/store_test?host=/nonexistent&port=${pg.port}`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^akts sessions: error AKTS4004: cannot reach the PostgreSQL store at postgres:\/\/akts@\/store_test\?host=\/nonexistent&port=\d+: connect ENOENT \/nonexistent\/\.s\.PGSQL\.\d+\n$/);
    expect(missing.stderr).not.toContain("hunter2");
  });

  test("the file store path never loads pg", () => {
    const script = `
      require(${JSON.stringify(path.resolve(__dirname, "..", "dist", "runtime", "store", "index.js"))}).openStore({ store: process.argv[1] }).then(async (store) => {
        await store.close();
        process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((f) => /[\\/]node_modules[\\/]pg[\\/]/.test(f)).length));
      });`;
    const dir = tempDir("pg-lazy");
    const r = spawnSync(process.execPath, ["-e", script, dir], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("0");
    const pgLoaded = spawnSync(process.execPath, ["-e", script, url], { encoding: "utf8" });
    expect(Number(pgLoaded.stdout)).toBeGreaterThan(0);
  });

  test("AKTS_STORE names the store when --store is not given", async () => {
    const store = await PgStore.open(url);
    const lease = await store.create(header(), "r");
    await lease.release();
    await store.close();
    const r = akts(["sessions", "--json"], { env: { AKTS_STORE: url } });
    expect(r.stderr).toBe("");
    expect(JSON.parse(r.stdout).map((s: { session_id: string }) => s.session_id)).toContain(lease.id);
  });
});

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
