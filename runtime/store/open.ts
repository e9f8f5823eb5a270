/**
 * How commands open a store. `--store` (else the AKTS_STORE environment variable) is a folder for the file store or
 * a `postgres://` URL; without either, the file store is `.akts/` beside the manifest (or in the current folder).
 * The PostgreSQL store, and with it the `pg` package, is loaded only when a URL asks for it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../../errors";
import type { FsyncPolicy } from "../journal";
import { FileStore, type FileStoreOptions } from "./file-store";
import type { PgStoreOptions } from "./pg-store";
import type { Store } from "./store";

export const STORE_DIR = ".akts";

const PG_URL = /^postgres(ql)?:\/\//i;

/** Does this `--store` (else AKTS_STORE) name a database rather than a folder? */
export function isDatabaseStore(spec: string | undefined = process.env.AKTS_STORE || undefined): boolean {
  return spec !== undefined && PG_URL.test(spec);
}

/** The store folder: `dir` if given, else `.akts` beside the manifest, else `.akts` in the current folder. */
export function storeLocation(options: { dir?: string; manifest?: string }): string {
  if (options.dir !== undefined) return path.resolve(options.dir);
  return path.resolve(options.manifest === undefined ? "." : path.dirname(options.manifest), STORE_DIR);
}

/**
 * Opens the file store at `location`. `mustExist` is for commands that only read (sessions, journal): a missing
 * store is then an error instead of a new empty folder.
 */
export function openFileStore(location: string, options: FileStoreOptions & { fsync?: FsyncPolicy; mustExist?: boolean } = {}): FileStore {
  if (options.mustExist && !fs.existsSync(path.join(location, "sessions"))) {
    throw new AktsError("AKTS9004", `no akts store at ${location}`, { hint: "pass --store <dir> or --manifest <autokitteh.yaml>, or run a session first" });
  }
  return new FileStore(location, options.fsync, options);
}

export interface OpenStoreOptions {
  /** `--store`: a folder or a `postgres://` URL. */
  readonly store?: string;
  readonly manifest?: string;
  /** Only for the file store: see openFileStore. A database always has its schema created on open. */
  readonly mustExist?: boolean;
  readonly pg?: PgStoreOptions;
}

const FSYNC_POLICIES: readonly FsyncPolicy[] = ["always", "batch", "none"];

/** The file store's fsync policy: the AKTS_FSYNC environment variable, else `always` (docs/journal.md). */
export function fsyncPolicy(value: string | undefined = process.env.AKTS_FSYNC || undefined): FsyncPolicy {
  if (value === undefined) return "always";
  if (!(FSYNC_POLICIES as readonly string[]).includes(value)) throw new AktsError("AKTS9002", `AKTS_FSYNC must be always, batch or none, not ${JSON.stringify(value)}`);
  return value as FsyncPolicy;
}

/** Default lease TTL of both stores (docs/stores.md). */
export const DEFAULT_LEASE_TTL_MS = 60_000;

/**
 * The lease TTL: the AKTS_LEASE_TTL_MS environment variable, else 60 s. A runner that stops renewing (dead on
 * another machine, or stopped) loses its sessions to live peers after it; runners look for such sessions every third.
 */
export function leaseTtlMs(value: string | undefined = process.env.AKTS_LEASE_TTL_MS || undefined): number {
  if (value === undefined) return DEFAULT_LEASE_TTL_MS;
  const ms = Number(value);
  if (!/^\d+$/.test(value) || ms < 30) throw new AktsError("AKTS9002", `AKTS_LEASE_TTL_MS must be a whole number of milliseconds, at least 30, not ${JSON.stringify(value)}`);
  return ms;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  const spec = options.store ?? (process.env.AKTS_STORE || undefined);
  const ttl = leaseTtlMs();
  if (spec !== undefined && isDatabaseStore(spec)) {
    let pgStore: typeof import("./pg-store");
    try {
      pgStore = require("./pg-store") as typeof import("./pg-store");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "MODULE_NOT_FOUND" && /'pg'/.test((err as Error).message)) {
        throw new AktsError("AKTS9002", "a PostgreSQL store needs the pg package", { hint: "npm install pg" });
      }
      throw err;
    }
    return pgStore.PgStore.open(spec, { leaseTtlMs: ttl, fsync: fsyncPolicy(), ...options.pg });
  }
  return openFileStore(storeLocation({ dir: spec, manifest: options.manifest }), { mustExist: options.mustExist, fsync: fsyncPolicy(), leaseTtlMs: ttl });
}
