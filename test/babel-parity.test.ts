/**
 * The Babel front end wraps the same sites, and makes the same syntactic findings, as the TypeScript path on the
 * fixtures, the semantics programs and test/babel-fixtures, except the cases that need types, listed in
 * babel-type-only.ts and docs/babel.md.
 */
import { describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { analyzeFile, findActivities, type Diagnostic } from "../compiler";
import { transformBabel } from "../compiler/babel";
import { FINDINGS, SYNTACTIC_CODES } from "../compiler/rules/findings";
import { loadProject } from "../integrations/project";
import { programHost } from "./program-host";
import { ROOT } from "./helpers";
import { TYPE_ONLY } from "./babel-type-only";

const projects = [
  ...["slack-notify", "pg-sync", "axios-http", "github-triage", "fs-builtins", "order", "crash", "paginate", "sdk-shapes", "sdk-findings"].map((f) => ({ name: f, dir: path.join(ROOT, "fixtures", f), prefix: f })),
  { name: "semantics", dir: path.join(ROOT, "test", "semantics"), prefix: "semantics" },
  { name: "babel-fixtures", dir: path.join(ROOT, "test", "babel-fixtures"), prefix: "babel-fixtures" },
];


describe.each(projects)("$name", ({ dir, prefix }) => {
  test("Babel finds the TypeScript path's sites, but for the listed type-only ones", () => {
    const project = loadProject(ts, path.join(dir, "tsconfig.json"), {}, programHost);
    const checker = project.program.getTypeChecker();
    for (const sf of project.program.getSourceFiles()) {
      if (sf.isDeclarationFile || sf.fileName.includes("/node_modules/") || !sf.fileName.startsWith(dir)) continue;
      const rel = path.relative(dir, sf.fileName);
      const key = `${prefix}/${rel}`;
      const diff = TYPE_ONLY[key] ?? { ts: [], babel: [] };
      const render = (s: { line: number; column: number; reason: string; callee: string }) => `${s.line}:${s.column} ${s.reason} ${s.callee}`;
      const viaTs = findActivities(ts, checker, sf, { projectDir: dir }, project.program).map((a) => render(a.info));
      const babel = transformBabel(fs.readFileSync(sf.fileName, "utf8"), sf.fileName, { projectDir: dir });
      const viaBabel = babel.sites.map(render);
      const finding = (d: Diagnostic) => `${d.file}:${d.line}:${d.column} ${d.code} ${d.message}`;
      // The findings the Babel path makes without types: it must make them exactly where the TypeScript path does.
      const tsFindings = analyzeFile(ts, project.program, sf, { projectDir: dir }).diagnostics.filter((d) => SYNTACTIC_CODES.has(d.code));
      const missedNondeterministic = (d: Diagnostic) => d.code === "AKTS1001" && diff.ts.some((s) => s.startsWith(`${d.line}:${d.column} `));
      expect(babel.diagnostics.map(finding), `${key} findings`).toEqual(tsFindings.filter((d) => !missedNondeterministic(d)).map(finding));
      const position = (s: string) => s.split(" ")[0].split(":").map(Number);
      const expected = [...viaTs.filter((s) => !diff.ts.includes(s)), ...diff.babel].sort((a, b) => position(a)[0] - position(b)[0] || position(a)[1] - position(b)[1]);
      expect(viaBabel, key).toEqual(expected);
      for (const s of diff.ts) expect(viaTs, `${key}: listed type-only site`).toContain(s);
    }
  });
});

test("docs/babel.md's table of findings is the definitions' (compiler/rules/findings.ts, needsTypes)", () => {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "babel.md"), "utf8");
  const rows = doc.split("\n").filter((line) => /^\| AKTS\d{4} \|/.test(line));
  const expected = Object.values(FINDINGS).map((d) => `| ${d.code} | ${d.about} | ${d.needsTypes ? "needs types" : "made"} |`);
  expect(rows).toEqual(expected);
});
