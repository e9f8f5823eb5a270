/**
 * What every store must do (runtime/store/store.ts, docs/stores.md), run against each store by its test file:
 * sessions and summaries, leases and fencing (with real processes that die, hang and race), and events.
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import * as path from "node:path";
import { newSessionId, type SessionLease, type Store } from "../runtime/store";
import type { HeaderRecord, JournalRecord } from "../runtime/journal";

export interface StoreHarness {
  /** A fresh, empty store. Waiting inboxes must not rely on polling more often than every few seconds. */
  make(): Promise<Store>;
  /** Removes what `make` made, after the store was closed. */
  dispose?(): Promise<void> | void;
  /**
   * Source of a script statement, run in a fresh node process, that declares `store`: the same store, with leases
   * that expire after `ttlMs`. It may use `await`.
   */
  openInChild(ttlMs: number): string;
}

export const header = (id = newSessionId(), trigger = "t"): HeaderRecord => ({
  t: "header", v: 1, sessionId: id, project: "p", trigger, handler: "program.ts:handler", mode: "durable", codeHash: "h", event: { n: 1 }, createdAt: 1000,
});

export const activity = (seq: number, value: unknown = seq): JournalRecord => ({
  t: "activity", seq, site: `program.ts:${seq}:1`, callee: "api.get", ok: true, value, async: true, start: 1, end: 2,
});

