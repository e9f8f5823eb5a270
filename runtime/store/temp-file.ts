/** Names for files written in the store's `tmp/` before they are renamed or linked into place. */
import * as path from "node:path";

let counter = 0;

/** A path in `tmpDir` for a file about `base` that no other writer, in this process or another, uses at once. */
export function tempFile(tmpDir: string, base: string): string {
  return path.join(tmpDir, `${base}.${process.pid}.${++counter}.tmp`);
}
