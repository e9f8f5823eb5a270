/**
 * The file store's queue of sessions waiting for a slot of their trigger (`max_concurrent`):
 * `queue/<project>/<trigger>/<session id>`, each file the start's event, written whole (temporary file, then
 * rename). Session ids sort by creation time, so a folder's sorted names are its FIFO order.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { decode, encode } from "../codec";
import { checkSessionId, isSessionId, type QueuedStart, type SessionQueue, type SessionSummary } from "./store";

export class FileQueue implements SessionQueue {
  private readonly dir: string;

  constructor(
    location: string,
    private readonly writeAtomic: (file: string, data: Buffer) => Promise<void>,
    private readonly session: (id: string) => Promise<SessionSummary | undefined>,
  ) {
    // Made by the first push, so a store that never queues keeps its layout.
    this.dir = path.join(location, "queue");
  }

  private folder(project: string, trigger: string): string {
    return path.join(this.dir, encodeURIComponent(project), encodeURIComponent(trigger));
  }

  async push(start: QueuedStart): Promise<void> {
    checkSessionId(start.sessionId);
    const folder = this.folder(start.project, start.trigger);
    await fs.promises.mkdir(folder, { recursive: true, mode: 0o700 });
    await this.writeAtomic(path.join(folder, start.sessionId), encode(start.event));
  }

  async peek(project: string, trigger: string, limit: number): Promise<QueuedStart[]> {
    const folder = this.folder(project, trigger);
    let names: string[];
    try {
      names = (await fs.promises.readdir(folder)).filter(isSessionId).sort().slice(0, limit);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const out: QueuedStart[] = [];
    for (const sessionId of names) {
      let data: Buffer;
      try {
        data = await fs.promises.readFile(path.join(folder, sessionId));
      } catch (err) {
        // Started by another runner since the listing.
        if ((err as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw err;
      }
      out.push({ sessionId, project, trigger, event: decode(data) });
    }
    return out;
  }

  async remove(sessionId: string): Promise<void> {
    const file = await this.find(sessionId);
    if (file) await fs.promises.rm(file, { force: true });
  }

  async has(sessionId: string): Promise<boolean> {
    return (await this.find(sessionId)) !== undefined;
  }

  async sweep(): Promise<number> {
    let removed = 0;
    for (const folder of await this.folders()) {
      for (const id of (await fs.promises.readdir(folder)).filter(isSessionId)) {
        if ((await this.session(id)) === undefined) continue;
        await fs.promises.rm(path.join(folder, id), { force: true });
        removed++;
      }
    }
    return removed;
  }

  private async find(sessionId: string): Promise<string | undefined> {
    checkSessionId(sessionId);
    for (const folder of await this.folders()) {
      const file = path.join(folder, sessionId);
      if (fs.existsSync(file)) return file;
    }
    return undefined;
  }

  /** Every trigger's folder. */
  private async folders(): Promise<string[]> {
    if (!fs.existsSync(this.dir)) return [];
    const out: string[] = [];
    for (const project of await fs.promises.readdir(this.dir)) {
      for (const trigger of await fs.promises.readdir(path.join(this.dir, project))) out.push(path.join(this.dir, project, trigger));
    }
    return out;
  }
}
