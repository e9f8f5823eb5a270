/**
 * The file store's project values (docs/values.md), under `values/` in the store folder:
 *
 *   values/data      every project's values and recent mutation tokens, one msgpack document, replaced whole by
 *                    rename (fsynced, then its folder), so a reader always sees a whole one
 *   values/lock.<n>  the mutation lock of fence n, a FenceChain (fence-chain.ts): one taker wins each fence; free
 *                    when its mtime is 0 (released) or its holder's process is gone (on this host) or it is older
 *                    than STALE_LOCK_MS (another host). A newer fence's file existing means this one was taken over.
 *
 * Mutations take the lock, read, apply, write and release; reads take no lock. Files are written in the store's
 * `tmp/` first, where a dead writer's leftovers are removed when a store opens.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../../errors";
import { decode, encode } from "../codec";
import { fsyncDir } from "../journal-file";
import { FenceChain } from "./fence-chain";
import { HOST, OWN_START, processAlive } from "./holder";
import { TOKEN_RETENTION_MS, applyValueOp, type StoredValue, type ValueOp, type ValueStore } from "./values";
import { tempFile } from "./temp-file";

/** A lock of another host not released for this long was left by a dead holder (mutations hold it for milliseconds). */
const STALE_LOCK_MS = 30_000;
/** Tokens kept per project at most (the oldest go first), besides those past TOKEN_RETENTION_MS. */
const MAX_TOKENS = 10_000;

interface ProjectValues {
  values: Record<string, unknown>;
  /** token → [result, epoch ms], in insertion order. */
  tokens: Record<string, [unknown, number]>;
}

interface ValuesDocument {
  v: 1;
  projects: Record<string, ProjectValues>;
}

interface LockHolder {
  host: string;
  pid: number;
  start?: string;
}


export class FileValues implements ValueStore {
  private readonly dir: string;
  private readonly data: string;
  private readonly tmpDir: string;
  private readonly locks: FenceChain;

  constructor(storeDir: string) {
    this.tmpDir = path.join(storeDir, "tmp");
    this.dir = path.join(storeDir, "values");
    this.data = path.join(this.dir, "data");
    this.locks = new FenceChain(this.dir, "lock.", this.tmpDir);
  }

  async mutateValue(project: string, key: string, op: ValueOp, token?: string): Promise<unknown> {
    if (op.op === "get") return this.read().projects[project]?.values[key];
    const fence = await this.lock();
    try {
      const doc = this.read();
      const mine = (doc.projects[project] ??= { values: {}, tokens: {} });
      if (token !== undefined && token in mine.tokens) return mine.tokens[token][0] ?? undefined;
      const { next, result } = applyValueOp(mine.values[key], op);
      if (next === undefined) delete mine.values[key];
      else mine.values[key] = next;
      if (token !== undefined) rememberToken(mine, token, result);
      this.checkFence(fence);
      this.write(doc);
      return result;
    } finally {
      this.unlock(fence);
    }
  }

  async listValues(project: string): Promise<StoredValue[]> {
    const values = this.read().projects[project]?.values ?? {};
    return Object.keys(values)
      .sort()
      .map((key) => ({ key, value: values[key] }));
  }

  private read(): ValuesDocument {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(this.data);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return { v: 1, projects: {} };
      throw err;
    }
    let doc: ValuesDocument | undefined;
    try {
      doc = decode(bytes) as ValuesDocument;
    } catch {
      doc = undefined;
    }
    if (doc?.v !== 1 || typeof doc.projects !== "object" || doc.projects === null) {
      throw new AktsError("AKTS4010", `the stored values do not decode (${bytes.length} bytes)`, {
        location: { file: this.data },
        hint: "restore the file from a backup, or remove it to start with no values",
      });
    }
    return doc;
  }

  private write(doc: ValuesDocument): void {
    const tmp = tempFile(this.tmpDir, "values");
    try {
      const fd = fs.openSync(tmp, "wx", 0o600);
      try {
        fs.writeFileSync(fd, encode(doc));
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.data);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    fsyncDir(this.dir);
  }

  /** Takes the next fence once the current one is free; returns it. The folder is made by the first mutation. */
  private async lock(): Promise<number> {
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    const mine = encode({ host: HOST, pid: process.pid, start: OWN_START } satisfies LockHolder);
    for (let wait = 1; ; wait = Math.min(wait * 2, 20)) {
      const current = await this.locks.newest();
      if (current === 0 || this.isFree(current)) {
        if (await this.locks.take(current + 1, mine)) return current + 1;
        continue;
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  private isFree(fence: number): boolean {
    let stat: fs.Stats;
    let holder: LockHolder;
    try {
      stat = fs.statSync(this.locks.file(fence));
      holder = decode(fs.readFileSync(this.locks.file(fence))) as LockHolder;
    } catch {
      // Removed by the taker of a newer fence: look again.
      return false;
    }
    if (stat.mtimeMs === 0) return true;
    if (holder.host === HOST) return !processAlive(holder.pid, holder.start);
    return Date.now() - stat.mtimeMs > STALE_LOCK_MS;
  }

  /** A holder of another host that was thought dead and is not: it must not write over its successor's work. */
  private checkFence(fence: number): void {
    if (fs.existsSync(this.locks.file(fence + 1))) {
      throw new AktsError("AKTS4003", `the values lock of fence ${fence} was taken over; nothing was written`);
    }
  }

  private unlock(fence: number): void {
    try {
      fs.utimesSync(this.locks.file(fence), 0, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    }
  }
}

function rememberToken(mine: ProjectValues, token: string, result: unknown): void {
  const now = Date.now();
  mine.tokens[token] = [result ?? null, now];
  const tokens = Object.keys(mine.tokens);
  let drop = Math.max(0, tokens.length - MAX_TOKENS);
  for (const t of tokens) {
    if (drop > 0 || now - mine.tokens[t][1] > TOKEN_RETENTION_MS) {
      delete mine.tokens[t];
      drop--;
    } else break;
  }
}
