/**
 * `akts check`: its output formats and exit codes, the manifest finding, and bad input (a clear message with its
 * location, a non-zero exit, never a stack trace). Bad input and usage go through the CLI's own process; the
 * findings and formats of whole programs are checked in this one (checkInProcess), sharing TypeScript's libs.
 */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { akts, repoTempDir, ROOT, tempDir } from "./helpers";
import { checkInProcess } from "./program-host";

function project(files: Record<string, string>, plugins: unknown[] = [{ transform: "akts/plugin" }]): string {
  const dir = tempDir("check");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: [], noEmit: true, plugins }, include: ["*.ts"] }));
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

const noStack = (text: string) => expect(text).not.toMatch(/\n\s+at .+:\d+:\d+\)?$/m);

test("a syntax error in a handler is reported at file:line:col and fails the check", async () => {
  const dir = project({ "program.ts": "export async function handler() {\n  const x = ;\n}\n" });
  const r = await checkInProcess(["-p", path.join(dir, "tsconfig.json")]);
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

test("unknown flags, formats and arguments are usage errors: exit 2", () => {
  const flag = akts(["check", "--formt", "json"]);
  expect([flag.code, flag.stderr]).toEqual([2, "akts check: error AKTS9001: unknown option '--formt' (akts check --help lists them)\n"]);
  const format = akts(["check", "-p", path.join(ROOT, "fixtures/order/tsconfig.json"), "--format", "xml"]);
  expect([format.code, format.stdout, format.stderr]).toEqual([2, "", "akts check: error AKTS9001: unknown --format 'xml' (use text, json, sarif)\n"]);
  const extra = akts(["check", "program.ts"]);
  expect([extra.code, extra.stderr]).toEqual([2, "akts check: error AKTS9001: unexpected argument 'program.ts'\n"]);
  expect(akts(["chek"]).code).toBe(2);
});

test("--help lists the commands, <command> --help its options (exit 0, nothing run); --version prints the version", () => {
  const help = akts(["--help"]);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: akts <command> \[options\]\n\ncommands:\n  init +create a new akts project.*\n  check +report activity sites/);
  const check = akts(["check", "-p", "no-such/tsconfig.json", "--help"]);
  expect([check.code, check.stderr]).toEqual([0, ""]);
  expect(check.stdout).toMatch(/^usage: akts check \[-p tsconfig.json\] \[--manifest autokitteh.yaml\] \[--format text\|json\|sarif\] \[--watch\]\n\nreport activity sites/);
  expect(akts(["run", "-h"]).stdout).toMatch(/^usage: akts run <manifest \| bundle> --trigger <name>/);
  const version = akts(["--version"]);
  expect([version.code, version.stdout]).toEqual([0, `${JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).version}\n`]);
});

/** A small project without type packages (fast to check): a marked activity returning a class instance. */
function liveObjectProject(handler: string): string {
  const dir = repoTempDir("check");
  fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: [], noEmit: true }, include: ["*.ts"] }));
  fs.writeFileSync(path.join(dir, "program.ts"), `class Conn {\n  send(x: string) {\n    return x;\n  }\n}\n/** @activity */\nasync function open() {\n  return new Conn();\n}\n${handler}`);
  fs.writeFileSync(
    path.join(dir, "autokitteh.yaml"),
    "version: v2\nproject:\n  name: live\n  triggers:\n    - name: api\n      type: webhook\n      is_durable: true\n      is_sync: true\n      call: program.ts:handler\n",
  );
  return dir;
}

test("json: the documented keys only, paths relative to the tsconfig's folder; an error finding exits 1", () => {
  const dir = liveObjectProject('export async function handler() {\n  const c = await open();\n  return c.send("x") + Math.random();\n}\n');
  const r = akts(["check", "--format", "json"], { cwd: dir });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(1);
  expect(JSON.parse(r.stdout)).toEqual({
    sites: [
      { file: "program.ts", line: 11, column: 19, callee: "open", reason: "marked" },
      { file: "program.ts", line: 12, column: 24, callee: "Math.random", reason: "nondeterministic" },
    ],
    diagnostics: [
      { code: "AKTS2001", severity: "error", file: "program.ts", line: 12, column: 10, message: "c.send at program.ts:12:10: Conn is not journaled (the result of open at program.ts:11:19 is used as a live object)" },
      { code: "AKTS1001", severity: "info", file: "program.ts", line: 12, column: 24, message: "Math.random is nondeterministic: journaled in durable mode, so a replay sees the recorded value" },
    ],
  });
});

test("--manifest adds AKTS1007 at the durable trigger's is_sync key; warnings alone exit 0", async () => {
  const dir = liveObjectProject('export async function handler() {\n  const c = await open();\n  return c;\n}\n');
  const r = await checkInProcess(["-p", path.join(dir, "tsconfig.json"), "--manifest", path.join(dir, "autokitteh.yaml")]);
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  expect(r.stdout).toBe(
    [
      "program.ts:11:19: activity (marked) open",
      "autokitteh.yaml:8:7: warning AKTS1007: trigger 'api' is durable and is_sync: true: a replay can outlast the HTTP caller's wait",
      "  hint: use is_durable: false for HTTP APIs, or answer asynchronously",
      "1 activity sites, 1 findings (0 errors)",
      "",
    ].join("\n"),
  );
});

test("text and sarif formats carry the same findings as json", async () => {
  const tsconfig = path.join(ROOT, "fixtures/fs-builtins/tsconfig.json");
  const json = JSON.parse((await checkInProcess(["-p", tsconfig, "--format", "json"])).stdout);
  const text = (await checkInProcess(["-p", tsconfig])).stdout;
  const sarif = JSON.parse((await checkInProcess(["-p", tsconfig, "--format", "sarif"])).stdout);
  for (const d of json.diagnostics) expect(text).toContain(`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
  expect(sarif.version).toBe("2.1.0");
  expect(sarif.runs[0].results.map((r: any) => [r.ruleId, r.locations[0].physicalLocation.region.startLine])).toEqual(json.diagnostics.map((d: any) => [d.code, d.line]));
});
