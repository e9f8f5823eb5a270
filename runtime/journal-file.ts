/**
 * Journal files: reading one (cutting a torn tail). Sessions are written to a runner's segments
 * (store/segment-writer.ts); whole journal files are read when an old store is migrated and by `akts replay`.
 */
import * as fs from "node:fs";
import { decodeFrames, zeros, type ReadOptions, type ReadResult } from "./journal-frames";

/** `always`: on disk before the handler continues; `batch`: group commit; `none`: tests and benchmarks only. */
export type FsyncPolicy = "always" | "batch" | "none";

export interface OpenedJournal extends ReadResult {
  /** One line per repair made (or, with `repair: false`, that reading with repair would make). */
  readonly notices: string[];
  /** The torn-tail notice, when there was one (`notices[0]`). */
  readonly notice?: string;
}

/**
 * Reads a journal file. A torn tail is cut (zeroed on disk and synced) with a notice; `repair: false` only reports
 * it. Damage before the tail throws JournalCorruptError and changes nothing.
 */
export function readJournal(file: string, options: { repair?: boolean } & ReadOptions = {}): OpenedJournal {
  const result = decodeFrames(fs.readFileSync(file), file, options);
  if (result.torn === 0) return { ...result, notices: [] };
  const notice = `journal ${file}: cut ${result.torn} torn bytes at offset ${result.end}`;
  if (options.repair !== false) {
    const fd = fs.openSync(file, "r+");
    try {
      fs.writeSync(fd, zeros(result.torn), 0, result.torn, result.end);
      fs.fdatasyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  return { ...result, notices: [notice], notice };
}

/** Makes a folder's entries (a created, renamed or removed file) durable. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
