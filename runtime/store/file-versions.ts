/**
 * Kept code versions (`akts serve --keep-versions`, docs/versioning.md): the compiled code a project ran, by its
 * replay fingerprint, in `<store>/versions/<fingerprint>/`, so a session that started on it resumes on it after
 * the code changed. A folder is complete when its `version.json` exists: it is copied into a staging folder and
 * renamed into place. Only a file store keeps versions (a database store has no folder of its own).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { isDatabaseStore } from "./open";
import type { Store } from "./store";

const VERSION_FILE = "version.json";
/** Never copied: packages resolve from the folders above the store, and a store inside the code is not code. */
const SKIPPED = new Set(["node_modules", ".akts"]);

export interface KeptVersion {
  readonly dir: string;
  readonly fingerprint: string;
  /** By `call` (`program.ts:handler`): the module, relative to `dir`, that exports it. */
  readonly modules: Readonly<Record<string, string>>;
}

export class FileVersions {
  readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, "versions");
  }

  /** The kept version of `fingerprint`, if the store has it. */
  read(fingerprint: string): KeptVersion | undefined {
    if (!/^[0-9a-f]{16}$/.test(fingerprint)) return undefined;
    const dir = path.join(this.dir, fingerprint);
    try {
      const { modules } = JSON.parse(fs.readFileSync(path.join(dir, VERSION_FILE), "utf8")) as { modules: Record<string, string> };
      return { dir, fingerprint, modules };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Copies the code in `codeDir` in as `fingerprint`'s version, unless the store has it already. */
  keep(fingerprint: string, codeDir: string, modules: Readonly<Record<string, string>>): KeptVersion {
    const kept = this.read(fingerprint);
    if (kept) return kept;
    const dir = path.join(this.dir, fingerprint);
    const staging = path.join(this.dir, `.${fingerprint}.${process.pid}.tmp`);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    fs.cpSync(codeDir, staging, { recursive: true, filter: (src) => !SKIPPED.has(path.basename(src)) || src === codeDir });
    fs.writeFileSync(path.join(staging, VERSION_FILE), JSON.stringify({ fingerprint, modules }) + "\n");
    try {
      fs.renameSync(staging, dir);
    } catch (err) {
      // Another runner kept the same version first: theirs is the same code.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!this.read(fingerprint)) throw err;
    }
    return { dir, fingerprint, modules };
  }
}

/** The kept versions of `store`, or undefined for a store that cannot keep them (PostgreSQL). */
export function keptVersions(store: Pick<Store, "location">): FileVersions | undefined {
  return isDatabaseStore(store.location) ? undefined : new FileVersions(store.location);
}
