/**
 * The PostgreSQL store's kept code versions (`akts serve --keep-versions`, docs/versioning.md): one row of
 * `akts.versions` per replay fingerprint, holding the version's files, so every runner of the database, on any
 * machine, can resume a session on the code it started on. To run, a version is unpacked into a local folder
 * beside the project (file-versions.ts), where its packages resolve; that folder is only a cache of the row.
 */
import { decode, encode } from "../codec";
import { FileVersions, isFingerprint, versionFiles, type VersionFiles } from "./file-versions";
import type { KeptVersion, KeptVersions } from "./store";

type Query = <R extends Record<string, unknown>>(text: string, params: unknown[]) => Promise<{ rows: R[]; rowCount: number }>;

export class PgVersions implements KeptVersions {
  private readonly local: FileVersions;

  /** `localDir`: the folder whose `versions/` caches the unpacked versions. */
  constructor(
    private readonly query: Query,
    localDir: string,
  ) {
    this.local = new FileVersions(localDir);
  }

  async read(fingerprint: string): Promise<KeptVersion | undefined> {
    if (!isFingerprint(fingerprint)) return undefined;
    const cached = await this.local.read(fingerprint);
    if (cached) return cached;
    const { rows } = await this.query<{ modules: string; files: Buffer }>("SELECT modules, files FROM akts.versions WHERE fingerprint = $1", [fingerprint]);
    if (!rows[0]) return undefined;
    return this.local.unpack(fingerprint, decode(rows[0].files) as VersionFiles, JSON.parse(rows[0].modules) as Record<string, string>);
  }

  /** The version is in the database once this resolves; the code runs where it is. */
  async keep(fingerprint: string, codeDir: string, modules: Readonly<Record<string, string>>): Promise<KeptVersion> {
    await this.query("INSERT INTO akts.versions (fingerprint, modules, files, kept_at) VALUES ($1, $2, $3, $4) ON CONFLICT (fingerprint) DO NOTHING", [
      fingerprint,
      JSON.stringify(modules),
      encode(versionFiles(codeDir)),
      Date.now(),
    ]);
    return { dir: codeDir, fingerprint, modules };
  }
}
