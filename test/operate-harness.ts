/**
 * The harness of the cancellation, retry and bounds tests: real `akts serve` processes on a copy of
 * fixtures/operate, on a file store or a private PostgreSQL server's database, SIGKILLed mid-way and started again
 * on the same store. Handlers log one line per activity to a file the request names, so what ran live is counted.
 */
import { afterAll, beforeAll } from "vitest";
import * as fs from "node:fs";
import * as http from "node:http";
import * as path from "node:path";
import { akts, aktsInProcess, copyFixture, lines, tempDir } from "./helpers";
import { startPgServer, type PgServer } from "./pg-server";
import { until } from "./faults-harness";
import { launch } from "./serve-process";

export { lines, until };

export interface Server {
  readonly url: string;
  readonly token: string;
  /** SIGKILL, resolved once the process is gone. */
  kill(): Promise<void>;
}

/** A copy of fixtures/operate for this test file, and a temp folder for its logs. */
export function operateProject(prefix: string): { manifest: string; dir: string } {
  const dir = tempDir(prefix);
  return { manifest: path.join(copyFixture("operate", dir), "autokitteh.yaml"), dir };
}

/** The two stores: a folder, and a database on a PostgreSQL server started once per test file. */
export function storeKinds(): { kinds: readonly ("file" | "postgres")[]; make(kind: "file" | "postgres", dir: string): Promise<string> } {
  let pg: PgServer | undefined;
  let databases = 0;
  beforeAll(async () => {
    pg = await startPgServer();
  }, 180_000);
  afterAll(() => pg?.stop());
  return {
    kinds: ["file", "postgres"],
    make: async (kind, dir) => (kind === "file" ? fs.mkdtempSync(path.join(dir, "store-")) : pg!.createDatabase(`operate_${process.pid}_${++databases}`)),
  };
}

/** `akts serve` on `store`, resolved once it listens (killed after each test by serve-process.ts). */
export async function startServe(manifest: string, store: string): Promise<Server> {
  const s = await launch(["serve", manifest, "--port", "0", "--store", store], /akts serve: listening on (http:\/\/\S+)\n/, { AKTS_LEASE_TTL_MS: "3000" });
  // A PostgreSQL store's token lives beside the manifest.
  const folder = /^postgres/.test(store) ? path.join(path.dirname(manifest), ".akts") : store;
  const token = fs.readFileSync(path.join(folder, "admin-token"), "utf8").trim();
  const kill = async () => {
    s.child.kill("SIGKILL");
    await s.exited;
  };
  return { url: s.ready[1], token, kill };
}

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly headers: http.IncomingHttpHeaders;
}

/**
 * One request on a connection of its own: the CLI calls these tests make block the event loop (spawnSync), so a
 * kept-alive connection could be reused after the server closed it.
 */
export function request(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

export function post(url: string, trigger: string, body: object, headers: Record<string, string> = {}): Promise<Answer> {
  return request(`${url}/webhooks/${trigger}`, "POST", { "content-type": "application/json", ...headers }, JSON.stringify(body));
}

/** An admin route, with the server's token. */
export function admin(server: Server, method: string, route: string): Promise<Answer> {
  return request(`${server.url}${route}`, method, { authorization: `Bearer ${server.token}` });
}

/** The session as `akts sessions --json` lists it (through the CLI, so no server is needed). */
export function sessionsOf(store: string): any[] {
  const r = akts(["sessions", "--store", store, "--json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

export function journalOf(store: string, id: string): any[] {
  const r = akts(["journal", id, "--store", store, "--json"]);
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

/**
 * The session with `id` as an `akts sessions` process lists it, once it has one of `statuses`. Polled by the CLI's
 * `sessions` in this process (a process a poll made the waits of these tests cost a core), then listed once by a
 * process of its own: a poll this fast has seen a file store list a session failed before its error code.
 */
export async function ended(store: string, id: string, statuses = ["completed", "failed", "cancelled"]): Promise<any> {
  await until(`session ${id} to end`, async () => {
    const r = await aktsInProcess(["sessions", "--store", store, "--json"]);
    if (r.code !== 0) throw new Error(r.stderr);
    return (JSON.parse(r.stdout) as any[]).some((s) => s.session_id === id && statuses.includes(s.status)) || undefined;
  }, 60_000);
  return sessionsOf(store).find((s) => s.session_id === id);
}

/** The most tags active at once in `log` lines: from a tag's first line to its cleanup. */
export function mostAtOnce(log: readonly string[]): number {
  const active = new Set<string>();
  let most = 0;
  for (const line of log) {
    const tag = line.split(" ")[0];
    if (line.endsWith(" cleanup")) active.delete(tag);
    else active.add(tag);
    most = Math.max(most, active.size);
  }
  return most;
}
