/**
 * The fault-injection suite's harness: real `akts serve` and `akts worker` processes on a short lease TTL, load
 * through real HTTP, and the counts each scenario reports (accepted, completed, lost, rerun beyond at-least-once,
 * time to takeover). Sessions run fixtures/serve's `steps` trigger: every step is an activity that logs
 * `<tag> start <n>` and `<tag> done <n>` to one shared file, so what ran live can be counted per session.
 */
import { afterAll, expect } from "vitest";
import type { ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { lines, ROOT } from "./helpers";
import { launch } from "./serve-process";

export const MANIFEST = path.join(ROOT, "fixtures/serve/autokitteh.yaml");
/** Short, so takeover by expiry is measured in seconds; every runner renews every third of it. */
export const TTL_MS = 3_000;

export interface Runner {
  readonly child: ChildProcess;
  readonly pid: number;
  /** The server's URL (undefined for a worker). */
  readonly url?: string;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `akts serve` (port 0) or `akts worker` and resolves once it is ready (killed after each test). */
export async function start(command: "serve" | "worker", store: string, extra: string[] = [], ttlMs = TTL_MS): Promise<Runner> {
  const args = [...(command === "serve" ? ["serve", MANIFEST, "--port", "0", "--store", store] : ["worker", MANIFEST, "--store", store]), ...extra];
  const ready = command === "serve" ? /akts serve: listening on (http:\/\/\S+)\n/ : /akts worker: running /;
  const r = await launch(args, ready, { AKTS_LEASE_TTL_MS: String(ttlMs) });
  return { child: r.child, pid: r.child.pid!, url: command === "serve" ? r.ready[1] : undefined, output: () => r.output().all, exited: r.exited };
}

/** The admin token the runners of `store` share (a PostgreSQL store's lives beside the manifest). */
export function adminToken(store: string): string {
  const folder = /^postgres/.test(store) ? path.join(path.dirname(MANIFEST), ".akts") : store;
  return fs.readFileSync(path.join(folder, "admin-token"), "utf8").trim();
}

export async function admin(url: string, token: string, route: string): Promise<any> {
  const res = await fetch(`${url}${route}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status, `${route}: ${res.status}`).toBe(200);
  return res.json();
}

/** Every session the server lists, following the pages (`next`) of `GET /sessions`. */
export async function allSessions(url: string, token: string): Promise<any[]> {
  const sessions: any[] = [];
  for (let before: string | null = ""; before !== null; ) {
    const page = await admin(url, token, `/sessions?limit=1000${before ? `&before=${before}` : ""}`);
    sessions.push(...page.sessions);
    before = page.next;
  }
  return sessions;
}

export interface Load {
  readonly log: string;
  /** Session id → its tag in the log. */
  readonly tags: Map<string, string>;
  /** Requests answered 202. */
  readonly accepted: number;
  /** Activities per session. */
  readonly steps: number;
}

/** The `steps` trigger's request body (as `akts run` takes it, under `body`). */
export function stepsBody(log: string, tag: string, options: { steps?: number; ms?: number; pauseMs?: number } = {}): object {
  return { log, tag, steps: options.steps ?? 4, ms: options.ms ?? 150, pauseMs: options.pauseMs ?? 50 };
}

/** Posts `count` `steps` sessions to `url`, `concurrency` at a time; each runs `steps` activities of `ms`. */
export async function load(url: string, dir: string, count: number, options: { steps?: number; ms?: number; pauseMs?: number; concurrency?: number } = {}): Promise<Load> {
  const log = path.join(dir, "steps.log");
  const tags = new Map<string, string>();
  let next = 0;
  let accepted = 0;
  const poster = async () => {
    for (let i; (i = next++) < count; ) {
      const tag = `s${i}`;
      const res = await fetch(`${url}/webhooks/steps`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(stepsBody(log, tag, options)),
      });
      if (res.status !== 202) continue;
      accepted++;
      tags.set(((await res.json()) as { session_id: string }).session_id, tag);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 10 }, poster));
  return { log, tags, accepted, steps: options.steps ?? 4 };
}

/** Polls `probe` until it returns something other than undefined, or gives up after `ms`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000, every = 50): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** Every session of the load has started its first step (so it is in the store and running). */
export function allStarted(work: Load): Promise<true> {
  return until("every session to start", () => {
    const started = new Set(lines(work.log).map((l) => l.split(" ")[0]));
    return [...work.tags.values()].every((t) => started.has(t)) ? true : undefined;
  });
}

export interface Counts {
  readonly scenario: string;
  readonly accepted: number;
  readonly completed: number;
  readonly lost: number;
  /** Activities that ran again beyond what at-least-once allows: more than one per takeover of a session. */
  readonly rerun: number;
  /** Seconds from the fault until every orphaned session was taken over (blank where nothing was orphaned). */
  readonly takeoverS?: number;
  /** Seconds from the fault until every orphaned session had ended. */
  readonly finishS?: number;
  readonly failed: number;
  /** Times code named by a journal (not by the operator) ran. */
  readonly journalCode?: number;
}

/** The counts of a load once it is over, read from a live server's admin routes and the step log. */
export async function count(scenario: string, work: Load, url: string, token: string, times: { takeoverS?: number; finishS?: number } = {}): Promise<Counts> {
  const starts = new Map<string, number>();
  for (const l of lines(work.log)) {
    const [tag, what] = l.split(" ");
    if (what === "start") starts.set(tag, (starts.get(tag) ?? 0) + 1);
  }
  let completed = 0;
  let failed = 0;
  let rerun = 0;
  for (const [id, tag] of work.tags) {
    const s = await admin(url, token, `/sessions/${id}`);
    if (s.status === "completed") completed++;
    if (s.status === "failed") failed++;
    rerun += Math.max(0, (starts.get(tag) ?? 0) - work.steps - Math.max(0, s.attempts - 1));
  }
  return { scenario, accepted: work.accepted, completed, lost: work.accepted - completed - failed, rerun, ...times, failed };
}

/** Waits until every session of the load has ended (completed or failed), looking through `url`. */
export function allEnded(work: Load, url: string, token: string, ms = 30_000): Promise<true> {
  return until(
    "every session to end",
    async () => {
      const sessions = await allSessions(url, token);
      const ended = new Set(sessions.filter((s: any) => s.status === "completed" || s.status === "failed").map((s: any) => s.session_id));
      return [...work.tags.keys()].every((id) => ended.has(id)) ? true : undefined;
    },
    ms,
    100,
  );
}

/** Seconds until every session in `ids` was taken over (a second attempt began, or it ended), from `since`. */
export async function takenOver(ids: readonly string[], url: string, token: string, since: number, ms = 30_000): Promise<number> {
  await until(
    "the orphans to be taken over",
    async () => {
      const sessions = await allSessions(url, token);
      const byId = new Map(sessions.map((s: any) => [s.session_id, s]));
      return ids.every((id) => {
        const s: any = byId.get(id);
        return s && (s.attempts >= 2 || s.status === "completed" || s.status === "failed");
      })
        ? true
        : undefined;
    },
    ms,
    50,
  );
  return (Date.now() - since) / 1000;
}

/**
 * Orphan takeover: `serve` takes 24 sessions, `peers` share its store, and it is SIGKILLed once every session
 * started; the peers must finish them all, taking them over within 1.5 × the TTL.
 */
export async function killOneRunner(scenario: string, store: string, dir: string, peers: readonly ("serve" | "worker")[]): Promise<void> {
  const victim = await start("serve", store);
  const [observer] = await Promise.all(peers.map((p) => start(p, store)));
  const token = adminToken(store);
  const work = await load(victim.url!, dir, 24, { steps: 4, ms: 150 });
  await allStarted(work);
  const killedAt = Date.now();
  victim.child.kill("SIGKILL");
  await victim.exited;
  const takeoverS = await takenOver([...work.tags.keys()], observer.url!, token, killedAt);
  await allEnded(work, observer.url!, token);
  const counts = await count(scenario, work, observer.url!, token, { takeoverS, finishS: (Date.now() - killedAt) / 1000 });
  report(counts);
  expect(counts).toMatchObject({ accepted: 24, completed: 24, lost: 0, failed: 0, rerun: 0 });
  expect(takeoverS).toBeLessThanOrEqual((1.5 * TTL_MS) / 1000);
}

const rows: Counts[] = [];

/** How many times each step of the session tagged `tag` started, by step number. */
export function starts(log: string, tag: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const l of lines(log)) {
    const [t, what, n] = l.split(" ");
    if (t === tag && what === "start") out.set(Number(n), (out.get(Number(n)) ?? 0) + 1);
  }
  return out;
}

/** Records a scenario's counts; the file's table is printed after its last test. */
export function report(counts: Counts): void {
  rows.push(counts);
  process.stdout.write(`fault ${counts.scenario}: ${JSON.stringify(counts)}\n`);
}

afterAll(() => {
  if (rows.length === 0) return;
  const head = "| scenario | accepted | completed | lost | failed | rerun beyond at-least-once | time to takeover (s) | time to finish (s) | journal code run |";
  const body = rows.map(
    (r) => `| ${r.scenario} | ${r.accepted} | ${r.completed} | ${r.lost} | ${r.failed} | ${r.rerun} | ${r.takeoverS?.toFixed(2) ?? ""} | ${r.finishS?.toFixed(2) ?? ""} | ${r.journalCode ?? ""} |`,
  );
  process.stdout.write(["", head, "| --- | --- | --- | --- | --- | --- | --- | --- | --- |", ...body, ""].join("\n"));
});
