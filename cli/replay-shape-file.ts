/**
 * `replay-shape.json`: the replay shape and fingerprint (docs/versioning.md) of compiled code, written beside it
 * in a bundle and in each compile-cache entry, so runners and `akts diff` read them without TypeScript.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type * as ts from "typescript";
import type { ReplayShape } from "../compiler/replay-shape";
import type { Project } from "../integrations/project";
import { AktsError } from "../errors";

export const SHAPE_FILE = "replay-shape.json";

export interface ShapeFile {
  readonly fingerprint: string;
  readonly shape: ReplayShape;
}

/** The project's replay shape, as the compiler finds it. */
export function shapeOf(tsx: typeof ts, project: Project): ShapeFile {
  const { replayShape, fingerprint } = require("../compiler") as typeof import("../compiler");
  const shape = replayShape(tsx, project.program, { ...project.options, projectDir: project.projectDir });
  return { fingerprint: fingerprint(shape), shape };
}

export function shapeText(file: ShapeFile): string {
  return JSON.stringify(file) + "\n";
}

/** The shape file in `dir`; AKTS9006 with its path when it is missing or unreadable (code compiled by an older akts). */
export function readShapeFile(dir: string): ShapeFile {
  const file = path.join(dir, SHAPE_FILE);
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as ShapeFile;
  } catch (err) {
    throw new AktsError("AKTS9006", `${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "missing" : (err as Error).message}`, {
      location: { file },
      hint: "rebuild with this akts version (akts build), or run from the manifest",
    });
  }
}
