/**
 * A file store lease in one process: what it writes for each status, its heartbeat, its fencing once another store
 * took the session over, and who holds it. Processes that die, hang and race are the store contract's (file-store.test.ts).
 */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore } from "../runtime/store";
import type { FileLease } from "../runtime/store/file-lease";
import { HOST, OWN_START, describeHolder, processAlive } from "../runtime/store/holder";
import { isRecordKind, Kind } from "../runtime/store/segment-format";
import { newSessionId } from "../runtime/store/store";
import { decode } from "../runtime/codec";
import { JournalCorruptError } from "../runtime/errors";
import { activity, header } from "./store-contract";
import { segmentEntries } from "./segments";

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-lease-"));
  store = new FileStore(dir, "none");
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** The runner's segment lease: the lease of fence 1 of every session the store created. */
const segmentLease = () => path.join(dir, "segments", fs.readdirSync(path.join(dir, "segments")).find((f) => f.endsWith(".lease"))!);
const summary = async (id: string) => (await store.get(id))!;
/** What a holder that stopped renewing leaves: a lease file last touched two minutes ago. */
const expire = (file: string) => fs.utimesSync(file, (Date.now() - 120_000) / 1000, (Date.now() - 120_000) / 1000);
/** The store's heartbeat, run now. */
const heartbeat = (s: FileStore) => (s as unknown as { renew(): void }).renew();

describe("status writes", () => {
  test("running notes nothing until the session waited; waiting is noted, and running then replaces it", async () => {
    const lease = await store.create(header(), "r");
    lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
    const size = () => fs.readdirSync(path.join(dir, "segments")).length;
    await lease.setStatus("running");
    expect(await summary(lease.id)).toMatchObject({ status: "running", attempts: 1 });
    await lease.setStatus("waiting");
    expect(await summary(lease.id)).toMatchObject({ id: lease.id, status: "waiting", attempts: 1, trigger: "t" });
    await lease.setStatus("running");
    expect(await summary(lease.id)).toMatchObject({ status: "running", attempts: 1 });
    expect(size()).toBe(2);
    await lease.release();
  });

  test("attempts count the highest attempt journaled, unless a status says otherwise", async () => {
    const lease = await store.create(header(), "r");
    lease.appendSync({ t: "attempt", attempt: 3, at: 1 });
    await lease.append({ t: "attempt", attempt: 2, at: 2 });
    lease.appendSync(activity(1));
    await lease.append(activity(2));
    await lease.setStatus("waiting");
    expect((await summary(lease.id)).attempts).toBe(3);
    await lease.append({ t: "attempt", attempt: 4, at: 3 });
    await lease.setStatus("waiting");
    expect((await summary(lease.id)).attempts).toBe(4);
    await lease.setStatus("waiting", { attempts: 7 });
    expect((await summary(lease.id)).attempts).toBe(7);
    await lease.setStatus("waiting");
    expect((await summary(lease.id)).attempts).toBe(7);
    await lease.release();
  });

  test("a finished status notes the summary with its result made JSON-safe; release after it changes nothing", async () => {
    const lease = await store.create(header(), "r");
    await lease.setStatus("completed", { result: { n: 12n, at: new Date(0) } });
    expect(await summary(lease.id)).toMatchObject({ status: "completed", result: { n: "12n", at: "1970-01-01T00:00:00.000Z" } });
    await lease.release();
    await lease.release();
    const reopened = new FileStore(dir, "none");
    expect(await reopened.get(lease.id)).toMatchObject({ status: "completed", result: { n: "12n", at: "1970-01-01T00:00:00.000Z" } });
    expect(await reopened.claim(lease.id, "r2")).toBeUndefined();
    const plain = await store.create(header(), "r");
    await plain.setStatus("failed", { error: "boom" });
    expect(await summary(plain.id)).not.toHaveProperty("result");
    await plain.release();
  });

  test("release lets an unfinished session go: another store claims it while this one still runs", async () => {
    const lease = await store.create(header(), "r");
    const kept = await store.create(header(), "r");
    await lease.release();
    const other = new FileStore(dir, "none");
    try {
      expect((await other.claim(lease.id, "r2"))?.fence).toBe(2);
      expect(await other.claim(kept.id, "r2")).toBeUndefined();
    } finally {
      await other.close();
      await kept.release();
    }
  });
});

