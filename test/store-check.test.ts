/**
 * The store folder's presence check of `akts serve` (runtime/server/store-check.ts): a watch instead of a look per
 * request, and a look per request where no watch can be made. Either way a request after the folder's removal is
 * refused. (The whole server with the folder removed and restored: test/faults-operator.test.ts.)
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { expect, test, vi } from "vitest";
import { storeCheck } from "../runtime/server/store-check";
import { FileStore } from "../runtime/store/file-store";
import { tempDir } from "./helpers";

/** `fs.watch` as the check calls it: counted, and failing as with no inotify watches left while `failing`. */
const watches = vi.hoisted(() => ({ failing: false, calls: 0 }));
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const watch = (...args: Parameters<typeof real.watch>) => {
    watches.calls++;
    if (watches.failing) throw Object.assign(new Error("no inotify watches left"), { code: "ENOSPC" });
    return real.watch(...args);
  };
  return { ...real, watch };
});

const refused = { status: 503, code: "AKTS7016" };

async function removedUnder(check: ReturnType<typeof storeCheck>, folder: string): Promise<void> {
  check.assertPresent();
  fs.rmSync(folder, { recursive: true });
  // The watch's event is read by the event loop's next poll for I/O, as a request is.
  await new Promise((r) => setTimeout(r, 20));
  expect(() => check.assertPresent()).toThrow(expect.objectContaining(refused));
}

test("a watched folder's removal refuses the next request", async () => {
  const folder = path.join(tempDir("store-check"), "store");
  const store = new FileStore(folder, "none");
  const lines: string[] = [];
  const check = storeCheck(store, (line) => lines.push(line));
  watches.calls = 0;
  try {
    await removedUnder(check, folder);
    expect(watches.calls).toBe(1);
    expect(lines).toEqual([expect.stringMatching(/^the store folder \S+ was removed/)]);
  } finally {
    check.close();
    await store.close();
  }
});

test("where the folder cannot be watched, every request looks, and the removal still refuses the next one", async () => {
  const folder = path.join(tempDir("store-check"), "store");
  const store = new FileStore(folder, "none");
  const check = storeCheck(store, () => {});
  watches.failing = true;
  watches.calls = 0;
  try {
    for (let i = 0; i < 5; i++) check.assertPresent();
    // Tried once: a watch that failed is not tried again at every request.
    expect(watches.calls).toBe(1);
    await removedUnder(check, folder);
  } finally {
    watches.failing = false;
    check.close();
    await store.close();
  }
});
