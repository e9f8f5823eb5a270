/**
 * An operator fault the server must survive: the file store's folder removed under a running server. Requests
 * that need the store are then answered 503 AKTS7016 (nothing is recreated: the sessions that were in it are gone,
 * and an empty store in its place would hide that), with one log line saying why; once the folder is back (restored,
 * or the server restarted) the server serves again, with one line saying so. A database store is always "there":
 * its outages are waited out by its own retries (pg-retry.ts).
 *
 * The folder is watched (inotify on Linux) instead of looked up on every request: a removal, or any change of its
 * own entries, disarms the watch, and the next request looks again. A watch sees only this machine's changes, so
 * the folder is also looked up when the last look is older than RECHECK_MS (a runner on another machine sharing the
 * folder may remove it), and on every request while it is missing.
 */
import * as fs from "node:fs";
import { FileStore } from "../store/file-store";
import type { Store } from "../store/store";
import { HttpError } from "./http-error";

/** How long a present folder under an armed watch is trusted without looking again. */
export const RECHECK_MS = 1000;

export interface StoreCheck {
  /** Throws the 503 while the store's folder is missing. */
  assertPresent(): void;
  /** Whether `err`, thrown by a store call, means files of the store went missing: then the 503 is the answer. */
  explains(err: unknown): HttpError | undefined;
  /** Stops watching the folder. */
  close(): void;
}

export function storeCheck(store: Store, log: (line: string) => void): StoreCheck {
  const folder = store instanceof FileStore ? store.location : undefined;
  let missing = false;
  const refusal = () => new HttpError(503, `the store folder ${folder} is missing (removed while the server ran); restore it or restart the server`, {}, "AKTS7016");
  let watcher: fs.FSWatcher | undefined;
  /** False once a watch could not be made for a reason other than the folder missing (no inotify watches left). */
  let watchable = true;
  let lookedAt = -Infinity;
  const disarm = () => {
    watcher?.close();
    watcher = undefined;
  };
  const present = (): boolean => {
    const there = folder === undefined || fs.existsSync(folder);
    if (!there && !missing) log(`the store folder ${folder} was removed: requests that need it get 503 AKTS7016 until it is back (restore it, or restart akts serve to begin an empty store)`);
    if (there && missing) log(`the store folder ${folder} is back: serving again`);
    missing = !there;
    lookedAt = performance.now();
    if (there && folder !== undefined && watcher === undefined && watchable) {
      try {
        // Not keeping the process alive: the server's listener does.
        watcher = fs.watch(folder, { persistent: false }, disarm).on("error", disarm);
      } catch (err) {
        // Removed since the look: the next request looks again. Otherwise every request looks, as without a watch.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") watchable = false;
      }
    }
    return there;
  };
  return {
    assertPresent() {
      if (folder === undefined || (watcher !== undefined && performance.now() - lookedAt < RECHECK_MS)) return;
      if (!present()) throw refusal();
    },
    explains(err) {
      const missingFile = err as NodeJS.ErrnoException;
      // Only a file of the store: a missing file elsewhere (the project's, the compile cache's) is no store fault.
      if (folder === undefined || missingFile?.code !== "ENOENT" || (missingFile.path !== undefined && !missingFile.path.startsWith(folder + "/"))) return undefined;
      if (present()) return new HttpError(503, `the store folder ${folder} is incomplete (${(err as Error).message})`, {}, "AKTS7016");
      return refusal();
    },
    close: disarm,
  };
}
