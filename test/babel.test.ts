/** The Babel front end on its own and as a real @babel/core plugin. */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { transformSync } from "@babel/core";
import { transformBabel } from "../compiler/babel";
import { ROOT, tempDir } from "./helpers";

const PROGRAM = [
  'import { WebClient } from "@slack/web-api";',
  'import * as path from "node:path";',
  'const { readFileSync } = require("node:fs");',
  'const slack = new WebClient("t");',
  "export async function handler(event) {",
  '  const text = readFileSync(path.join(event.dir, "a.txt"), "utf8");',
  '  await slack?.chat.postMessage({ channel: "c", text });',
  "  setTimeout(() => {}, 1);",
  "  return { at: Date.now(), home: process.env.HOME };",
  "}",
  "",
].join("\n");

test("sites, findings and the rewrite, from JavaScript alone", () => {
  const r = transformBabel(PROGRAM, path.join(ROOT, "handler.js"), { projectDir: ROOT, sourceMaps: true });
  expect(r.sites.map((s) => `${s.line}:${s.column} ${s.reason} ${s.callee}`)).toEqual([
    "6:16 external readFileSync",
    "7:9 external slack?.chat.postMessage",
    "9:16 nondeterministic Date.now",
  ]);
  expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(["8:3 AKTS1002", "9:16 AKTS1001", "9:34 AKTS1005"]);
  expect(r.code).toContain('import * as __akts from "akts/stub";');
  expect(r.code).toContain('const __akts_s0 = __akts.site("handler.js", 6, 16, "readFileSync", "external");');
  expect(r.code).toContain('__akts.call(__akts_s0, void 0, readFileSync, [path.join(event.dir, "a.txt"), "utf8"])');
  expect(r.code).toContain("__akts.nondet(__akts_s2, () => Date.now())");
  expect((r.map as { sources: string[] }).sources).toEqual([path.join(ROOT, "handler.js")]);
});

test("CommonJS sources get a require of the stub", () => {
  const r = transformBabel('const fs = require("fs");\nmodule.exports.h = function () { return fs.readFileSync("x"); };\n', path.join(ROOT, "h.cjs"), { projectDir: ROOT, runtime: "/abs/stub.js" });
  expect(r.code.startsWith('const __akts = require("/abs/stub.js");')).toBe(true);
});

test("as a @babel/core plugin, with validated options; the output runs", async () => {
  const dir = tempDir("babel-plugin");
  const out = transformSync('import { readFileSync } from "node:fs";\nexport function size(file) { return readFileSync(file).length; }\n', {
    filename: path.join(dir, "size.mjs"),
    configFile: false,
    babelrc: false,
    plugins: [[path.join(ROOT, "dist", "plugin", "babel.js"), { projectDir: dir, runtime: path.join(ROOT, "dist", "runtime", "stub.js") }]],
  })!;
  expect(out.code).toContain('__akts.site("size.mjs", 2, 37, "readFileSync", "external")');
  fs.writeFileSync(path.join(dir, "size.mjs"), out.code!);
  const mod = await import(path.join(dir, "size.mjs"));
  expect(mod.size(path.join(ROOT, "package.json"))).toBe(fs.statSync(path.join(ROOT, "package.json")).size);
  expect(() =>
    transformSync("export {}", { filename: path.join(dir, "x.mjs"), configFile: false, babelrc: false, plugins: [[path.join(ROOT, "dist", "plugin", "babel.js"), { runtme: "x" }]] }),
  ).toThrow("unknown akts plugin option 'runtme'");
});
