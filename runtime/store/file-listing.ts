/**
 * The ids of the file store's sessions, sorted, for listings. Reading the names of a folder of 100,000 sessions
 * takes a second or more, so a store keeps the list it read and adds the sessions it creates itself; it reads the
 * folder again when the folder changed (its mtime) and the list is older than RESCAN_MS, so sessions created by
 * other processes sharing the store appear within that time.
 */
import * as fs from "node:fs";
import { isSessionId } from "./store";

const RESCAN_MS = 5_000;
const SUFFIX = ".journal";

export class SessionIds {
  private ids: string[] | undefined;
  private scannedAt = 0;
  private mtimeMs = -1;
  private scanning: Promise<string[]> | undefined;

  constructor(private readonly dir: string) {}

  /** A session this store created: listed from now on without reading the folder. */
  added(id: string): void {
    const ids = this.ids;
    if (!ids) return;
    // Ids made by one process grow, so this is nearly always an append.
    let at = ids.length;
    while (at > 0 && ids[at - 1] > id) at--;
    if (ids[at - 1] !== id) ids.splice(at, 0, id);
  }

  /** Every session id, in ascending order (the caller must not change the array). */
  async all(): Promise<string[]> {
    const { mtimeMs } = await fs.promises.stat(this.dir);
    if (this.ids && (mtimeMs === this.mtimeMs || Date.now() - this.scannedAt < RESCAN_MS)) return this.ids;
    this.scanning ??= this.scan(mtimeMs).finally(() => (this.scanning = undefined));
    return this.scanning;
  }

  private async scan(mtimeMs: number): Promise<string[]> {
    const started = Date.now();
    const names = await fs.promises.readdir(this.dir);
    const ids = names.filter((f) => f.endsWith(SUFFIX)).map((f) => f.slice(0, -SUFFIX.length)).filter(isSessionId).sort();
    this.ids = ids;
    this.mtimeMs = mtimeMs;
    this.scannedAt = started;
    return ids;
  }
}

/** The index of the first id not below `before` in ascending `ids` (ids.length when all are below). */
export function firstNotBelow(ids: readonly string[], before: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid] < before) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
