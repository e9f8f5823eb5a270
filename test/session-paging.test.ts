/**
 * `GET /sessions` pages through 100,000 sessions in a PostgreSQL store: every page, filtered or not, is read from an
 * index in id order, so a page deep in the list reads as few rows as the first (checked with EXPLAIN ANALYZE of the
 * store's own queries, not with a timer). The sessions are written with one INSERT, as the store keeps summaries;
 * the server and store run in this process, loaded from dist/ (the store's writer thread runs compiled JavaScript).
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import * as path from "node:path";
import type * as PgStoreModule from "../runtime/store/pg-store";
import type * as ServerModule from "../runtime/server/server";
import type * as EngineModule from "../runtime/engine";
import type * as StoreModule from "../runtime/store/store";
import { startPgServer, type PgServer } from "./pg-server";

const DIST = path.resolve(__dirname, "..", "dist", "runtime");
const { PgStore } = require(path.join(DIST, "store", "pg-store.js")) as typeof PgStoreModule;
const { startServer } = require(path.join(DIST, "server", "server.js")) as typeof ServerModule;
const { Engine } = require(path.join(DIST, "engine.js")) as typeof EngineModule;
const { newSessionId } = require(path.join(DIST, "store", "store.js")) as typeof StoreModule;

const SESSIONS = 100_000;
const PAGE = 1000;
const TOKEN = "paging-test-token-0123456789abcdefghijklmnop";

let pg: PgServer;
let store: PgStoreModule.PgStore;
let server: ServerModule.RunningServer;
/** The ids made, oldest first, with what each was made as. */
const made: { id: string; trigger: string; status: string }[] = [];
/** The store's list queries, as it sent them. */
const lists: { text: string; params: unknown[] }[] = [];

beforeAll(async () => {
  pg = await startPgServer();
  const url = await pg.createDatabase("paging");
  store = await PgStore.open(url);
  const start = Date.UTC(2026, 0, 1);
  for (let i = 0; i < SESSIONS; i++) {
    made.push({ id: newSessionId(start + i * 7), trigger: i % 100 === 3 ? "nightly" : "process_order", status: i % 4 === 1 ? "failed" : "completed" });
  }
  await pg.sql(
    "paging",
    `INSERT INTO akts.sessions (id, project, trigger, handler, mode, status, attempts, created_at, updated_at, fence)
     SELECT id, 'shop', trigger, 'program.ts:handler', 'durable', status, 1, created, created + 5, 1
     FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(id, trigger, status, created)`,
    [made.map((m) => m.id), made.map((m) => m.trigger), made.map((m) => m.status), made.map((_, i) => start + i * 7)],
  );
  await pg.sql("paging", "ANALYZE akts.sessions");
  const query = store.query.bind(store);
  store.query = (text, params) => {
    if (text.startsWith("SELECT") && text.includes("ORDER BY id DESC")) lists.push({ text, params });
    return query(text, params);
  };
  const engine = new Engine({ store });
  server = await startServer({ engine, store, project: "shop", triggers: [], resolve: () => Promise.reject(new Error("no handlers here")), adminToken: TOKEN, host: "127.0.0.1", port: 0, maxBody: 1 << 20, takeoverMs: 60_000, log: () => {} });
}, 180_000);

afterAll(async () => {
  await server?.shutdown(1000);
  pg?.stop();
});

/** All pages of `GET /sessions?<query>`, following `next`. */
async function walk(query: Record<string, string>): Promise<string[]> {
  const ids: string[] = [];
  for (let before: string | null = ""; before !== null; ) {
    const params = new URLSearchParams({ ...query, limit: String(PAGE), ...(before ? { before } : {}) });
    const res = await fetch(`${server.url}/sessions?${params}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { sessions: { session_id: string }[]; next: string | null };
    expect(page.sessions.length).toBeLessThanOrEqual(PAGE);
    if (page.next !== null) expect(page.next).toBe(page.sessions.at(-1)!.session_id);
    ids.push(...page.sessions.map((s) => s.session_id));
    before = page.next;
    if (ids.length > SESSIONS) throw new Error("paging does not end");
  }
  return ids;
}

interface PlanNode {
  "Node Type": string;
  "Relation Name"?: string;
  "Index Name"?: string;
  "Actual Rows": number;
  "Rows Removed by Filter"?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Every list query the walks made reads its page from an index, in order: no sort, and only a page's worth of rows. */
async function expectIndexedPages(): Promise<void> {
  expect(lists.length).toBeGreaterThan(0);
  for (const { text, params } of lists.splice(0)) {
    const [{ "QUERY PLAN": [{ Plan }] }] = (await pg.sql("paging", `EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, params)) as [{ "QUERY PLAN": [{ Plan: PlanNode }] }];
    const all = nodes(Plan);
    const where = `${text} ${JSON.stringify(params)}`;
    expect(all.map((n) => n["Node Type"]), where).not.toContain("Sort");
    expect(all.map((n) => n["Node Type"]), where).not.toContain("Seq Scan");
    const scan = all.find((n) => n["Index Name"] !== undefined)!;
    expect(scan, where).toBeDefined();
    // The planner may read a common status off the primary key and drop the other rows (a quarter of the rows are
    // failed here): still a bounded read per page, wherever the page is. A rare filter goes to its index.
    expect(scan["Actual Rows"] + (scan["Rows Removed by Filter"] ?? 0), where).toBeLessThanOrEqual(5 * (PAGE + 1));
  }
}

const newest = (keep: (m: (typeof made)[number]) => boolean) => made.filter(keep).map((m) => m.id).reverse();

test("all 100,000 sessions, newest first, a page at a time, each page read from the primary key", async () => {
  const ids = await walk({});
  expect(ids.length).toBe(SESSIONS);
  expect(ids).toEqual(newest(() => true));
  await expectIndexedPages();
});

test("filtered by trigger, by status and by both, each from its index", async () => {
  expect(await walk({ trigger: "nightly" })).toEqual(newest((m) => m.trigger === "nightly"));
  expect(await walk({ status: "failed" })).toEqual(newest((m) => m.status === "failed"));
  expect(await walk({ trigger: "nightly", status: "failed" })).toEqual(newest((m) => m.trigger === "nightly" && m.status === "failed"));
  expect(await walk({ trigger: "nobody" })).toEqual([]);
  await expectIndexedPages();
});

test("bad paging parameters are refused with AKTS7001", async () => {
  for (const query of ["limit=0", "limit=1001", "limit=ten", "before=<script>", "status=done"]) {
    const res = await fetch(`${server.url}/sessions?${query}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status, query).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("AKTS7001");
  }
});
