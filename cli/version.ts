import * as fs from "node:fs";
import * as path from "node:path";

/** The installed akts's package root (this file is `dist/cli/version.js` in it). */
export const AKTS_ROOT = path.resolve(__dirname, "..", "..");

export function aktsVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(AKTS_ROOT, "package.json"), "utf8")) as { version: string }).version;
}
