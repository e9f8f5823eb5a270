/**
 * The TypeScript akts compiles with: its own, pinned, because TypeScript 7 (native) has no JavaScript compiler
 * API. So `check`, `build` and `run` work whatever TypeScript the project has, or none; only the tspc transform and
 * the editor plugin run inside the project's own TypeScript, and those need 5.9 or 6. It is an optional dependency:
 * a deployment that only runs bundles installs akts without it (`npm install --omit=optional`).
 */
import type * as ts from "typescript";
import * as path from "node:path";
import * as fs from "node:fs";
import { AktsError } from "../errors";

/** Loaded lazily: only `check`, `build` and compiling a manifest's sources need it. */
export function loadTypeScript(purpose: string): typeof ts {
  try {
    return require("typescript") as typeof ts;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    throw new AktsError("AKTS9004", `${purpose} needs TypeScript, which is not installed here`, {
      hint: "install akts with its optional dependencies (npm install without --omit=optional), or run a bundle written by akts build",
    });
  }
}

/** The version of the `typescript` package a project folder resolves, if any. */
export function projectTypeScriptVersion(projectDir: string): string | undefined {
  try {
    const file = require.resolve("typescript/package.json", { paths: [projectDir] });
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/** The one line a project on TypeScript 7 or later gets: what cannot load there, and what to use instead. */
export function typeScriptNote(version: string | undefined): string | undefined {
  if (version === undefined || Number(version.split(".")[0]) < 7) return undefined;
  return `note: this project's TypeScript ${version} has no JavaScript API, so tspc (akts/plugin) and the editor plugin (akts/language-service) cannot load in it; use akts build and akts check --watch (akts compiles with its own TypeScript ${loadTypeScript("akts").version}), or TypeScript 5.9/6 for tspc and the editor plugin`;
}

/** The same note for a project given by a file in it. */
export function typeScriptNoteFor(fileInProject: string): string | undefined {
  return typeScriptNote(projectTypeScriptVersion(path.dirname(path.resolve(fileInProject))));
}
