/**
 * The file store's layout under crashes (docs/stores.md): a runner killed at any step of creating or finishing a
 * session (its segment cut at every entry boundary and inside every entry) leaves a store that the real CLI lists
 * without failing, where a creation without its whole header is absent, a whole one is a session, and a session whose
 * journal holds its end is finished and never run again. Also: `akts serve` SIGKILLed under webhook load loses no
 * acknowledged session, and 1,000 unfinished sessions of several killed runners are each claimed exactly once.
 */
import { describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { akts, aktsInProcess, lines, ROOT, tempDir, type CliResult } from "./helpers";
import { CRASH_MANIFEST, lastJson, stepsEvent } from "./crash-steps";
import { serve } from "./serve-process";
import { FileStore } from "../runtime/store";
import { Kind } from "../runtime/store/segment-format";
import { segmentFiles, sessionEntries } from "./segments";

const NONDURABLE_MANIFEST = path.join(ROOT, "fixtures/crash/nondurable.yaml");
const SERVE_MANIFEST = path.join(ROOT, "fixtures/serve/autokitteh.yaml");

/** The lease of a process that exited: what a killed runner leaves as its segment lease (one such process per file). */
let deadPid: number | undefined;
function deadLease(): string {
  deadPid ??= Number(spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" }).stdout);
  return JSON.stringify({ runner: "killed", fence: 1, host: os.hostname(), pid: deadPid, ttlMs: 60_000 });
}

/** A finished session of `manifest`'s `steps` trigger, run by the CLI: its store, id and log. */
function finishedSession(manifest: string): { store: string; id: string; log: string } {
  const dir = tempDir("layout-run");
  const store = path.join(dir, "store");
  const r = akts(["run", manifest, "--trigger", "steps", "--event", stepsEvent(dir), "--store", store]);
  expect(r.code, r.stderr).toBe(0);
  const id = JSON.parse(akts(["sessions", "--store", store, "--json"]).stdout)[0].session_id;
  return { store, id, log: path.join(dir, "log") };
}

/**
 * A copy of `store` as its runner left it had it been killed once its segment held `bytes` bytes: everything
 * after them zeros (never written), and the runner's lease that of a process that is gone.
 */
function killedAt(store: string, bytes: number): string {
  const copy = path.join(tempDir("layout-cut"), "store");
  fs.cpSync(store, copy, { recursive: true });
  const [segment] = segmentFiles(copy);
  const data = fs.readFileSync(segment);
  fs.writeFileSync(segment, Buffer.concat([data.subarray(0, bytes), Buffer.alloc(data.length - bytes)]));
  for (const f of fs.readdirSync(path.join(copy, "segments"))) if (f.endsWith(".lease")) fs.writeFileSync(path.join(copy, "segments", f), deadLease());
  return copy;
}

type Listed = Array<{ id: string; status: string; attempts: number }>;

function listed(r: CliResult): Listed {
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as Array<{ session_id: string; status: string; attempts: number }>).map(({ session_id, ...rest }) => ({ id: session_id, ...rest }));
}

function sessions(store: string): Listed {
  return listed(akts(["sessions", "--store", store, "--json"]));
}

/** `akts sessions` of each cut store, by the CLI in this process (dozens of cuts: a process each cost most of the test). */
async function sessionsOfCut(store: string): Promise<Listed> {
  return listed(await aktsInProcess(["sessions", "--store", store, "--json"]));
}

describe("a runner killed at each step of creating and finishing a session", () => {
  for (const [mode, manifest] of [
    ["durable", CRASH_MANIFEST],
    ["non-durable", NONDURABLE_MANIFEST],
  ] as const) {
    test(`${mode}: at every entry boundary and inside every entry, the store lists; no header is no session, an end is final, anything between finishes on resume`, async () => {
      const { store, id, log } = finishedSession(manifest);
      const entries = sessionEntries(store, id);
      const kinds = entries.map((e) => e.kind);
      // header, first attempt, ..., end record, status note: one runner's segment holds them all, in order.
      expect([kinds[0], kinds[1], kinds.at(-2), kinds.at(-1)]).toEqual([Kind.Header, Kind.Attempt, Kind.End, Kind.Status]);
      const ends = entries.map((e) => e.bodyAt + e.bodyLength);
      const cuts = [16, ...ends, ...entries.map((e) => e.frameAt + 11)].sort((x, y) => x - y);
      const endAt = ends[kinds.indexOf(Kind.End)];
      const resumedAt = new Set([16, ends[0], ends[1], ends.at(-3), endAt, ends.at(-1)]);
      for (const bytes of cuts) {
        const cut = killedAt(store, bytes);
        const listedCut = await sessionsOfCut(cut);
        const step = `cut at ${bytes}`;
        if (bytes < ends[0]) expect([step, listedCut]).toEqual([step, []]);
        else expect([step, listedCut.map((x) => [x.id, x.status === "waiting" ? "running" : x.status])]).toEqual([step, [[id, bytes >= endAt ? "completed" : "running"]]]);
        if (!resumedAt.has(bytes)) continue;
        const ranBefore = lines(log);
        const resumed = akts(["resume", "--manifest", manifest, "--store", cut]);
        expect([step, resumed.code], resumed.stderr).toEqual([step, 0]);
        if (bytes < ends[0] || bytes >= endAt) {
          // Nothing to run: no session, or a finished one (end is final, durable or not).
          expect([step, resumed.stdout, lines(log)]).toEqual([step, "", ranBefore]);
          continue;
        }
        expect([step, lastJson(resumed.stdout)]).toMatchObject([step, { status: "completed" }]);
        if (mode === "durable" && bytes >= ends.at(-3)!) expect([step, lines(log)]).toEqual([step, ranBefore]);
        expect([step, (await sessionsOfCut(cut)).map((x) => x.status)]).toEqual([step, ["completed"]]);
      }
    }, 240_000);
  }
});

describe("akts serve SIGKILLed under webhook load (50 clients at once, 5 kills)", () => {
  test("every session answered 202 is in the store, listings never fail, and every one finishes after a restart", async () => {
    const store = path.join(tempDir("layout-kill"), "store");
    const acknowledged = new Set<string>();
    const kills = 5;
    for (let round = 0; round < kills; round++) {
      const s = await serve(SERVE_MANIFEST, store);
      let stop = false;
      const client = async () => {
        while (!stop) {
          try {
            const res = await fetch(`${s.url}/webhooks/received`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ note: "n" }) });
            if (res.status === 202) acknowledged.add(((await res.json()) as { session_id: string }).session_id);
            else await res.arrayBuffer();
          } catch {
            // The server died under this request: it was not acknowledged.
          }
        }
      };
      const clients = Array.from({ length: 50 }, client);
      const target = acknowledged.size + 60;
      while (acknowledged.size < target) await new Promise((r) => setTimeout(r, 5));
      s.child.kill("SIGKILL");
      await s.exited;
      stop = true;
      await Promise.all(clients);
      const listed = new Set(sessions(store).map((x) => x.id));
      expect([...acknowledged].filter((id) => !listed.has(id))).toEqual([]);
    }
    const resumed = akts(["resume", "--manifest", SERVE_MANIFEST, "--store", store]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const byId = new Map(sessions(store).map((x) => [x.id, x.status]));
    const lost = [...acknowledged].filter((id) => byId.get(id) !== "completed");
    console.log(`fault SIGKILL under load: ${JSON.stringify({ kills, accepted: acknowledged.size, completed: acknowledged.size - lost.length, lost: lost.length })}`);
    expect(lost).toEqual([]);
    // Sessions created but killed before their 202 were not acknowledged; they finished too: nothing is left.
    expect([...byId].filter(([, status]) => status !== "completed")).toEqual([]);
  }, 180_000);
});

