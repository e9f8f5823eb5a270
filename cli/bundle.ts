/**
 * The bundle `akts build` writes (docs/bundles.md): rewritten ESM modules, a copy of the manifest and
 * `akts-bundle.json`. This module reads one and must stay free of TypeScript: a deployed bundle runs where only
 * akts and the handlers' packages are installed.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { AktsError } from "../errors";
import { parseManifest, type Manifest } from "../runtime/manifest";

export const BUNDLE_FILE = "akts-bundle.json";
/** Bumped when a field changes meaning; a runner refuses formats it does not know. */
export const BUNDLE_FORMAT = 1;

export interface BundleSite {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly callee: string;
  readonly reason: string;
}

export interface BundleInfo {
  readonly format: number;
  /** The akts version that built it, and the stub ABI its modules call. */
  readonly akts: string;
  readonly stubAbi: number;
  /** ISO time of the build. */
  readonly builtAt: string;
  /** The project's name and the manifest copy's file name, in the bundle folder. */
  readonly project: string;
  readonly manifest: string;
  /** The replay fingerprint of the bundle's code (docs/versioning.md); its shape is in `replay-shape.json`. Absent in older bundles. */
  readonly fingerprint?: string;
  /** By `call` (`program.ts:handler`): the module that exports it (older bundles: and a hash of its modules). */
  readonly handlers: Record<string, { readonly module: string; readonly codeHash?: string }>;
  /** Every activity site, as `akts check --format json` reports them. */
  readonly sites: readonly BundleSite[];
}

export interface Bundle {
  /** Absolute path of the bundle folder. */
  readonly dir: string;
  readonly info: BundleInfo;
  readonly manifest: Manifest;
}

/** A folder given where a manifest is expected is a bundle. */
export function isBundleDir(target: string): boolean {
  return fs.statSync(target, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

export function readBundle(folder: string): Bundle {
  const dir = path.resolve(folder);
  const file = path.join(dir, BUNDLE_FILE);
  let info: BundleInfo;
  try {
    info = JSON.parse(fs.readFileSync(file, "utf8")) as BundleInfo;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new AktsError(missing ? "AKTS9004" : "AKTS9006", missing ? `no ${BUNDLE_FILE} in ${folder}` : `${BUNDLE_FILE} is not valid JSON: ${(err as Error).message}`, {
      location: { file: missing ? folder : path.join(folder, BUNDLE_FILE) },
      hint: missing ? "pass a manifest, or a folder written by akts build" : undefined,
    });
  }
  if (info.format !== BUNDLE_FORMAT) {
    throw new AktsError("AKTS9006", `bundle format ${String(info.format)} is not supported (this akts reads format ${BUNDLE_FORMAT})`, {
      location: { file: path.join(folder, BUNDLE_FILE), key: "format" },
      hint: "rebuild the bundle with this akts version",
    });
  }
  const manifestFile = path.join(dir, info.manifest);
  let text: string;
  try {
    text = fs.readFileSync(manifestFile, "utf8");
  } catch {
    throw new AktsError("AKTS9006", `the bundle's manifest copy ${info.manifest} is missing`, { location: { file: path.join(folder, BUNDLE_FILE), key: "manifest" } });
  }
  return { dir, info, manifest: parseManifest(text, manifestFile) };
}
