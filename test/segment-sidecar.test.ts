/**
 * Segment sidecars (runtime/store/segment-sidecar.ts): a store opens sealed segments from them without reading their
 * frames; a damaged sidecar, or one that disagrees with its segment, is ignored and the segment read; a SIGKILL while
 * sidecars are written loses nothing.
 */
import { afterEach, describe, expect, test, vi } from "vitest";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FileStore } from "../runtime/store";
import { encodeFrame } from "../runtime/journal";
import { entryParts, Kind } from "../runtime/store/segment-format";
import { activity, header } from "./store-contract";
import { segmentEntries, segmentFiles } from "./segments";
import { tempDir } from "./helpers";

const DIST = path.resolve(__dirname, "..", "dist", "runtime");
const requireDist = (module: string) => `require(${JSON.stringify(path.join(DIST, module))})`;
const sidecar = (segment: string) => segment.replace(/\.seg$/, ".idx");

let dir: string;
afterEach(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** `n` finished sessions over several segments (values big enough to fill them), the store closed. */
async function finishedStore(n: number): Promise<string[]> {
  const store = new FileStore(dir, "batch");
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const lease = await store.create(header(), "r");
    await lease.append(activity(1, "x".repeat(8000)));
    await lease.append({ t: "end", ok: true, result: i, at: 2000 });
    await lease.release();
    ids.push(lease.id);
  }
  await store.close();
  return ids;
}

/**
 * Flips a byte inside the body of every session's header entry but a segment's last (which a sidecar's check reads): a
 * store that reads the frames loses those sessions. Returns the sessions damaged.
 */
function damageHeaders(): Set<string> {
  const entries = segmentEntries(dir);
  const damaged = new Set<string>();
  for (const e of entries.filter((e, i) => e.kind === Kind.Header && entries[i + 1]?.file === e.file)) {
    damaged.add(e.session);
    const fd = fs.openSync(e.file, "r+");
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, e.bodyAt + 20);
    b[0] ^= 0xff;
    fs.writeSync(fd, b, 0, 1, e.bodyAt + 20);
    fs.closeSync(fd);
  }
  return damaged;
}

async function completed(): Promise<Map<string, unknown>> {
  const store = new FileStore(dir, "none", { readOnly: true });
  const list = await store.list({ limit: 10_000 });
  await store.close();
  return new Map(list.filter((s) => s.status === "completed").map((s) => [s.id, s.result]));
}

