/**
 * A chain of numbered files `<prefix><n>` in one folder, where number n+1 supersedes n: the values lock's fences,
 * a `max_concurrent` slot's generations. Each file is written whole in the store's `tmp/` and link()ed into place,
 * atomic and exclusive, so of takers racing for one number exactly one wins.
 *
 * A number must never be taken twice. Older files are removed to keep the folder small, and a listing made while
 * files come and go may miss some of them, so a taker that judged from such a listing could link a number that was
 * taken, and removed, long ago, beside the live holder of a newer one. Three rules keep that from happening:
 *  - the newest is found from a listing, then followed with stat() while a newer file exists;
 *  - the newest two files are kept: a file is removed only by the taker of the number two above it;
 *  - after linking n, a taker checks that n-1 still exists and that a new listing holds nothing above n. A stale
 *    number fails one of them (n-1 went before n did, and whatever superseded n is still there), so its taker
 *    removes its file and reports the number lost.
 */
import * as fs from "node:fs";
import { constants } from "node:fs";
import * as path from "node:path";
import { tempFile } from "./temp-file";

export class FenceChain {
  constructor(
    private readonly dir: string,
    private readonly prefix: string,
    private readonly tmpDir: string,
  ) {}

  file(n: number): string {
    return path.join(this.dir, `${this.prefix}${n}`);
  }

  /** The newest number (0: none), from `listing` (the folder's names; listed now if not given). */
  async newest(listing?: readonly string[]): Promise<number> {
    let n = this.highest(listing ?? (await fs.promises.readdir(this.dir)));
    while (await exists(this.file(n + 1))) n++;
    return n;
  }

  /**
   * Takes number `n` (the caller found n-1 newest and free), its file holding `data`: false when another taker got
   * it first or it turned out stale. Then removes the files below n-1.
   */
  async take(n: number, data: string | Uint8Array): Promise<boolean> {
    const tmp = tempFile(this.tmpDir, `${this.prefix}${n}`);
    await fs.promises.writeFile(tmp, data, { mode: 0o600 });
    try {
      await fs.promises.link(tmp, this.file(n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
    const listing = await fs.promises.readdir(this.dir);
    if ((n > 1 && !(await exists(this.file(n - 1)))) || this.highest(listing) > n) {
      await fs.promises.rm(this.file(n), { force: true });
      return false;
    }
    for (const name of listing) {
      const older = this.number(name);
      if (older !== undefined && older < n - 1) await fs.promises.rm(path.join(this.dir, name), { force: true });
    }
    return true;
  }

  private highest(listing: readonly string[]): number {
    let max = 0;
    for (const name of listing) max = Math.max(max, this.number(name) ?? 0);
    return max;
  }

  private number(name: string): number | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const rest = name.slice(this.prefix.length);
    return /^\d+$/.test(rest) ? Number(rest) : undefined;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.access(file, constants.F_OK);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
