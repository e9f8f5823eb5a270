import { mkdtempSync, writeFileSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
export async function run() {
  const dir = mkdtempSync(path.join(tmpdir(), "akts-sem-"));
  writeFileSync(path.join(dir, "a.txt"), "content");
  const text = readFileSync(path.join(dir, "a.txt"), "utf8");
  rmSync(dir, { recursive: true });
  return text;
}