describe("segment sidecars", () => {
  test("sealed segments are indexed from their sidecars, without reading their frames", async () => {
    dir = tempDir("sidecar-open");
    const ids = await finishedStore(300);
    const segments = segmentFiles(dir);
    expect(segments.length).toBeGreaterThanOrEqual(2);
    for (const s of segments) expect(fs.existsSync(sidecar(s))).toBe(true);
    expect(damageHeaders().size).toBeGreaterThan(290);
    const listed = await completed();
    expect(listed.size).toBe(300);
    ids.forEach((id, i) => expect(listed.get(id)).toBe(i));
  });

  test("a frame of a segment indexed from its sidecar, damaged since, fails the claim that reads it (AKTS4001 at the entry)", async () => {
    dir = tempDir("sidecar-claim");
    const store = new FileStore(dir, "batch");
    const lease = await store.create(header(), "r");
    for (let i = 1; i <= 5; i++) await lease.append(activity(i, `value ${i}`));
    await lease.release();
    await store.close();
    const [segment] = segmentFiles(dir);
    expect(fs.existsSync(sidecar(segment))).toBe(true);
    const third = segmentEntries(dir).filter((e) => e.session === lease.id)[3];
    const data = fs.readFileSync(segment);
    data[third.bodyAt + 12] ^= 0xff;
    fs.writeFileSync(segment, data);
    const reopened = new FileStore(dir, "batch");
    await expect(reopened.claim(lease.id, "r2")).rejects.toMatchObject({
      code: "AKTS4001",
      file: segment,
      offset: third.frameAt,
      message: expect.stringContaining("an entry's journal frame fails its checksum: damage"),
    });
    await reopened.close();
  });

  test("a damaged sidecar, or one that disagrees with its segment, is ignored: the segment is read", async () => {
    dir = tempDir("sidecar-damaged");
    const ids = await finishedStore(300);
    const [first, second] = segmentFiles(dir);
    const inFile = (file: string) => new Set(segmentEntries(dir).filter((e) => e.file === file).map((e) => e.session));
    const damaged = damageHeaders();
    const lostFirst = new Set([...inFile(first)].filter((id) => damaged.has(id)));
    const lostSecond = new Set([...inFile(second)].filter((id) => damaged.has(id)));
    const side = fs.readFileSync(sidecar(first));
    side[side.length - 10] ^= 0xff;
    fs.writeFileSync(sidecar(first), side);
    // The first segment is read (its damaged headers lose its sessions); the others still come from their sidecars.
    let listed = await completed();
    expect(lostFirst.size).toBeGreaterThan(0);
    expect([...listed.keys()].sort()).toEqual(ids.filter((id) => !lostFirst.has(id)).sort());

    // An entry after the second segment's indexed end: the sidecar disagrees, so the segment is read and has it.
    const extra = header();
    const end = Math.max(...segmentEntries(dir).filter((e) => e.file === second).map((e) => e.bodyAt + e.bodyLength));
    const fd = fs.openSync(second, "r+");
    fs.writevSync(fd, entryParts(Kind.Header, 1, extra.sessionId, encodeFrame(extra)), end);
    fs.closeSync(fd);
    const store = new FileStore(dir, "none", { readOnly: true });
    expect((await store.get(extra.sessionId))?.status).toBe("running");
    await store.close();
    listed = await completed();
    expect(lostSecond.size).toBeGreaterThan(0);
    expect([...listed.keys()].sort()).toEqual(ids.filter((id) => !lostFirst.has(id) && !lostSecond.has(id)).sort());
  });

  test("a dead runner's recovered segment gets a sidecar", async () => {
    dir = tempDir("sidecar-recovered");
    const ids = await finishedStore(1);
    const [segment] = segmentFiles(dir);
    fs.rmSync(sidecar(segment));
    const store = new FileStore(dir, "none");
    await vi.waitFor(() => expect(fs.existsSync(sidecar(segment))).toBe(true));
    await store.close();
    damageHeaders();
    expect([...(await completed()).keys()]).toEqual(ids);
  });

  test("a SIGKILL while sidecars are written loses no finished session", async () => {
    dir = tempDir("sidecar-kill");
    for (const delay of [0, 1, 2, 4, 8]) {
      const script = `(async () => {
        const store = new (${requireDist("store/file-store.js")}.FileStore)(${JSON.stringify(dir)}, "batch");
        const { newSessionId } = ${requireDist("store/store.js")};
        for (let i = 0; i < 150; i++) {
          const id = newSessionId();
          const lease = await store.create({ t: "header", v: 1, sessionId: id, project: "p", trigger: "t", handler: "h.ts:h", mode: "durable", codeHash: "h", event: null, createdAt: 1 }, "child");
          await lease.append({ t: "activity", seq: 1, site: "h.ts:1:1", callee: "api.get", ok: true, value: "x".repeat(8000), async: true, start: 1, end: 2 });
          await lease.append({ t: "end", ok: true, result: i, at: 2 });
          await lease.release();
          process.stdout.write(id + "\\n");
        }
        process.stdout.write("closing\\n");
        await store.close();
      })();`;
      const finished = await new Promise<string[]>((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", script]);
        let out = "";
        child.stdout.on("data", (d) => {
          out += d;
          if (out.includes("closing\n")) setTimeout(() => child.kill("SIGKILL"), delay);
        });
        child.on("error", reject);
        child.on("exit", () => resolve(out.split("\n").filter((l) => l.startsWith("ses_"))));
      });
      expect(finished.length).toBe(150);
      const listed = await completed();
      for (const id of finished) expect(listed.has(id)).toBe(true);
    }
  });
});
