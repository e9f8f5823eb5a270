/** The file store: the store contract (store-contract.ts), and what is particular to files. */
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FileStore, newSessionId } from "../runtime/store";
import { activity, header, storeContract } from "./store-contract";

const DIST_STORE = path.resolve(__dirname, "..", "dist", "runtime", "store", "file-store.js");

let contractDir: string;
storeContract("file store", {
  make: async () => {
    contractDir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-store-"));
    return new FileStore(contractDir, "none");
  },
  dispose: () => fs.rmSync(contractDir, { recursive: true, force: true }),
  openInChild: (ttlMs) => `const store = new (require(${JSON.stringify(DIST_STORE)}).FileStore)(${JSON.stringify(contractDir)}, "none", { leaseTtlMs: ${ttlMs} });`,
});

let dir: string;
let store: FileStore;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "akts-store-"));
  store = new FileStore(dir, "none");
});
afterEach(async () => {
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("file store", () => {
  test("a summary lost in a crash is rebuilt from the journal", async () => {
    const done = await store.create(header(), "r");
    await done.append({ t: "attempt", attempt: 1, at: 1500 });
    await done.append({ t: "end", ok: false, error: new TypeError("bad"), at: 2000 });
    await done.setStatus("failed", { error: "TypeError: bad" });
    await done.release();
    const open = await store.create(header(), "r");
    await open.setStatus("waiting");
    await open.release();
    // A power loss before writeback leaves an empty summary; the unfinished marker may outlive the end.
    fs.writeFileSync(path.join(dir, "sessions", `${done.id}.json`), "");
    fs.rmSync(path.join(dir, "sessions", `${open.id}.json`));
    fs.writeFileSync(path.join(dir, "unfinished", done.id), "");
    expect(await store.get(done.id)).toMatchObject({ status: "failed", attempts: 1, error: "TypeError: bad", updatedAt: 2000 });
    expect((await store.unfinished()).map((s) => [s.id, s.status])).toEqual([[open.id, "running"]]);
    expect(fs.existsSync(path.join(dir, "unfinished", done.id))).toBe(false);
  });

  test("files are 0600 and folders 0700", async () => {
    const lease = await store.create(header(), "r");
    await lease.append(activity(1));
    await lease.setStatus("waiting");
    await store.deliver(lease.id, "approval", { ok: true });
    await lease.release();
    const walk = (d: string): string[] => fs.readdirSync(d).flatMap((f) => [path.join(d, f), ...(fs.statSync(path.join(d, f)).isDirectory() ? walk(path.join(d, f)) : [])]);
    const modes = walk(dir).map((f) => [path.relative(dir, f), (fs.statSync(f).mode & 0o777).toString(8)]);
    expect(modes.map(([f]) => f.replace(lease.id, "<id>").replace(/evt_\w+/, "<evt>")).sort()).toEqual([
      "sessions",
      "sessions/<id>.inbox",
      "sessions/<id>.inbox/<evt>",
      "sessions/<id>.journal",
      "sessions/<id>.json",
      "tmp",
      "unfinished",
      "unfinished/<id>",
    ]);
    for (const [file, mode] of modes) expect([file, mode]).toEqual([file, fs.statSync(path.join(dir, file)).isDirectory() ? "700" : "600"]);
  });

  test("session ids are unique and sort in creation order", () => {
    const ids = Array.from({ length: 5000 }, () => newSessionId());
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^ses_[0-9A-HJKMNP-TV-Z]{26}$/);
    expect(newSessionId(0) < newSessionId(1)).toBe(true);
  });
});
