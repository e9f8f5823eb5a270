/**
 * The determinism and serialization findings (compiler/typescript/determinism.ts, compiler/typescript/serialization.ts) on one program
 * built against the real type packages: each source of diagnostic-sources.ts has exactly the findings its
 * `// expect:` comments name, and the texts users read are pinned for each code.
 */
import { beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { analyzeFile, analyzeProgram } from "../compiler";
import type { AnalysisResult, Diagnostic } from "../compiler/types";
import { repoTempDir } from "./helpers";
import { programHost } from "./program-host";
import { expectedFindings, FILES, writeSourcesProject } from "./diagnostic-sources";

let dir: string;
let program: ts.Program;

beforeAll(() => {
  dir = repoTempDir("diagnostics");
  writeSourcesProject(dir);
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(dir, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  program = ts.createProgram(parsed.fileNames, parsed.options, programHost(parsed.options));
});

function analyze(name: string): AnalysisResult {
  return analyzeFile(ts, program, program.getSourceFile(path.join(dir, name))!, { projectDir: dir });
}

function byLine(r: AnalysisResult): Record<number, string[]> {
  const out: Record<number, string[]> = {};
  for (const d of r.diagnostics) (out[d.line] ??= []).push(d.code);
  return out;
}

/** The one finding of `file` on the line containing `text`. */
function findingAt(file: string, text: string): Diagnostic {
  const line = FILES[file].split("\n").findIndex((l) => l.includes(text)) + 1;
  const found = analyze(file).diagnostics.filter((d) => d.line === line);
  expect(found, `${file}:${line}`).toHaveLength(1);
  return found[0];
}

describe.each(Object.keys(FILES))("%s", (name) => {
  test("type-checks, and has the findings its comments expect and no others", () => {
    const sf = program.getSourceFile(path.join(dir, name))!;
    expect(program.getSemanticDiagnostics(sf).map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "))).toEqual([]);
    expect(byLine(analyze(name))).toEqual(expectedFindings(name));
  });
});

test("AKTS1008: a callback handed to an activity that writes outside it names the call, the variable and the fix", () => {
  expect(findingAt("callbacks.ts", "names.push(...files)")).toEqual({
    code: "AKTS1008",
    severity: "error",
    file: "callbacks.ts",
    line: 5,
    column: 20,
    message: "the callback passed to readdir writes 'names', declared outside it: the call is one activity, so a replay does not run the callback and 'names' is left as it was",
    hint: "collect the data inside an activity() that returns it (const ids = await collect()), and assign the result",
  });
});

test("AKTS2004: for await over an activity's stream result names the site and the fix", () => {
  const d = findingAt("live.ts", "const line of lines");
  expect(d.message).toMatch(/^for await over the result of createReadStream at live\.ts:\d+:\d+: it is a stream, which the journal does not keep, so a replay has nothing to iterate$/);
  expect(d.hint).toBe("read the stream inside an activity() that returns the data (the lines, or the chunks joined)");
});

test("AKTS1003 through a namespace import names the variable as written", () => {
  expect(findingAt("state.ts", "sharedState.shared.count++").message).toBe("workflow code writes module-level 'sharedState.shared'");
  expect(findingAt("state.ts", "sharedState.items.push(id)").message).toBe("workflow code mutates module-level 'sharedState.items' (push)");
});

describe("AKTS2001: a result used as a live object", () => {
  const hint = "group the work in an activity() function that returns data, or wrap the call that makes the object in noActivity() so it is made again on replay";

  test("a method call names the member, the type, the result's site and where", () => {
    expect(findingAt("live.ts", 'await c.query("select 1")')).toEqual({
      code: "AKTS2001",
      severity: "error",
      file: "live.ts",
      line: 31,
      column: 9,
      message: "c.query at live.ts:31:9: PoolClient is not journaled (the result of pool.connect at live.ts:30:19 is used as a live object)",
      hint,
    });
  });

  test("passing the result to a parameter whose type has methods names the callee", () => {
    expect(findingAt("live.ts", "await useClient(c2)").message).toBe(
      "c2 passed to useClient at live.ts:37:19: PoolClient is not journaled (the result of pool.connect at live.ts:36:20 is used as a live object)",
    );
    expect(findingAt("live.ts", "await pipeline(stream").message).toBe(
      "stream passed to pipeline at live.ts:44:18: ReadStream is not journaled (the result of createReadStream at live.ts:43:18 is used as a live object)",
    );
  });

  test("a method called on the result in place, and on a project class a marked activity returns", () => {
    expect(findingAt("live.ts", "(await pool.connect()).query").message).toBe(
      "(await pool.connect()).query at live.ts:35:9: PoolClient is not journaled (the result of pool.connect at live.ts:35:16 is used as a live object)",
    );
    expect(findingAt("live.ts", "inv.formatted()").message).toBe(
      "inv.formatted at live.ts:50:29: Invoice is not journaled (the result of load at live.ts:49:21 is used as a live object)",
    );
  });

  test("data reads, codec types, merged chains and any-typed results are accepted", () => {
    const lines = Object.keys(byLine(analyze("live.ts"))).map(Number);
    for (const text of ["user.data.name", "showStatus(user)", "logIt(user)", "rows.map", "statSync(\"x\").isFile()", "st.size", "digest(\"hex\")", "res.json()", "loose.whatever()"]) {
      const line = FILES["live.ts"].split("\n").findIndex((l) => l.includes(text)) + 1;
      expect(line, text).toBeGreaterThan(0);
      expect(lines, text).not.toContain(line);
    }
  });
});

describe("the texts of the determinism findings", () => {
  test("AKTS1001 also lists the builtin as a nondeterministic site at the same place", () => {
    const r = analyze("nondeterministic.ts");
    const d = findingAt("nondeterministic.ts", "Date.now(); // expect");
    expect(d).toMatchObject({ severity: "info", message: "Date.now is nondeterministic: journaled in durable mode, so a replay sees the recorded value" });
    expect(r.sites).toContainEqual({ file: "nondeterministic.ts", line: d.line, column: d.column, callee: "Date.now", reason: "nondeterministic" });
    expect(r.sites.filter((s) => s.reason === "nondeterministic").map((s) => s.callee)).toEqual(["Date.now", "new Date", "Math.random", "crypto.randomUUID", "performance.now", "crypto.getRandomValues"]);
  });

  test("AKTS1002 names the timer and points to sleep", () => {
    expect(findingAt("timers.ts", "setInterval")).toMatchObject({ severity: "warning", message: "setInterval in workflow code is not durable", hint: 'use `await sleep(ms)` from "akts": its deadline is journaled' });
    expect(findingAt("timers.ts", "await wait(10)").message).toBe("timers/promises:setTimeout in workflow code is not durable");
  });

  test("AKTS1003 names the variable, and the method for a collection", () => {
    expect(findingAt("state.ts", "total += 2").message).toBe("workflow code writes module-level 'total'");
    expect(findingAt("state.ts", "byId.delete").message).toBe("workflow code mutates module-level 'byId' (delete)");
    expect(findingAt("state.ts", "shared.count++").message).toBe("workflow code writes module-level 'shared'");
  });

  test("AKTS1004, AKTS1005 and AKTS1006", () => {
    expect(findingAt("race.ts", "new Promise")).toMatchObject({
      message: "Promise.race over promises that are not all activities: the winner can differ on replay",
      hint: "race only activity calls, sleep() and nextEvent() (their completion order is journaled)",
    });
    expect(findingAt("env.ts", "env.HOME")).toMatchObject({ message: "process.env read in workflow code: its value can change between a run and its replay", hint: "declare the value in the manifest's vars, or read it once at module level" });
    expect(findingAt("floating.ts", '  writeFile("a", "b"); //')).toMatchObject({
      column: 3,
      message: "the promise of activity writeFile is neither awaited nor used: the session can end before it is journaled",
      hint: "await it, return it, or collect it in Promise.all",
    });
  });
});

test("AKTS1005: env bound at the top level of a project script (a global) and read in another file", () => {
  const scriptDir = repoTempDir("diagnostics-script");
  fs.writeFileSync(path.join(scriptDir, "tsconfig.json"), JSON.stringify({ compilerOptions: { module: "CommonJS", strict: true, types: ["node"], skipLibCheck: true, noEmit: true }, include: ["*.ts"] }));
  fs.writeFileSync(path.join(scriptDir, "globals.ts"), 'const { env: globalEnv } = require("process");\n');
  fs.writeFileSync(path.join(scriptDir, "handler.ts"), "export function handler() {\n  return globalEnv.HOME;\n}\n");
  const parsed = ts.getParsedCommandLineOfConfigFile(path.join(scriptDir, "tsconfig.json"), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const scripts = ts.createProgram(parsed.fileNames, parsed.options, programHost(parsed.options));
  const found = analyzeFile(ts, scripts, scripts.getSourceFile(path.join(scriptDir, "handler.ts"))!, { projectDir: scriptDir }).diagnostics;
  expect(found.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(["2:10 AKTS1005"]);
});

test("analyzeProgram gives every project file's sites and findings, sorted by file, line and column", () => {
  const r = analyzeProgram(ts, program, { projectDir: dir });
  const files = Object.keys(FILES).sort();
  const expected = files.flatMap((f) => analyzeFile(ts, program, program.getSourceFile(path.join(dir, f))!, { projectDir: dir }).diagnostics);
  expect(r.diagnostics).toEqual(expected);
  const keys = r.sites.map((s) => [s.file, s.line, s.column] as const);
  expect(keys).toEqual([...keys].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1] || a[2] - b[2])));
  expect(r.sites.length).toBeGreaterThan(20);
  expect(r.sites.every((s) => files.includes(s.file))).toBe(true);
});
