/**
 * An operator fault the server must survive: the file store's folder removed under a running server. Requests
 * that need the store are then answered 503 AKTS7016 (nothing is recreated: the sessions that were in it are gone,
 * and an empty store in its place would hide that), with one log line saying why; once the folder is back (restored,
 * or the server restarted) the server serves again, with one line saying so. A database store is always "there":
 * its outages are waited out by its own retries (pg-retry.ts).
 */
import * as fs from "node:fs";
import { FileStore } from "../store/file-store";
import type { Store } from "../store/store";
import { HttpError } from "./http-error";

export interface StoreCheck {
  /** Throws the 503 while the store's folder is missing. */
  assertPresent(): void;
  /** Whether `err`, thrown by a store call, means files of the store went missing: then the 503 is the answer. */
  explains(err: unknown): HttpError | undefined;
}

export function storeCheck(store: Store, log: (line: string) => void): StoreCheck {
  const folder = store instanceof FileStore ? store.location : undefined;
  let missing = false;
  const refusal = () => new HttpError(503, `the store folder ${folder} is missing (removed while the server ran); restore it or restart the server`, {}, "AKTS7016");
  const present = (): boolean => {
    const there = folder === undefined || fs.existsSync(folder);
    if (!there && !missing) log(`the store folder ${folder} was removed: requests that need it get 503 AKTS7016 until it is back (restore it, or restart akts serve to begin an empty store)`);
    if (there && missing) log(`the store folder ${folder} is back: serving again`);
    missing = !there;
    return there;
  };
  return {
    assertPresent() {
      if (!present()) throw refusal();
    },
    explains(err) {
      const missingFile = err as NodeJS.ErrnoException;
      // Only a file of the store: a missing file elsewhere (the project's, the compile cache's) is no store fault.
      if (folder === undefined || missingFile?.code !== "ENOENT" || (missingFile.path !== undefined && !missingFile.path.startsWith(folder + "/"))) return undefined;
      if (present()) return new HttpError(503, `the store folder ${folder} is incomplete (${(err as Error).message})`, {}, "AKTS7016");
      return refusal();
    },
  };
}