describe("recovery at scale", () => {
  test("1,000 unfinished sessions of four SIGKILLed runners are all listed and each claimed exactly once by two racing stores", async () => {
    const store = path.join(tempDir("layout-many"), "store");
    const dist = path.join(ROOT, "dist/runtime/store");
    const script = `
      (async () => {
        const { FileStore } = require(${JSON.stringify(path.join(dist, "file-store.js"))});
        const { newSessionId } = require(${JSON.stringify(path.join(dist, "store.js"))});
        const store = new FileStore(${JSON.stringify(store)}, "always");
        for (let batch = 0; batch < 5; batch++) {
          await Promise.all(Array.from({ length: 50 }, async (_, i) => {
            const id = newSessionId();
            const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t" + (i % 3), handler: "h.ts:h", mode: "durable", codeHash: "h", event: { i }, createdAt: Date.now() }, "r");
            await lease.append({ t: "attempt", attempt: 1, at: Date.now() });
            await lease.append({ t: "activity", seq: 1, site: "h.ts:1:1", callee: "f", ok: true, value: id, async: true, start: 1, end: 2 });
          }));
        }
        process.stdout.write("ready");
        setInterval(() => {}, 1000);
      })();`;
    for (let runner = 0; runner < 4; runner++) {
      const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
      await new Promise<void>((resolve) => child.stdout.on("data", (d) => String(d).includes("ready") && resolve()));
      child.kill("SIGKILL");
      await new Promise((r) => child.on("exit", r));
    }
    expect(new Set(segmentFiles(store).map((f) => path.basename(f).replace(/-\d+\.seg$/, ""))).size).toBe(4);
    const [recovering, racing] = [new FileStore(store, "always"), new FileStore(store, "always")];
    try {
      const unfinished = await recovering.unfinished();
      expect(unfinished).toHaveLength(1000);
      expect(unfinished.map((s) => s.id)).toEqual(unfinished.map((s) => s.id).sort());
      const [mine, theirs] = await Promise.all([recovering, racing].map((s) => Promise.all(unfinished.map((u) => s.claim(u.id, "recovery")))));
      const claimed = unfinished.map((u, i) => [mine[i], theirs[i]].filter((l) => l !== undefined));
      expect(claimed.every((c) => c.length === 1 && c[0]!.fence === 2)).toBe(true);
      const leases = claimed.map((c) => c[0]!);
      await Promise.all(leases.map((l) => l.release()));
      for (const lease of leases) {
        const { records } = await recovering.read(lease.id);
        expect(records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", lease.id]);
      }
      expect((await recovering.list({ trigger: "t1", limit: 5 })).every((s) => s.trigger === "t1")).toBe(true);
      const page = await recovering.list({ limit: 10 });
      const next = await recovering.list({ before: page[9].id, limit: 10 });
      expect(next.every((s) => s.id < page[9].id)).toBe(true);
      expect([...page, ...next].map((s) => s.id)).toEqual(unfinished.map((s) => s.id).reverse().slice(0, 20));
    } finally {
      await Promise.all([recovering.close(), racing.close()]);
    }
  }, 180_000);
});