export function storeContract(name: string, harness: StoreHarness): void {
  describe(`${name}: the store contract`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await harness.make();
    });
    afterEach(async () => {
      await store.close();
      await harness.dispose?.();
    });

    describe("sessions", () => {
      test("create, append and read round-trip; the summary follows setStatus", async () => {
        const h = header();
        const lease = await store.create(h, "r1");
        expect(lease.fence).toBe(1);
        lease.appendSync({ t: "attempt", attempt: 1, at: 1001 });
        await lease.append(activity(1, { big: 2n ** 70n, when: new Date(5) }));
        await lease.setStatus("running", { attempts: 1 });
        expect(await store.get(h.sessionId)).toMatchObject({ id: h.sessionId, project: "p", trigger: "t", mode: "durable", status: "running", attempts: 1 });
        await lease.append({ t: "end", ok: true, result: { ok: 1n }, at: 1002 });
        await lease.setStatus("completed", { result: { ok: 1n } });
        await lease.release();
        const { records, notices } = await store.read(h.sessionId);
        expect(notices).toEqual([]);
        expect(records).toEqual([h, { t: "attempt", attempt: 1, at: 1001 }, activity(1, { big: 2n ** 70n, when: new Date(5) }), { t: "end", ok: true, result: { ok: 1n }, at: 1002 }]);
        expect(await store.get(h.sessionId)).toMatchObject({ status: "completed", attempts: 1, result: { ok: "1n" } });
      });

      test("sync and async appends land in the order they were made", async () => {
        const lease = await store.create(header(), "r");
        const pending: Promise<void>[] = [];
        for (let i = 1; i <= 30; i++) {
          if (i % 3 === 0) lease.appendSync(activity(i));
          else pending.push(lease.append(activity(i)));
        }
        await Promise.all(pending);
        await lease.release();
        expect((await store.read(lease.id)).records.slice(1).map((r) => (r.t === "activity" ? r.seq : r.t))).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
      });

      test("list (newest first, by status, limited) and unfinished (oldest first)", async () => {
        const ids: string[] = [];
        for (const status of ["completed", "running", "failed", "waiting", "running"] as const) {
          const lease = await store.create(header(), "r");
          ids.push(lease.id);
          await lease.setStatus(status, status === "failed" ? { error: "boom", errorCode: "AKTS6001" } : {});
          await lease.release();
        }
        expect((await store.list()).map((s) => s.id)).toEqual([...ids].reverse());
        expect((await store.list({ limit: 2 })).map((s) => s.id)).toEqual([ids[4], ids[3]]);
        expect((await store.list({ status: "running" })).map((s) => s.id)).toEqual([ids[4], ids[1]]);
        expect((await store.list({ status: "failed" }))[0]).toMatchObject({ id: ids[2], error: "boom", errorCode: "AKTS6001" });
        expect((await store.unfinished()).map((s) => [s.id, s.status])).toEqual([
          [ids[1], "running"],
          [ids[3], "waiting"],
          [ids[4], "running"],
        ]);
      });

      test("list pages by `before` (ids strictly older), filtered by status and trigger together", async () => {
        const made: { id: string; status: "completed" | "failed" | "waiting"; trigger: string }[] = [];
        for (let i = 0; i < 12; i++) {
          const trigger = i % 3 === 0 ? "nightly" : "webhook";
          const status = (["completed", "failed", "waiting"] as const)[i % 4 === 1 ? 1 : i % 5 === 2 ? 2 : 0];
          const lease = await store.create(header(newSessionId(), trigger), "r");
          made.push({ id: lease.id, status, trigger });
          await lease.setStatus(status);
          await lease.release();
        }
        const newest = [...made].reverse();
        const walk = async (filter: { status?: "completed" | "failed" | "waiting"; trigger?: string }, limit: number) => {
          const seen: string[] = [];
          for (let before: string | undefined; seen.length <= made.length; ) {
            const page = await store.list({ ...filter, before, limit });
            expect(page.length).toBeLessThanOrEqual(limit);
            seen.push(...page.map((s) => s.id));
            if (page.length < limit) return seen;
            before = page[page.length - 1].id;
          }
          throw new Error(`paging ${JSON.stringify(filter)} by ${limit} does not end`);
        };
        const expected = (filter: { status?: string; trigger?: string }) =>
          newest.filter((m) => (!filter.status || m.status === filter.status) && (!filter.trigger || m.trigger === filter.trigger)).map((m) => m.id);
        for (const filter of [{}, { trigger: "nightly" }, { status: "completed" as const }, { status: "failed" as const, trigger: "webhook" }, { status: "waiting" as const }]) {
          for (const limit of [1, 5, 100]) expect(await walk(filter, limit), `${JSON.stringify(filter)} by ${limit}`).toEqual(expected(filter));
        }
        // `before` is exclusive and need not be an existing id; the oldest id has nothing before it.
        expect((await store.list({ before: made[5].id })).map((s) => s.id)).toEqual(newest.slice(7).map((m) => m.id));
        expect((await store.list({ before: `${made[5].id}0` })).map((s) => s.id)).toEqual(newest.slice(6).map((m) => m.id));
        expect(await store.list({ before: made[0].id })).toEqual([]);
        expect(await store.list({ trigger: "none" })).toEqual([]);
      });

      test("unknown and malformed session ids are errors", async () => {
        await expect(store.read("ses_nope")).rejects.toMatchObject({ code: "AKTS9004", message: `no session ses_nope in ${store.location}` });
        await expect(store.claim("ses_nope", "r")).rejects.toMatchObject({ code: "AKTS9004" });
        await expect(store.deliver("ses_nope", "e", 1)).rejects.toMatchObject({ code: "AKTS9004" });
        await expect(store.get("../../etc/passwd")).rejects.toMatchObject({ code: "AKTS9001" });
        expect(await store.get("ses_nope")).toBeUndefined();
        const h = header();
        await (await store.create(h, "r")).release();
        await expect(store.create(h, "r")).rejects.toMatchObject({ code: "AKTS9001", message: `session ${h.sessionId} already exists in ${store.location}` });
      });

      test("many concurrent sessions in one process keep their journals apart", async () => {
        const sessions = 150;
        const perSession = 20;
        const ids = await Promise.all(
          Array.from({ length: sessions }, async (_, s) => {
            const lease = await store.create(header(undefined, `t${s}`), "r");
            for (let i = 1; i <= perSession; i++) {
              await lease.append(activity(i, `${s}:${i}`));
              if (i % 7 === s % 7) await new Promise((r) => setImmediate(r));
            }
            await lease.setStatus(s % 3 === 0 ? "completed" : "running");
            await lease.release();
            return lease.id;
          }),
        );
        expect(new Set(ids).size).toBe(sessions);
        for (const [s, id] of ids.entries()) {
          const { records } = await store.read(id);
          expect(records.slice(1).map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(Array.from({ length: perSession }, (_, i) => `${s}:${i + 1}`));
        }
        expect(await store.unfinished()).toHaveLength(sessions - Math.ceil(sessions / 3));
        expect(await store.list({ status: "completed" })).toHaveLength(Math.ceil(sessions / 3));
      });
    });

    describe("leases and fencing", () => {
      test("a released session is claimed with the next fence; the old lease cannot write", async () => {
        const first = await store.create(header(), "r1");
        first.appendSync({ t: "attempt", attempt: 1, at: 1 });
        expect(await store.claim(first.id, "r2")).toBeUndefined();
        await first.release();
        const second = (await store.claim(first.id, "r2")) as SessionLease;
        expect(second.fence).toBe(2);
        expect(() => first.appendSync(activity(1))).toThrow(expect.objectContaining({ code: "AKTS4003" }));
        await expect(first.append(activity(1))).rejects.toMatchObject({ code: "AKTS4003" });
        await expect(first.setStatus("failed")).rejects.toMatchObject({ code: "AKTS4003" });
        await second.append(activity(1, "from r2"));
        await second.release();
        expect((await store.read(first.id)).records.map((r) => r.t)).toEqual(["header", "attempt", "activity"]);
        expect((await store.get(first.id))?.status).toBe("running");
      });

      test("a finished session cannot be claimed", async () => {
        const lease = await store.create(header(), "r");
        await lease.setStatus("completed");
        await lease.release();
        expect(await store.claim(lease.id, "r2")).toBeUndefined();
      });

      test("a lease whose holder process was SIGKILLed is claimed", async () => {
        const holder = await startHolder(harness.openInChild(60_000));
        try {
          const id = await holder.ready;
          expect(await store.claim(id, "r2")).toBeUndefined();
          holder.child.kill("SIGKILL");
          await holder.exited;
          const lease = (await store.claim(id, "r2")) as SessionLease;
          expect(lease.fence).toBe(2);
          await lease.append(activity(1));
          await lease.release();
          expect((await store.read(id)).records.map((r) => r.t)).toEqual(["header", "attempt", "activity"]);
        } finally {
          holder.child.kill("SIGKILL");
        }
      });

      test("a hung holder's lease expires; when it wakes it is fenced off and writes nothing", async () => {
        // A TTL of seconds, not milliseconds: a loaded machine must not starve a live holder of its heartbeat.
        const holder = await startHolder(harness.openInChild(2_000));
        try {
          const id = await holder.ready;
          expect(await store.claim(id, "r2")).toBeUndefined();
          holder.child.kill("SIGSTOP");
          let lease: SessionLease | undefined;
          for (const until = Date.now() + 30_000; !lease && Date.now() < until; ) {
            await new Promise((r) => setTimeout(r, 100));
            lease = await store.claim(id, "r2");
          }
          expect(lease?.fence).toBe(2);
          await lease!.append(activity(1, "new owner"));
          holder.child.kill("SIGCONT");
          expect(await holder.ask("append")).toMatch(/^AKTS4003 session ses_\w+: lease fence 1 is stale \(current 2\); nothing was written$/);
          expect(await holder.ask("status")).toMatch(/^AKTS4003 /);
          expect((await store.read(id)).records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", "new owner"]);
          expect((await store.get(id))?.status).toBe("running");
          await lease!.release();
        } finally {
          holder.child.kill("SIGKILL");
        }
      });

      test("processes racing to claim the same session: exactly one wins", async () => {
        const lease = await store.create(header(), "r");
        await lease.release();
        const script = `
          (async () => {
            ${harness.openInChild(60_000)}
            setTimeout(async () => {
              const lease = await store.claim(${JSON.stringify(lease.id)}, "racer-" + process.pid);
              process.stdout.write(lease ? "won " + lease.fence : "lost");
              // The winner stays alive while the others try, so a late racer meets a live holder, not a dead one.
              setTimeout(() => process.exit(0), 1000);
            }, ${Date.now() + 3000} - Date.now());
          })();`;
        const outcomes = await Promise.all(Array.from({ length: 4 }, () => runNode(script)));
        expect(outcomes.sort()).toEqual(["lost", "lost", "lost", "won 2"]);
      });
    });

    describe("slots", () => {
      test("processes racing for a trigger's slots: exactly max win; a slot frees when its session finishes", async () => {
        const script = `
          (async () => {
            ${harness.openInChild(60_000)}
            const id = require(${JSON.stringify(path.resolve(__dirname, "..", "dist", "runtime", "store", "store.js"))}).newSessionId();
            setTimeout(async () => {
              const took = await store.slots.take("p", "t", id, 2);
              process.stdout.write((took ? "won " : "lost ") + id);
              await store.close();
            }, ${Date.now() + 3000} - Date.now());
          })();`;
        const outcomes = await Promise.all(Array.from({ length: 5 }, () => runNode(script)));
        const won = outcomes.filter((o) => o.startsWith("won ")).map((o) => o.slice(4));
        expect(won, outcomes.join("\n")).toHaveLength(2);
        // Taking again for a holder changes nothing; a newcomer waits; another trigger has slots of its own.
        expect(await store.slots.take("p", "t", won[0], 2)).toBe(true);
        expect(await store.slots.take("p", "t", newSessionId(), 2)).toBe(false);
        expect(await store.slots.take("p", "other", newSessionId(), 2)).toBe(true);
        const lease = await store.create(header(won[0]), "r");
        expect(await store.slots.take("p", "t", newSessionId(), 2)).toBe(false);
        await lease.setStatus("completed");
        await lease.release();
        expect(await store.slots.take("p", "t", newSessionId(), 2)).toBe(true);
      });
    });

    describe("events", () => {
      test("an inbox gives delivered events by name, in order, minus those already consumed", async () => {
        const lease = await store.create(header(), "r");
        const a = await store.deliver(lease.id, "approval", { by: "ada", at: 1n });
        const b = await store.deliver(lease.id, "approval", { by: "grace" });
        await store.deliver(lease.id, "other", 3);
        const inbox = store.inbox(lease.id, new Set([a]));
        expect(await inbox.take("approval", Date.now() + 1000)).toEqual({ id: b, name: "approval", value: { by: "grace" } });
        await inbox.consumed(b);
        const started = Date.now();
        expect(await inbox.take("approval", Date.now() + 300)).toBeUndefined();
        expect(Date.now() - started).toBeGreaterThanOrEqual(250);
        expect(await store.inbox(lease.id, new Set()).take("other", undefined)).toMatchObject({ value: 3 });
        await lease.release();
      });

      test("a waiting take is woken by a delivery", async () => {
        const lease = await store.create(header(), "r");
        const inbox = store.inbox(lease.id, new Set());
        const taken = inbox.take("approval", undefined);
        await new Promise((r) => setTimeout(r, 200));
        const id = await store.deliver(lease.id, "approval", "yes");
        expect(await taken).toEqual({ id, name: "approval", value: "yes" });
        await lease.release();
      }, 20_000);
    });
  });
}