describe("heartbeat and fencing", () => {
  test("a renewal keeps the lease held: another store cannot claim it", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    expire(segmentLease());
    heartbeat(store);
    expect(Math.abs(Date.now() - fs.statSync(segmentLease()).mtimeMs)).toBeLessThan(60_000);
    const other = new FileStore(dir, "none");
    try {
      expect(await other.claim(lease.id, "r2")).toBeUndefined();
    } finally {
      await other.close();
      await lease.release();
    }
  });

  test("a lease taken over is fenced off from its next heartbeat: its writes and status fail, the new holder's land", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    lease.appendSync({ t: "attempt", attempt: 1, at: 1 });
    expire(segmentLease());
    const other = new FileStore(dir, "none");
    try {
      const taken = (await other.claim(lease.id, "r2"))!;
      expect(taken.fence).toBe(2);
      heartbeat(store);
      const stale = /^session ses_\w+: lease fence 1 is stale \(current 2\); nothing was written$/;
      expect(() => lease.appendSync(activity(1, "old holder"))).toThrow(stale);
      await expect(lease.setStatus("waiting")).rejects.toMatchObject({ code: "AKTS4003" });
      await taken.append(activity(1, "new holder"));
      await taken.release();
      for (const reader of [other, store, new FileStore(dir, "none")]) {
        expect((await reader.read(lease.id)).records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "attempt", "new holder"]);
        expect((await reader.get(lease.id))!.status).toBe("running");
      }
    } finally {
      await other.close();
      await lease.release().catch(() => {});
    }
  });

  test("a runner whose segment lease was removed stops trusting its renewals: the next write checks the fence", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    fs.rmSync(segmentLease());
    heartbeat(store);
    // Nobody took it over: the checked write goes through.
    lease.appendSync(activity(1));
    expect((await store.read(lease.id)).records.map((r) => r.t)).toEqual(["header", "activity"]);
    fs.writeFileSync(path.join(dir, "sessions", `${lease.id}.lease-2`), "{}");
    expect(() => lease.appendSync(activity(2))).toThrow(/lease fence 1 is stale/);
    await lease.release().catch(() => {});
  });
});

describe("the fencing check's shortcut", () => {
  /** Blocks this process for `ms`, as a hung holder is: no heartbeat runs meanwhile. */
  const hang = (ms: number) => {
    for (const until = Date.now() + ms; Date.now() < until; );
  };
  /** Makes the lease file of the next fence, as a claimer that took the session over does. */
  const takeOver = (id: string) => fs.writeFileSync(path.join(dir, "sessions", `${id}.lease-2`), "{}");

  test("within half a ttl of a renewal that came in time, a write does not look for a newer fence (none can exist yet)", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    takeOver(lease.id);
    lease.appendSync(activity(1));
    // A heartbeat in time keeps the trust. (The one after it sees the takeover: see above.)
    fs.rmSync(path.join(dir, "sessions", `${lease.id}.lease-2`));
    lease.renew(true);
    takeOver(lease.id);
    lease.appendSync(activity(2));
    expect((await store.read(lease.id)).records.map((r) => r.t)).toEqual(["header", "activity", "activity"]);
    await lease.release();
  });

  /**
   * A lease of a 200 ms ttl whose holder hangs 150 ms (no heartbeat runs), does `before`, and is taken over: its
   * next write must be fenced off.
   */
  async function writeAfterHang(before: (lease: FileLease) => void): Promise<void> {
    const short = new FileStore(dir, "none", { leaseTtlMs: 200 });
    const lease = (await short.create(header(), "r")) as FileLease;
    try {
      hang(150);
      before(lease);
      takeOver(lease.id);
      expect(() => lease.appendSync(activity(1))).toThrow(/lease fence 1 is stale \(current 2\)/);
    } finally {
      await lease.release().catch(() => {});
      await short.close();
    }
  }

  test("half a ttl after the last renewal, every write looks: a takeover meanwhile fences it off", async () => {
    await writeAfterHang(() => {});
  });

  test("a renewal that came late is not trusted: the writes after it look for a newer fence", async () => {
    await writeAfterHang((lease) => lease.renew(true));
  });

  test("a released lease writes nothing, sync or async, and says so", async () => {
    const lease = await store.create(header(), "r");
    await lease.release();
    const released = /^session ses_\w+: the lease was released; nothing was written$/;
    expect(() => lease.appendSync(activity(1))).toThrow(released);
    await expect(lease.append(activity(1))).rejects.toThrow(released);
    await expect(lease.setStatus("waiting")).rejects.toMatchObject({ code: "AKTS4003" });
  });
});

