/**
 * The file store's Idempotency-Keys: `idempotency/<sha-256 of the key>`, each a JSON IdempotencyRecord. A key is
 * taken by link(), which is atomic and exclusive, of a file written whole: two requests with one key never both
 * take it, and a reader never sees part of a record.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { IdempotencyKeys, IdempotencyRecord } from "./store";
import { tempFile } from "./temp-file";


export class FileIdempotency implements IdempotencyKeys {
  private readonly dir: string;

  constructor(
    location: string,
    private readonly tmpDir: string,
  ) {
    // Made by the first key, so a store that never sees one keeps its layout.
    this.dir = path.join(location, "idempotency");
  }

  private file(key: string): string {
    return path.join(this.dir, createHash("sha256").update(key).digest("hex"));
  }

  async reserve(key: string, record: IdempotencyRecord): Promise<IdempotencyRecord> {
    const file = this.file(key);
    const tmp = tempFile(this.tmpDir, path.basename(file));
    await fs.promises.mkdir(this.dir, { recursive: true, mode: 0o700 });
    await fs.promises.writeFile(tmp, JSON.stringify(record), { mode: 0o600 });
    try {
      for (let tries = 0; ; tries++) {
        try {
          await fs.promises.link(tmp, file);
          return record;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        }
        const held = await read(file);
        if (held && (held.expiresAt > Date.now() || tries > 0)) return held;
        if (tries > 2) throw new Error(`idempotency key file ${file} keeps changing`);
        // Expired (or vanished): the key is free again.
        await fs.promises.rm(file, { force: true });
      }
    } finally {
      await fs.promises.rm(tmp, { force: true });
    }
  }

  async release(key: string, sessionId: string): Promise<void> {
    const file = this.file(key);
    if ((await read(file))?.sessionId === sessionId) await fs.promises.rm(file, { force: true });
  }

  async sweep(now: number): Promise<number> {
    if (!fs.existsSync(this.dir)) return 0;
    let removed = 0;
    for (const name of await fs.promises.readdir(this.dir)) {
      const file = path.join(this.dir, name);
      const held = await read(file);
      if (!held || held.expiresAt > now) continue;
      await fs.promises.rm(file, { force: true });
      removed++;
    }
    return removed;
  }
}

async function read(file: string): Promise<IdempotencyRecord | undefined> {
  try {
    return JSON.parse(await fs.promises.readFile(file, "utf8")) as IdempotencyRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}