/** Runs a script in a fresh node process; resolves with its stdout. */
function runNode(script: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", script]);
    let out = "";
    let err = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (err += d));
    child.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${err}`))));
  });
}

/**
 * A child process that opens the store (`open` declares `store`), creates a session, holds its lease, and on each
 * stdin line (`append`, `status`) tries that write and answers `ok` or `<code> <message>`.
 */
async function startHolder(open: string) {
  const script = `
    (async () => {
      ${open}
      const { newSessionId } = require(${JSON.stringify(path.resolve(__dirname, "..", "dist", "runtime", "store", "store.js"))});
      const id = newSessionId();
      const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "h", event: null, createdAt: 1 }, "holder");
      lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
      process.stdout.write(id + "\\n");
      require("node:readline").createInterface({ input: process.stdin }).on("line", async (line) => {
        try {
          if (line === "append") lease.appendSync({ t: "activity", seq: 1, site: "h.ts:1:1", callee: "stale", ok: true, value: "stale", async: false, start: 1, end: 1 });
          else await lease.setStatus("failed", { error: "stale" });
          process.stdout.write("ok\\n");
        } catch (err) {
          process.stdout.write(err.code + " " + err.message + "\\n");
        }
      });
    })();`;
  const child: ChildProcessWithoutNullStreams = spawn(process.execPath, ["-e", script]);
  const answers: string[] = [];
  const waiting: ((line: string) => void)[] = [];
  let buffered = "";
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.on("data", (d) => {
    buffered += d;
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      const w = waiting.shift();
      if (w) w(line);
      else answers.push(line);
    }
  });
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const next = () =>
    new Promise<string>((resolve, reject) => {
      const a = answers.shift();
      if (a !== undefined) return resolve(a);
      waiting.push(resolve);
      void exited.then(() => reject(new Error(`holder exited: ${stderr}`)));
    });
  return {
    child,
    exited,
    ready: next(),
    ask: (command: string) => {
      child.stdin.write(`${command}\n`);
      return next();
    },
  };
}
