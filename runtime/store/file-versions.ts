/**
 * Kept code versions (`akts serve --keep-versions`, docs/versioning.md): the compiled code a project ran, by its
 * replay fingerprint, in `<store>/versions/<fingerprint>/`, so a session that started on it resumes on it after
 * the code changed. A folder is complete when its `version.json` exists: it is written into a staging folder and
 * renamed into place. A database store keeps its versions in the database (pg-versions.ts) and unpacks them into
 * such a folder beside the project to run them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../../errors";
import type { KeptVersion, KeptVersions } from "./store";

const VERSION_FILE = "version.json";
/** Never kept: packages resolve from the folders above the store, and a store inside the code is not code. */
const SKIPPED = new Set(["node_modules", ".akts"]);

/** A version's files: path relative to its folder (with `/`), and content. */
export type VersionFiles = readonly (readonly [string, Buffer])[];

export function isFingerprint(text: string): boolean {
  return /^[0-9a-f]{16}$/.test(text);
}

export class FileVersions implements KeptVersions {
  readonly dir: string;

  constructor(storeDir: string) {
    this.dir = path.join(storeDir, "versions");
  }

  async read(fingerprint: string): Promise<KeptVersion | undefined> {
    return this.readNow(fingerprint);
  }

  private readNow(fingerprint: string): KeptVersion | undefined {
    if (!isFingerprint(fingerprint)) return undefined;
    const dir = path.join(this.dir, fingerprint);
    try {
      const { modules } = JSON.parse(fs.readFileSync(path.join(dir, VERSION_FILE), "utf8")) as { modules: Record<string, string> };
      return { dir, fingerprint, modules };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  async keep(fingerprint: string, codeDir: string, modules: Readonly<Record<string, string>>): Promise<KeptVersion> {
    return this.install(fingerprint, modules, (staging) =>
      fs.cpSync(codeDir, staging, { recursive: true, filter: (src) => !SKIPPED.has(path.basename(src)) || src === codeDir }),
    );
  }

  /** Installs a version from its files (a database's, unpacked here to run), unless it is here already. */
  unpack(fingerprint: string, files: VersionFiles, modules: Readonly<Record<string, string>>): KeptVersion {
    return this.install(fingerprint, modules, (staging) => {
      for (const [name, data] of files) {
        // Written by akts from a folder's listing; a path out of the folder is damage, never followed.
        if (path.isAbsolute(name) || name.split("/").includes("..")) throw new AktsError("AKTS4001", `kept version ${fingerprint} holds a file outside its folder: ${name}`);
        const file = path.join(staging, ...name.split("/"));
        fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
        fs.writeFileSync(file, data, { mode: 0o600 });
      }
    });
  }

  private install(fingerprint: string, modules: Readonly<Record<string, string>>, fill: (staging: string) => void): KeptVersion {
    const kept = this.readNow(fingerprint);
    if (kept) return kept;
    const dir = path.join(this.dir, fingerprint);
    const staging = path.join(this.dir, `.${fingerprint}.${process.pid}.tmp`);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(staging, { recursive: true, mode: 0o700 });
    try {
      fill(staging);
      fs.writeFileSync(path.join(staging, VERSION_FILE), JSON.stringify({ fingerprint, modules }) + "\n");
      fs.renameSync(staging, dir);
    } catch (err) {
      // Another runner kept the same version first: theirs is the same code.
      fs.rmSync(staging, { recursive: true, force: true });
      if (!this.readNow(fingerprint)) throw err;
    }
    return { dir, fingerprint, modules };
  }
}

/** The files of `codeDir` a version keeps (what FileVersions.keep copies). */
export function versionFiles(codeDir: string): VersionFiles {
  const out: [string, Buffer][] = [];
  const walk = (dir: string, prefix: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (SKIPPED.has(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full, `${prefix}${entry.name}/`);
      else if (entry.isFile()) out.push([`${prefix}${entry.name}`, fs.readFileSync(full)]);
    }
  };
  walk(codeDir, "");
  return out;
}
