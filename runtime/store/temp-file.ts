/** Names for files written in the store's `tmp/` before they are renamed or linked into place. */
import * as path from "node:path";
import { threadId } from "node:worker_threads";

let counter = 0;

/**
 * A path in `tmpDir` for a file about `base` that no other writer uses at once: not another process, and not another
 * thread of this one (each thread has its own counter).
 */
export function tempFile(tmpDir: string, base: string): string {
  return path.join(tmpDir, `${base}.${process.pid}.${threadId}.${++counter}.tmp`);
}
