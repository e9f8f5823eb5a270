/**
 * The Babel front end wraps the same sites, and makes the same syntactic findings, as the TypeScript path on the
 * fixtures, the semantics programs and test/babel-fixtures, except the cases that need types, listed here and in
 * docs/babel.md.
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

/**
 * Where the two front ends differ, and why: `ts` lists sites only the type checker finds (the callee is reached
 * through a value whose origin only its type tells), `babel` what the Babel path finds instead.
 */
export const TYPE_ONLY: Record<string, { ts: string[]; babel: string[]; why: string }> = {
  "pg-sync/program.ts": { ts: ["24:24 external pool.query", "26:22 external pool.connect", "27:23 external conn.query", "28:9 external (await pool.connect()).query", "28:16 external pool.connect", "29:3 external conn.release"], babel: [], why: "the pool comes from a noActivity() factory" },
  "slack-notify/program.ts": { ts: ["31:21 external workspaces.get(team)?.reactions.add"], babel: [], why: "the client is read from a typed Map" },
  "fs-builtins/program.ts": { ts: ["22:20 external execFileSync"], babel: ["22:20 external execFileSync().trim"], why: "without types .trim() of the result is unknown, so the chain is one activity" },
  "semantics/programs/evaluation-order.ts": { ts: ['6:15 external note("receiver",c).echo'], babel: [], why: "the receiver is returned by a generic project function" },
  "semantics/programs/optional-call-short-circuit.ts": { ts: ["5:15 external maybe?.echo"], babel: [], why: "the receiver is typed, its value is undefined" },
  "semantics/programs/optional-deep-chain.ts": { ts: ["4:19 external holder.inner?.rest.issues.create", "6:25 external holder.inner?.rest.issues.create"], babel: [], why: "the client is stored in a typed object" },
  "semantics/programs/async-generator.ts": { ts: ["3:44 external c.fetchValue"], babel: [], why: "the client is a typed parameter" },
  "semantics/programs/class-method.ts": { ts: ["5:15 external this.c.getName", "5:41 external this.c.fetchValue"], babel: [], why: "the client is a typed class field" },
  "semantics/programs/getter.ts": { ts: ["5:12 external this.c.syncValue"], babel: [], why: "the client is a typed class field" },
  "semantics/programs/fetch-local-server.ts": { ts: ["13:20 external server.address"], babel: [], why: "the server comes from a noActivity() factory" },
  "semantics/programs/no-activity.ts": { ts: ["6:10 external c.getName"], babel: [], why: "the client comes from a noActivity() factory" },
  "semantics/programs/super-call.ts": { ts: ["4:15 external super.getName", "4:34 external this.getName"], babel: [], why: "methods inherited from a package class" },
  "semantics/programs/element-access-evaluation-order.ts": { ts: ['6:15 external note("receiver",c)["echo"]'], babel: [], why: "the receiver is returned by a generic project function" },
  "semantics/programs/optional-element-access-call.ts": { ts: ['5:29 external none?.["getName"]'], babel: [], why: "the receiver is typed, its value is undefined" },
  "semantics/programs/awaited-receiver.ts": { ts: ['7:11 external (await make("late")).getName'], babel: [], why: "the receiver is returned by a project function" },
  "semantics/programs/promise-then-chain.ts": { ts: ["4:10 external c.fetchValue"], babel: ["4:10 external c.fetchValue().then().then"], why: "without types .then() of the result is unknown, so the chain is one activity" },
  "babel-fixtures/sync.ts": { ts: ["42:9 external probe.connect"], babel: [], why: "the client comes from a noActivity() factory" },
  "semantics/programs/async-generator-result.ts": { ts: [], babel: ["5:23 external g.next"], why: "without types the generator's next() is a method of what a package call made" },
  "semantics/programs/promise-property.ts": { ts: ["6:23 external c.lazyValue", "7:25 external c.lazyValue"], babel: ["7:17 external (await(c.lazyValue)).toUpperCase"], why: "a Promise-typed property is known by its type; without types a method of what a client property holds is the client's" },
  "sdk-shapes/program.ts": { ts: ["40:22 external linear.viewer"], babel: [], why: "a Promise-typed property is known by its type" },
  "sdk-findings/program.ts": { ts: ["10:26 external issue.assignee"], babel: [], why: "a Promise-typed property is known by its type" },
  "semantics/programs/reexport-through-project.ts": { ts: ["3:10 external reexportedEcho"], babel: [], why: "a package function re-exported by a project file" },
};

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
