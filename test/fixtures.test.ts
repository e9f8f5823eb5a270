/**
 * The fixture projects: golden `akts check --format json` output (expected-check.json, reviewed by hand) and a
 * snapshot of the rewritten JavaScript of each project file (expected-rewrite/). A missing golden fails, and so does
 * a snapshot of a file no longer emitted; `UPDATE_GOLDEN=1` writes them, and removes those.
 */
import { describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { ROOT } from "./helpers";
import { checkInProcess, programHost } from "./program-host";
import { emitProject, loadProject } from "../integrations/project";

export const FIXTURES = ["slack-notify", "pg-sync", "axios-http", "github-triage", "fs-builtins", "order", "invoice", "crash", "serve", "paginate", "seed", "sdk-shapes", "sdk-findings"];
const update = process.env.UPDATE_GOLDEN === "1";

function golden(file: string, actual: string): void {
  if (update) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, actual);
  }
  expect(fs.existsSync(file), `${path.relative(ROOT, file)} is missing (UPDATE_GOLDEN=1 writes it)`).toBe(true);
  expect(actual).toBe(fs.readFileSync(file, "utf8"));
}

/** The files under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))).sort();
}

describe.each(FIXTURES)("fixtures/%s", (name) => {
  const dir = path.join(ROOT, "fixtures", name);

  test("akts check --format json matches the reviewed golden", async () => {
    const r = await checkInProcess(["-p", path.join(dir, "tsconfig.json"), "--manifest", path.join(dir, "autokitteh.yaml"), "--format", "json"]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(r.code).toBe(out.diagnostics.some((d: { severity: string }) => d.severity === "error") ? 1 : 0);
    golden(path.join(dir, "expected-check.json"), r.stdout);
  });

  test("the rewritten JavaScript matches its snapshot", () => {
    const project = loadProject(ts, path.join(dir, "tsconfig.json"), {}, programHost);
    const { files } = emitProject(ts, project, {});
    const outDir = project.program.getCompilerOptions().outDir!;
    const js = [...files].filter(([f]) => f.endsWith(".js")).sort(([a], [b]) => a.localeCompare(b));
    expect(js.length).toBeGreaterThan(0);
    const snapshots = path.join(dir, "expected-rewrite");
    const emitted = js.map(([file]) => path.relative(outDir, file)).sort();
    if (update) for (const stale of filesUnder(snapshots).filter((f) => !emitted.includes(f))) fs.rmSync(path.join(snapshots, stale));
    expect(filesUnder(snapshots), "snapshots without an emitted file (UPDATE_GOLDEN=1 removes them)").toEqual(emitted);
    for (const [file, text] of js) golden(path.join(snapshots, path.relative(outDir, file)), text.replace(/\n\/\/# sourceMappingURL=.*$/, "\n"));
  });
});
