/**
 * Directory syncs shared by concurrent callers: each caller waits for an fsync of the folder that began after it
 * called, and callers that arrive while one runs share the next. Creating many sessions at once costs a few
 * directory syncs, not one each, and none of them blocks the event loop.
 */
import * as fs from "node:fs";
import { promisify } from "node:util";

const open = promisify(fs.open);
const fsync = promisify(fs.fsync);
const close = promisify(fs.close);

export class DirSync {
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  constructor(private readonly dir: string) {}

  /** Resolves once the folder's entries made before this call are durable. */
  sync(): Promise<void> {
    if (this.running === undefined) return this.start();
    // The sync under way may have begun before the caller's entry was made: the caller waits for the next one.
    this.queued ??= this.running
      .catch(() => {})
      .then(() => {
        this.queued = undefined;
        return this.start();
      });
    return this.queued;
  }

  private start(): Promise<void> {
    const round: Promise<void> = syncDir(this.dir).finally(() => {
      if (this.running === round) this.running = undefined;
    });
    this.running = round;
    return round;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fd = await open(dir, "r");
  try {
    await fsync(fd);
  } finally {
    await close(fd);
  }
}
