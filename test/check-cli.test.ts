/** `akts check` on bad input: a clear message with its location, a non-zero exit, never a stack trace. */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, ROOT, tempDir } from "./helpers";

function project(files: Record<string, string>, plugins: unknown[] = [{ transform: "akts/plugin" }]): string {
  const dir = tempDir("check");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: [], noEmit: true, plugins }, include: ["*.ts"] }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);

test("a syntax error in a handler is reported at file:line:col and fails the check", () => {
  const dir = project({ "program.ts": "export async function handler() {\n  const x = ;\n}\n" });
  const r = akts(["check", "-p", path.join(dir, "tsconfig.json")]);
  expect(r.code).toBe(1);
  expect(r.stdout).toContain("program.ts:2:13: error AKTS9003: TS1109: Expression expected.");
  noStack(r.stdout + r.stderr);
});

test("a missing tsconfig names the path", () => {
  const r = akts(["check", "-p", "does/not/exist.json"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe("akts check: does/not/exist.json: error AKTS9004: tsconfig not found: does/not/exist.json\n");
});

test("a tsconfig that is not JSON is reported with its line and column", () => {
  const dir = tempDir("check-json");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), '{\n  "compilerOptions": { "strict": true,, }\n}\n');
  const r = akts(["check", "-p", path.join(dir, "tsconfig.json")]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/tsconfig\.json:2:\d+: error AKTS9002: /);
  noStack(r.stderr);
});

test("an unknown plugin option is refused with the allowed ones", () => {
  const dir = project({ "program.ts": "export async function handler() {}\n" }, [{ transform: "akts/plugin", alow: ["x:y"] }]);
  const r = akts(["check", "-p", path.join(dir, "tsconfig.json")]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("(compilerOptions.plugins): error AKTS9002: unknown akts plugin option 'alow' (known: runtime, aktsModule, projectDir, allow, deny)");
  noStack(r.stderr);
});

test("unknown flags and formats are usage errors", () => {
  expect(akts(["check", "--formt", "json"]).stderr).toBe("akts check: error AKTS9001: akts check: unknown option '--formt'\n");
  const r = akts(["check", "-p", path.join(ROOT, "fixtures/order/tsconfig.json"), "--format", "xml"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toBe("akts check: error AKTS9001: unknown --format 'xml' (use text, json, sarif)\n");
  expect(akts(["chek"]).code).toBe(2);
});

test("text and sarif formats carry the same findings as json", () => {
  const tsconfig = path.join(ROOT, "fixtures/fs-builtins/tsconfig.json");
  const json = JSON.parse(akts(["check", "-p", tsconfig, "--format", "json"]).stdout);
  const text = akts(["check", "-p", tsconfig]).stdout;
  const sarif = JSON.parse(akts(["check", "-p", tsconfig, "--format", "sarif"]).stdout);
  for (const d of json.diagnostics) expect(text).toContain(`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
  expect(sarif.version).toBe("2.1.0");
  expect(sarif.runs[0].results.map((r: any) => [r.ruleId, r.locations[0].physicalLocation.region.startLine])).toEqual(json.diagnostics.map((d: any) => [d.code, d.line]));
});
