/**
 * The file store's cancellation requests: `cancel/<session id>`, an empty file per request, in a folder of its
 * own. Asking is one existence check per running session, so a runner polls them cheaply.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fsyncDir } from "../journal-file";
import { UNFINISHED, checkSessionId, isSessionId, type Store } from "./store";

export class FileCancels {
  private readonly dir: string;

  constructor(location: string) {
    // Made by the first request, so a store that never cancels keeps its layout.
    this.dir = path.join(location, "cancel");
  }

  async request(id: string): Promise<void> {
    checkSessionId(id);
    const file = path.join(this.dir, id);
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.promises.writeFile(file, "", { mode: 0o600 });
    // Synced: a request acknowledged to the operator is not lost in a power failure.
    const fd = await fs.promises.open(file, "r");
    try {
      await fd.sync();
    } finally {
      await fd.close();
    }
    fsyncDir(this.dir);
  }

  async requested(ids: readonly string[]): Promise<Set<string>> {
    return new Set(ids.filter((id) => fs.existsSync(path.join(this.dir, id))));
  }

  /** Removes the requests no session will read again (Store.sweepCancels). */
  async sweep(store: Pick<Store, "get" | "queue">): Promise<number> {
    if (!fs.existsSync(this.dir)) return 0;
    let removed = 0;
    for (const id of (await fs.promises.readdir(this.dir)).filter(isSessionId)) {
      if (await stillWanted(store, id)) continue;
      await fs.promises.rm(path.join(this.dir, id), { force: true });
      removed++;
    }
    return removed;
  }
}

/**
 * A request is read until its session finishes; one for a session not made yet is wanted while the session waits
 * in the queue (its entry is removed only once the session is made, so a session between the two is seen).
 */
async function stillWanted(store: Pick<Store, "get" | "queue">, id: string): Promise<boolean> {
  const summary = await store.get(id);
  return summary ? UNFINISHED.includes(summary.status) : store.queue.has(id);
}
