/** TypeScript is an optional peer dependency: only `check`, `build` and compiling a manifest's sources load it. */
import type * as ts from "typescript";
import { AktsError } from "../errors";

export function loadTypeScript(purpose: string): typeof ts {
  try {
    return require("typescript") as typeof ts;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "MODULE_NOT_FOUND") throw err;
    throw new AktsError("AKTS9004", `${purpose} needs TypeScript, which is not installed here`, {
      hint: "install it (npm install --save-dev typescript), or run a bundle written by akts build",
    });
  }
}