describe("who holds a lease", () => {
  test("this process is alive as itself, not under another start time; an exited process is not", () => {
    expect(processAlive(process.pid, OWN_START)).toBe(true);
    expect(processAlive(process.pid, undefined)).toBe(true);
    expect(processAlive(process.pid, `${OWN_START}0`)).toBe(false);
    const exited = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    expect(processAlive(Number(exited.stdout), undefined)).toBe(false);
    // A process this one may not signal (pid 1, unless this runs as root) still exists.
    expect(processAlive(1, undefined)).toBe(true);
  });

  test("a zombie (exited, never reaped by its parent) holds nothing", async () => {
    // The background child exits after its parent has exec'd into sleep, which never reaps it.
    const parent = spawn("sh", ["-c", "sleep 1 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const pid = Number(await new Promise<string>((resolve) => parent.stdout.once("data", (d) => resolve(String(d).trim()))));
      let state = "";
      for (let i = 0; i < 1000 && state !== "Z"; i++) {
        await new Promise((r) => setTimeout(r, 10));
        state = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1][0];
      }
      expect(state).toBe("Z");
      expect(processAlive(pid, undefined)).toBe(false);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  test("the holder of a session is named by runner, pid and host; a store that cannot say names nobody", async () => {
    const lease = await store.create(header(), "runner-7");
    expect(await describeHolder(store, lease.id)).toBe(`runner-7 (pid ${process.pid} on ${HOST})`);
    expect(await describeHolder({}, lease.id)).toBeUndefined();
    await lease.release();
  });
});

/** The notes of `kind` the segments hold for session `id`: each one's fence and decoded value. */
function notes(id: string, kind: Kind): { fence: number; value: unknown }[] {
  return segmentEntries(dir)
    .filter((e) => e.session === id && e.kind === kind)
    .map((e) => {
      const buf = fs.readFileSync(e.file);
      return { fence: e.fence, value: decode(buf.subarray(e.bodyAt, e.bodyAt + e.bodyLength)) };
    });
}
const statuses = (id: string) => notes(id, Kind.Status).map((n) => (n.value as { status: string }).status);
/** Takeover lease file `fence` of session `id`. */
const leaseFile = (id: string, fence: number) => path.join(dir, "sessions", `${id}.lease-${fence}`);
/** The journal frames the segments hold for session `id`, of every fence. */
const framesOf = (id: string) => segmentEntries(dir).filter((e) => e.session === id && isRecordKind(e.kind));

/** Runs `use` with two more stores of the same folder (other runners), closed after it. */
async function withOtherStores(use: (other: FileStore, third: FileStore) => Promise<void>): Promise<void> {
  const other = new FileStore(dir, "none");
  const third = new FileStore(dir, "none");
  try {
    await use(other, third);
  } finally {
    await other.close();
    await third.close();
  }
}

describe("what a lease notes in its segment", () => {
  test("a deferred create writes its header and attempt at once, unsynced; durable() then syncs them", async () => {
    const lease = await store.create(header(), "r", { t: "attempt", attempt: 1, at: 1500 }, { deferSync: true });
    const other = new FileStore(dir, "none");
    try {
      expect(await other.get(lease.id)).toMatchObject({ status: "running", attempts: 1, updatedAt: 1500 });
      await expect((lease as FileLease).durable()).resolves.toBeUndefined();
    } finally {
      await other.close();
      await lease.release();
    }
  });

  test("finish journals the end and notes the status with its extra fields: the summary is the note's", async () => {
    const lease = await store.create(header(), "r");
    await lease.finish({ t: "end", ok: false, error: new Error("boom"), at: 2000 }, "failed", { attempts: 4, errorCode: "AKTS6001" });
    expect(await summary(lease.id)).toMatchObject({ status: "failed", attempts: 4, errorCode: "AKTS6001", error: "Error: boom" });
    expect((await store.read(lease.id)).records.map((r) => r.t)).toEqual(["header", "end"]);
    expect(statuses(lease.id)).toEqual(["failed"]);
    await lease.release();
    expect(notes(lease.id, Kind.Released)).toEqual([]);
  });

  test("finish tells `durable` once its end is synced, before its promise settles; what `durable` throws rejects that finish only", async () => {
    const synced = new FileStore(dir, "always");
    try {
      const order: string[] = [];
      const first = await synced.create(header(), "r");
      const finished = first.finish({ t: "end", ok: true, result: 1, at: 1 }, "completed", {}, () => order.push("durable"));
      order.push("asked");
      await finished.then(() => order.push("resolved"));
      expect(order).toEqual(["asked", "durable", "resolved"]);
      const second = await synced.create(header(), "r");
      const boom = new Error("reply failed");
      const refused = second.finish({ t: "end", ok: true, result: 2, at: 2 }, "completed", {}, () => {
        throw boom;
      });
      await expect(refused).rejects.toBe(boom);
      expect(await synced.get(second.id)).toMatchObject({ status: "completed", result: 2 });
      const third = await synced.create(header(), "r");
      await third.finish({ t: "end", ok: true, result: 3, at: 3 }, "completed");
      expect(await synced.get(third.id)).toMatchObject({ status: "completed", result: 3 });
    } finally {
      await synced.close();
    }
  });

  test("running is noted only after a wait, once; a finished status is noted and its release notes nothing", async () => {
    const lease = await store.create(header(), "r");
    await lease.setStatus("running");
    await lease.setStatus("waiting");
    await lease.setStatus("running");
    await lease.setStatus("running");
    await lease.setStatus("completed");
    await lease.release();
    await summary(lease.id);
    expect(statuses(lease.id)).toEqual(["waiting", "running", "completed"]);
    expect(notes(lease.id, Kind.Released)).toEqual([]);
    const open = await store.create(header(), "r");
    await open.release();
    await open.release();
    expect(notes(open.id, Kind.Released).map((n) => n.fence)).toEqual([1]);
  });

  test("a write refused by the fencing check fails every later call with that error, and the release notes nothing", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    expire(segmentLease());
    const other = new FileStore(dir, "none");
    try {
      const taken = (await other.claim(lease.id, "r2"))!;
      heartbeat(store);
      let refused: unknown;
      try {
        lease.appendSync(activity(1, "old holder"));
      } catch (err) {
        refused = err;
      }
      expect(refused).toMatchObject({ code: "AKTS4003" });
      // The newer lease let go and removed: the fencing check alone would pass now.
      await taken.release();
      fs.rmSync(leaseFile(lease.id, 2));
      expect(() => lease.appendSync(activity(2, "old holder"))).toThrow(refused as Error);
      await expect(lease.append(activity(3, "old holder"))).rejects.toBe(refused);
      await expect(lease.setStatus("waiting")).rejects.toBe(refused);
      await lease.release();
      expect(notes(lease.id, Kind.Released).filter((n) => n.fence === 1)).toEqual([]);
      expect((await other.read(lease.id)).records.map((r) => r.t)).toEqual(["header"]);
    } finally {
      await other.close();
    }
  });
});

describe("claims and takeover leases", () => {
  test("a takeover lease: mode 0600, nothing left in tmp, renewed by its store's heartbeat, named as the holder, and no other claim while held", async () => {
    const lease = await store.create(header(), "r");
    await lease.release();
    await withOtherStores(async (other, third) => {
      const taken = (await other.claim(lease.id, "r2"))!;
      expect(taken.fence).toBe(2);
      // It never waited: running again notes nothing.
      await taken.setStatus("running");
      await other.get(lease.id);
      expect(statuses(lease.id)).toEqual([]);
      const file = leaseFile(lease.id, 2);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]);
      expect(await store.holder(lease.id)).toMatchObject({ runner: "r2", fence: 2, host: HOST, pid: process.pid });
      expire(file);
      heartbeat(other);
      expect(Math.abs(Date.now() - fs.statSync(file).mtimeMs)).toBeLessThan(60_000);
      expect(await third.claim(lease.id, "r3")).toBeUndefined();
      // Released: marked free by its file's mtime (no note), and claimed at once.
      await taken.release();
      expect(fs.statSync(file).mtimeMs).toBe(0);
      expect(notes(lease.id, Kind.Released).map((n) => n.fence)).toEqual([1]);
      expect((await third.claim(lease.id, "r3"))?.fence).toBe(3);
    });
  });

  test("a takeover lease held by a process of this machine that has exited is claimed at once, one of another machine only once its renewals stop; one whose file is gone releases quietly", async () => {
    const exited = spawnSync(process.execPath, ["-e", ""]).pid;
    for (const elsewhere of [false, true]) {
      const lease = await store.create(header(), "r");
      await lease.release();
      await withOtherStores(async (other, third) => {
        const taken = (await other.claim(lease.id, "r2"))!;
        const file = leaseFile(lease.id, 2);
        const info = JSON.parse(fs.readFileSync(file, "utf8"));
        fs.writeFileSync(file, JSON.stringify({ ...info, pid: exited, start: undefined, ...(elsewhere ? { host: `${HOST}-elsewhere` } : {}) }));
        if (elsewhere) {
          // Whatever process has its pid here, the lease of another machine is held while renewed in time.
          expect(await third.claim(lease.id, "r3")).toBeUndefined();
          expire(file);
        }
        expect((await third.claim(lease.id, "r3"))?.fence).toBe(3);
        fs.rmSync(file);
        await expect(taken.release()).resolves.toBeUndefined();
      });
    }
  });

  test("a session whose creator's runner lease is gone, or whose lease file says nothing yet and is old, is claimed; a young one is not", async () => {
    const lease = await store.create(header(), "r");
    fs.rmSync(segmentLease());
    await withOtherStores(async (other, third) => {
      expect((await other.claim(lease.id, "r2"))?.fence).toBe(2);
      // A lease file its claimer is still writing (or died writing): held while young, free once old.
      fs.writeFileSync(leaseFile(lease.id, 2), "");
      expect(await third.claim(lease.id, "r3")).toBeUndefined();
      expire(leaseFile(lease.id, 2));
      expect((await third.claim(lease.id, "r3"))?.fence).toBe(3);
    });
  });

  test("the holder of a session nobody took over is its creator; a session not there has none", async () => {
    const lease = await store.create(header(), "r");
    expect(await store.holder(lease.id)).toMatchObject({ fence: 1, host: HOST, pid: process.pid });
    expect(await store.holder(newSessionId())).toBeUndefined();
    await lease.release();
  });

  test("a claim of a session not there names it; a finished one is not claimed, even once its creator is gone", async () => {
    await expect(store.claim(newSessionId(), "r")).rejects.toMatchObject({ code: "AKTS9004" });
    const creator = new FileStore(dir, "none");
    const lease = await creator.create(header(), "r");
    await lease.setStatus("completed");
    await lease.release();
    await creator.close();
    expect(await store.claim(lease.id, "r2")).toBeUndefined();
  });

  test("a session that waited, claimed by another runner, is running again once that runner says so; the claim reads its journal", async () => {
    const lease = await store.create(header(), "r");
    lease.appendSync(activity(1));
    await lease.setStatus("waiting");
    await lease.release();
    const other = new FileStore(dir, "none");
    try {
      const taken = (await other.claim(lease.id, "r2"))!;
      expect(taken.claimed?.records.map((r) => r.t)).toEqual(["header", "activity"]);
      await taken.setStatus("running");
      expect((await other.get(lease.id))!.status).toBe("running");
      // The store that let it go (its last word: waiting) sees the new holder's statuses.
      expect((await store.get(lease.id))!.status).toBe("running");
    } finally {
      await other.close();
    }
  });

  test("a claim of a session whose journal is damaged fails the session with the damage's code and frees the fence it took", async () => {
    const lease = await store.create(header(), "r");
    lease.appendSync(activity(1, "x".repeat(200)));
    lease.appendSync(activity(2));
    await lease.release();
    const damaged = segmentEntries(dir).filter((e) => e.session === lease.id && e.kind === Kind.Record)[0];
    const fd = fs.openSync(damaged.file, "r+");
    fs.writeSync(fd, Buffer.from("y"), 0, 1, damaged.bodyAt + 100);
    fs.closeSync(fd);
    const other = new FileStore(dir, "none");
    try {
      await expect(other.claim(lease.id, "r2")).rejects.toBeInstanceOf(JournalCorruptError);
      expect(await other.get(lease.id)).toMatchObject({ status: "failed", errorCode: "AKTS4001" });
      expect(fs.statSync(leaseFile(lease.id, 2)).mtimeMs).toBe(0);
    } finally {
      await other.close();
    }
  });

  test("a claim whose read fails otherwise than by damage (the segment gone) fails, leaves the session unfinished and frees its fence", async () => {
    const creator = new FileStore(dir, "none");
    const lease = await creator.create(header(), "r");
    lease.appendSync(activity(1));
    await lease.release();
    await creator.close();
    // Indexed while its segment is there; the creator closed, so it is not read again until a journal is.
    expect((await store.get(lease.id))!.status).toBe("running");
    const [file] = segmentEntries(dir).filter((e) => e.session === lease.id).map((e) => e.file);
    fs.renameSync(file, `${file}.away`);
    await expect(store.claim(lease.id, "r2")).rejects.toMatchObject({ code: "ENOENT" });
    expect((await store.get(lease.id))!.status).toBe("running");
    expect(fs.statSync(leaseFile(lease.id, 2)).mtimeMs).toBe(0);
    fs.renameSync(`${file}.away`, file);
    const taken = (await store.claim(lease.id, "r2"))!;
    expect(taken.fence).toBe(3);
    expect(taken.claimed?.records.map((r) => r.t)).toEqual(["header", "activity"]);
  });

  test("what a stale holder writes after a claim read the journal is not part of it, for every later reader", async () => {
    const lease = (await store.create(header(), "r")) as FileLease;
    lease.appendSync(activity(1, "before"));
    expire(segmentLease());
    await withOtherStores(async (other) => {
      const taken = (await other.claim(lease.id, "r2"))!;
      expect(taken.fence).toBe(2);
      // No heartbeat has run since: the old holder still trusts its lease, and its write lands in its segment.
      lease.appendSync(activity(2, "stale"));
      expect(framesOf(lease.id).filter((e) => e.fence === 1)).toHaveLength(3);
      await taken.append(activity(2, "new holder"));
      await taken.release();
      const reader = new FileStore(dir, "none");
      try {
        for (const s of [reader, other]) {
          expect((await s.read(lease.id)).records.map((r) => (r.t === "activity" ? r.value : r.t))).toEqual(["header", "before", "new holder"]);
        }
      } finally {
        await reader.close();
      }
    });
    await lease.release().catch(() => {});
  });

  test("a claim that finds the next fence's lease file already linked (another claimer took it after this one looked) gets nothing; any other failure to link it is thrown", async () => {
    const lease = await store.create(header(), "r");
    await lease.release();
    await withOtherStores(async (other) => {
      // A lease file the claim's look at the fences does not see (a dangling link): as one made right after it.
      fs.symlinkSync(path.join(dir, "nowhere"), leaseFile(lease.id, 2));
      expect(await other.claim(lease.id, "r2")).toBeUndefined();
      expect(fs.readlinkSync(leaseFile(lease.id, 2))).toBe(path.join(dir, "nowhere"));
      fs.rmSync(leaseFile(lease.id, 2));
      // The takeover leases' folder gone: the link fails (ENOENT), which is no lost race.
      fs.rmSync(path.join(dir, "sessions"), { recursive: true });
      await expect(other.claim(lease.id, "r2")).rejects.toMatchObject({ code: "ENOENT" });
      expect(fs.readdirSync(path.join(dir, "tmp"))).toEqual([]);
      fs.mkdirSync(path.join(dir, "sessions"));
      expect((await other.claim(lease.id, "r2"))?.fence).toBe(2);
    });
  });

  test("the heartbeat renews the runner's lease every third of its ttl", async () => {
    const quick = new FileStore(dir, "none", { leaseTtlMs: 600 });
    try {
      const lease = await quick.create(header(), "r");
      const file = path.join(dir, "segments", fs.readdirSync(path.join(dir, "segments")).find((f) => f.endsWith(".lease"))!);
      expire(file);
      const deadline = Date.now() + 1000;
      while (Date.now() - fs.statSync(file).mtimeMs > 60_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(Date.now() - fs.statSync(file).mtimeMs).toBeLessThan(60_000);
      await lease.release();
    } finally {
      await quick.close();
    }
  });
});
