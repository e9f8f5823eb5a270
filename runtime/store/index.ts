/** Stores: the interface, the embedded file store, and how commands open one. */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../../errors";
import { FileStore, type FileStoreOptions } from "./file-store";
import type { FsyncPolicy } from "../journal";

export * from "./store";
export { FileStore, type FileStoreOptions } from "./file-store";

export const STORE_DIR = ".akts";

/** The store folder: `dir` if given, else `.akts` beside the manifest, else `.akts` in the current folder. */
export function storeLocation(options: { dir?: string; manifest?: string }): string {
  if (options.dir !== undefined) return path.resolve(options.dir);
  return path.resolve(options.manifest === undefined ? "." : path.dirname(options.manifest), STORE_DIR);
}

/**
 * Opens the file store at `location`. `mustExist` is for commands that only read (sessions, journal): a missing
 * store is then an error instead of a new empty folder.
 */
export function openFileStore(location: string, options: FileStoreOptions & { fsync?: FsyncPolicy; mustExist?: boolean } = {}): FileStore {
  if (options.mustExist && !fs.existsSync(path.join(location, "sessions"))) {
    throw new AktsError("AKTS9004", `no akts store at ${location}`, { hint: "pass --store <dir> or --manifest <autokitteh.yaml>, or run a session first" });
  }
  return new FileStore(location, options.fsync, options);
}
