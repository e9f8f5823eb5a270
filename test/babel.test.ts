/**
 * The Babel front end on its own: every rule with and without a match, the rewritten code run for real (against
 * a package written at test time and the real stub), inside a durable session and replayed, and as a
 * @babel/core plugin.
 */
import { beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { createRequire, SourceMap } from "node:module";
import { pathToFileURL } from "node:url";
import { transformSync } from "@babel/core";
import { transformBabel } from "../compiler/babel";
import { stringLiteral } from "../compiler/babel/build";
import generate from "@babel/generator";
import { AktsError } from "../errors";
import { Engine } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import { SessionState } from "../runtime/session-state";
import { storage } from "../runtime/context";
import { ROOT, tempDir } from "./helpers";

const STUB = path.join(ROOT, "dist", "runtime", "stub.js");
const PLUGIN = path.join(ROOT, "dist", "integrations", "babel.js");
/** Rewritten programs live inside the repo (gitignored) so that `fake-api` resolves from their node_modules. */
const TMP = path.join(ROOT, "test", ".tmp", "babel");

const render = (s: { line: number; column: number; reason: string; callee: string }) => `${s.line}:${s.column} ${s.reason} ${s.callee}`;

/** The sites of `body`, placed inside `async function h(event) { ... }` after `head` (imports, module code). */
function sitesIn(head: string, body: string, filename = "h.mjs"): string[] {
  const code = `${head}\nexport async function h(event) {\n${body}\n}\n`;
  return transformBabel(code, path.join(ROOT, filename), { projectDir: ROOT }).sites.map((s) => `${s.reason} ${s.callee}`);
}

describe("rules", () => {
  const cases: { rule: string; head: string; body: string; sites: string[] }[] = [
    { rule: "named import from a package", head: 'import { WebClient } from "@slack/web-api";', body: "new WebClient().auth.test();", sites: ["external new WebClient().auth.test"] },
    { rule: "client made with new from a package", head: 'import { WebClient } from "@slack/web-api";\nconst slack = new WebClient("t");', body: "await slack.chat.postMessage({});", sites: ["external slack.chat.postMessage"] },
    { rule: "client followed through an alias", head: 'import { WebClient } from "@slack/web-api";\nconst slack = new WebClient("t");\nconst c = slack;\nconst { chat } = slack;', body: "c.auth.test(); chat.postMessage({});", sites: ["external c.auth.test", "external chat.postMessage"] },
    { rule: "client made by a factory call", head: 'import axios from "axios";\nconst http = axios.create({});', body: "await http.get('/x');", sites: ["external http.get"] },
    { rule: "default import", head: 'import axios from "axios";', body: "await axios.get('/x');", sites: ["external axios.get"] },
    { rule: "namespace import of a builtin", head: 'import * as fs from "node:fs";', body: "fs.readFileSync('x');", sites: ["external fs.readFileSync"] },
    { rule: "renamed named import", head: 'import { readFile as rf } from "fs/promises";', body: "await rf('x');", sites: ["external rf"] },
    { rule: "require of a package", head: 'const pg = require("pg");\nconst pool = new pg.Pool();', body: "await pool.query('select 1');", sites: ["external pool.query"] },
    { rule: "destructured require", head: 'const { execFileSync } = require("node:child_process");', body: "execFileSync('ls');", sites: ["external execFileSync"] },
    { rule: "pure externals are not activities", head: 'import * as path from "node:path";\nimport { format } from "node:util";', body: "path.join('a', 'b'); format('%s', 1);", sites: [] },
    { rule: "a part of a call's result is data", head: 'import pg from "pg";\nconst pool = new pg.Pool();', body: "const { rows } = await pool.query('q');\nrows.map((r) => r);", sites: ["external pool.query"] },
    { rule: "relative imports are project code", head: 'import { send } from "./lib.js";\nconst lib = require("./lib.cjs");', body: "send(); lib.send();", sites: [] },
    { rule: "akts's API is never an activity", head: 'import { sleep } from "akts";', body: "await sleep(5);", sites: [] },
    { rule: "unbound fetch", head: "", body: "await fetch('https://x');", sites: ["fetch fetch"] },
    { rule: "a local fetch is project code", head: "const fetch = (u) => u;", body: "fetch('https://x');", sites: [] },
    { rule: "builtins are not activities", head: "", body: "Math.max(1, 2); JSON.stringify({}); console.log(1); Promise.resolve(1); [1].map((x) => x); new Map();", sites: [] },
    { rule: "nondeterministic builtins", head: "", body: "Date.now(); Math.random(); crypto.randomUUID(); performance.now(); new Date(); new Date(0);", sites: ["nondeterministic Date.now", "nondeterministic Math.random", "nondeterministic crypto.randomUUID", "nondeterministic performance.now", "nondeterministic new Date"] },
    { rule: "a local Math is not the builtin", head: "const Math = { random: () => 4 };", body: "Math.random();", sites: [] },
    { rule: "new is never an activity", head: 'import { WebClient } from "@slack/web-api";', body: "new WebClient('t');", sites: [] },
    { rule: "module-level code is not rewritten", head: 'import { readFileSync } from "node:fs";\nconst config = readFileSync("c.json");\nconst at = Date.now();', body: "return config;", sites: [] },
    { rule: "activity(fn) marks, its body is not rewritten", head: 'import { activity } from "akts";\nimport { readFileSync } from "node:fs";\nconst load = activity(async (f) => readFileSync(f));', body: "await load('x');", sites: ["marked load"] },
    { rule: "noActivity(fn) opts out", head: 'import { noActivity } from "akts";\nimport { readFileSync } from "node:fs";\nconst load = noActivity((f) => readFileSync(f));', body: "load('x');", sites: [] },
    { rule: "/** @activity */ on a function declaration", head: 'import { readFileSync } from "node:fs";\n/** @activity */\nfunction load(f) { return readFileSync(f); }', body: "load('x');", sites: ["marked load"] },
    { rule: "/** @activity */ on a variable", head: 'import { readFileSync } from "node:fs";\n/** @activity */\nconst load = (f) => readFileSync(f);', body: "load('x');", sites: ["marked load"] },
    { rule: "/** @noActivity */ opts out", head: 'import { readFileSync } from "node:fs";\n/** @noActivity */\nfunction load(f) { return readFileSync(f); }', body: "load('x');", sites: [] },
    { rule: "a plain comment is no mark", head: 'import { readFileSync } from "node:fs";\n// @activity\nfunction load(f) { return readFileSync(f); }', body: "load('x');", sites: ["external readFileSync"] },
    {
      rule: "@activity on a method, through this and a local instance",
      head: 'import { activity } from "akts";\nclass T {\n  @activity\n  async m() { return 1; }\n  async n() { return 2; }\n  async run() { return (await this.m()) + (await this.n()); }\n}\nconst t = new T();',
      body: "await t.m(); await new T().m(); await t.n();",
      sites: ["marked this.m", "marked t.m", "marked new T().m"],
    },
    { rule: "immediate chain is one site", head: 'import { createHash } from "node:crypto";\nimport { statSync } from "node:fs";', body: "statSync('x').isFile(); createHash('sha256').update('s').digest('hex');", sites: ["external statSync().isFile", "external createHash().update().digest"] },
    { rule: "a chain with await inside is merged (the awaited argument is evaluated before)", head: 'import { createHash } from "node:crypto";', body: "createHash('sha256').update(await event.s).digest('hex');", sites: ["external createHash().update().digest"] },
    { rule: "instance field initializers are workflow code, static ones are not", head: 'import { readFileSync } from "node:fs";\nclass C { a = readFileSync("a"); static b = readFileSync("b"); }', body: "new C();", sites: ["external readFileSync"] },
    { rule: "Reflect.apply is the call of the function it applies", head: 'import { readFileSync } from "node:fs";\nimport * as path from "node:path";', body: "Reflect.apply(readFileSync, undefined, ['x']); Reflect.apply(path.join, path, ['a']);", sites: ["external Reflect.apply"] },
    { rule: "fn.call of a marked function is marked; of an external one, a call of its call method", head: 'import { activity } from "akts";\nimport { WebClient } from "@slack/web-api";\nconst load = activity(async (f) => f);\nconst slack = new WebClient();', body: "await load.call(null, 'x'); slack.chat.postMessage.call(slack.chat, {});", sites: ["marked load.call", "external slack.chat.postMessage.call"] },
    { rule: "a member written as a string is a member", head: 'import * as fs from "node:fs";\nimport * as path from "node:path";', body: "fs['readFileSync']('x'); path[`join`]('a');", sites: ["external fs['readFileSync']"] },
    { rule: "a comment inside a split chain is not in the label", head: 'import { statSync } from "node:fs";\nimport * as fs from "node:fs";', body: "statSync('x') // the file\n  .isFile(); fs /* ns */ .readFileSync('y');", sites: ["external statSync().isFile", "external fs.readFileSync"] },
    { rule: "promisify(f) and f.bind(x) at module level are calls of f", head: 'import { promisify } from "node:util";\nimport { execFile } from "node:child_process";\nimport pg from "pg";\nconst pool = new pg.Pool();\nconst execFileP = promisify(execFile);\nconst q = pool.query.bind(pool);\nconst local = promisify((done) => done());', body: "await execFileP('ls'); await q('x'); await local();", sites: ["external execFileP", "external q"] },
    { rule: "optional calls and tagged templates", head: 'import sql from "pg";\nimport { WebClient } from "@slack/web-api";\nconst slack = new WebClient();', body: "slack?.chat.postMessage({}); slack.chat.postMessage?.({}); sql`select ${event.id}`;", sites: ["external slack?.chat.postMessage", "external slack.chat.postMessage", "external sql"] },
  ];
  test.each(cases)("$rule", ({ head, body, sites }) => {
    expect(sitesIn(head, body).sort()).toEqual([...sites].sort());
  });

  test("TypeScript wrappers around a callee, and import = require", () => {
    const code = 'import fs = require("node:fs");\nimport type { Stats } from "node:fs";\nexport function h(p: string): Stats {\n  (fs.readFileSync as (p: string) => Buffer)(p);\n  fs.readFileSync!(p);\n  return (<typeof fs>fs).statSync(p);\n}\n';
    const r = transformBabel(code, path.join(ROOT, "h.cts"), { projectDir: ROOT });
    expect(r.sites.map(render)).toEqual(["4:3 external (fs.readFileSync as(p:string)=>Buffer)", "5:3 external fs.readFileSync!", "6:10 external (<typeof fs>fs).statSync"]);
    // The receiver is kept through the wrappers: `this` is `fs` (a name, passed as it is); a wrapped one is a temporary.
    expect(r.code).toContain("__akts_sites.call(0, fs, fs.readFileSync, [p])");
    expect(r.code).toContain("__akts_sites.call(1, fs, fs.readFileSync, [p])");
    expect(r.code).toMatch(/__akts_sites\.call\(2, (__akts_a\d+) = <typeof fs> ?fs, \1\.statSync, \[p\]\)/);
  });

  test("decorators before and after export parse", () => {
    const code = 'import { readFileSync } from "node:fs";\nexport @dec class A { m() { return readFileSync("a"); } }\n@dec export class B {}\n';
    expect(transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT }).sites.map(render)).toEqual(["2:36 external readFileSync"]);
  });

  test("classes tested with instanceof and bound at module level are registered at the end of the module", () => {
    const code = 'import { ApiError } from "fake-api";\nimport * as fake from "fake-api";\nclass LocalError extends Error {}\nexport function h(e) {\n  class Inner extends Error {}\n  return [e instanceof ApiError, e instanceof fake.ApiError, e instanceof LocalError, e instanceof Inner, e instanceof RangeError, e instanceof ApiError];\n}\n';
    const out = transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT }).code.trim().split("\n");
    expect(out[0]).toBe('import * as __akts from "akts/stub";');
    expect(out[out.length - 1]).toBe("__akts.errorClasses(() => [ApiError, fake.ApiError, LocalError]);");
  });

  test("allow and deny extend the pure list", () => {
    const code = 'import { promisify } from "node:util";\nimport _ from "lodash";\nexport function h(f) { promisify(f); _.chunk([1], 1); }\n';
    const sites = (opts: { allow?: string[]; deny?: string[] }) => transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT, ...opts }).sites.map((s) => s.callee);
    expect(sites({})).toEqual(["_.chunk"]);
    expect(sites({ allow: ["lodash:*"], deny: ["util:promisify"] })).toEqual(["promisify"]);
  });

  test("TypeScript sources parse (types, decorators) and keep the TypeScript path's positions", () => {
    const code = 'import { readFileSync } from "node:fs";\nexport function h(file: string): number {\n  const text = readFileSync(file, "utf8") as string;\n  return text!.length;\n}\n';
    expect(transformBabel(code, path.join(ROOT, "h.ts"), { projectDir: ROOT }).sites).toEqual([{ file: "h.ts", line: 3, column: 16, callee: "readFileSync", reason: "external" }]);
  });

  test("files outside the project or in node_modules are left alone", () => {
    const code = 'import { readFileSync } from "node:fs";\nexport function h() { return readFileSync("x"); }\n';
    expect(transformBabel(code, "/elsewhere/h.mjs", { projectDir: ROOT }).sites).toEqual([]);
    expect(transformBabel(code, path.join(ROOT, "node_modules", "p", "h.mjs"), { projectDir: ROOT }).code).not.toContain("__akts");
  });

  test("a syntax error is an AktsError with its location", () => {
    const run = () => transformBabel("export function h() {\n  return (;\n}\n", path.join(ROOT, "src", "h.mjs"), { projectDir: ROOT });
    expect(run).toThrow(AktsError);
    expect(run).toThrow(expect.objectContaining({ code: "AKTS9005", location: { file: "src/h.mjs", line: 2, column: 11 } }));
  });
});

describe("findings", () => {
  test("AKTS1008: a callback handed to an activity that writes outside it, as on the TypeScript path", () => {
    const code = 'import { readdir } from "node:fs";\nexport function h(dirs) {\n  const names = [];\n  let count = 0;\n  readdir(dirs[0], (err, files) => names.push(...files));\n  readdir(dirs[1], function (err, files) { count += files.length; });\n  readdir(dirs[2], (err, files) => { const local = []; local.push(...files); });\n  dirs.forEach((d) => names.push(d));\n  return [names, count];\n}\n';
    const found = transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT }).diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`);
    expect(found).toEqual([
      "5:20 AKTS1008 the callback passed to readdir writes 'names', declared outside it: the call is one activity, so a replay does not run the callback and 'names' is left as it was",
      "6:20 AKTS1008 the callback passed to readdir writes 'count', declared outside it: the call is one activity, so a replay does not run the callback and 'count' is left as it was",
    ]);
  });

  test("timers, process.env and nondeterministic builtins, in workflow code only", () => {
    const code = [
      'import { setTimeout as delay } from "node:timers/promises";',
      "const home = process.env.HOME;",
      "setTimeout(() => {}, 1);",
      "export async function h() {",
      "  setTimeout(() => {}, 1);",
      "  setInterval(() => {}, 1);",
      "  await delay(5);",
      "  const e = process.env.X;",
      "  const t = Date.now();",
      "}",
      "function local() { const setTimeout = (f) => f(); setTimeout(() => 1); const process = { env: {} }; return process.env; }",
      "",
    ].join("\n");
    const r = transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT });
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.severity} ${d.message}`)).toEqual([
      "5:3 AKTS1002 warning setTimeout in workflow code is not durable",
      "6:3 AKTS1002 warning setInterval in workflow code is not durable",
      "7:9 AKTS1002 warning timers/promises:setTimeout in workflow code is not durable",
      "8:13 AKTS1005 warning process.env read in workflow code: its value can change between a run and its replay",
      "9:13 AKTS1001 info Date.now is nondeterministic: journaled in durable mode, so a replay sees the recorded value",
    ]);
    expect(r.diagnostics[0].hint).toBe('use `await sleep(ms)` from "akts": its deadline is journaled');
  });
});

describe("the rewrite", () => {
  test("the TypeScript path's shape: stub import, sites in source order, temporaries, source maps", () => {
    const code = [
      'import { WebClient } from "@slack/web-api";',
      'import * as path from "node:path";',
      'const { readFileSync } = require("node:fs");',
      'const slack = new WebClient("t");',
      "export async function handler(event) {",
      '  const text = readFileSync(path.join(event.dir, "a.txt"), "utf8");',
      '  await slack.chat.postMessage({ channel: "c", text });',
      "  return { at: Date.now() };",
      "}",
      "",
    ].join("\n");
    const r = transformBabel(code, path.join(ROOT, "handler.js"), { projectDir: ROOT, sourceMaps: true });
    expect(r.sites.map(render)).toEqual(["6:16 external readFileSync", "7:9 external slack.chat.postMessage", "8:16 nondeterministic Date.now"]);
    expect(r.code.split("\n").slice(0, 3)).toEqual([
      'import * as __akts from "akts/stub";',
      'const __akts_sites = __akts.table("handler.js", "6:16 external readFileSync\\n7:9 external slack.chat.postMessage\\n8:16 nondeterministic Date.now");',
      'import { WebClient } from "@slack/web-api";',
    ]);
    expect(r.code).toContain('__akts_sites.call(0, void 0, readFileSync, [path.join(event.dir, "a.txt"), "utf8"])');
    expect(r.code).toMatch(/__akts_sites\.call\(1, (_\w+) = slack\.chat, \1\.postMessage, \[\{/);
    expect(r.code).toContain("__akts_sites.nondet(2, () => Date.now())");
    const map = r.map as { sources: string[]; mappings: string };
    expect(map.sources).toEqual([path.join(ROOT, "handler.js")]);
    expect(map.mappings.length).toBeGreaterThan(0);
  });

  test("aktsModule rewrites akts imports; runtime names the stub; CommonJS gets a require", () => {
    const esm = transformBabel('import { activity } from "akts";\nimport { readFileSync } from "fs";\nexport function h() { return readFileSync("x"); }\n', path.join(ROOT, "h.mjs"), { projectDir: ROOT, aktsModule: "/rt/index.js", runtime: "/rt/stub.js" });
    expect(esm.code).toContain('import { activity } from "/rt/index.js";');
    expect(esm.code.startsWith('import * as __akts from "/rt/stub.js";')).toBe(true);
    const cjs = transformBabel('const fs = require("fs");\nmodule.exports.h = function () { return fs.readFileSync("x"); };\n', path.join(ROOT, "h.cjs"), { projectDir: ROOT, runtime: "/abs/stub.js" });
    expect(cjs.code.startsWith('const __akts = require("/abs/stub.js");')).toBe(true);
    const required = transformBabel('const { activity } = require("akts");\nexports.h = async () => (await import("akts")).sleep(1);\n', path.join(ROOT, "h.cjs"), { projectDir: ROOT, aktsModule: "/rt/index.js" });
    expect(required.code).toContain('require("/rt/index.js")');
    expect(required.code).toContain('import("/rt/index.js")');
  });

  test("the stub is imported by what the file is: .mjs and import/export are ESM, .cjs and plain scripts CommonJS", () => {
    const body = "globalThis.h = async () => fetch('x');\n";
    const first = (file: string, code = body) => transformBabel(code, path.join(ROOT, file), { projectDir: ROOT }).code.split("\n")[0];
    expect(first("h.mjs")).toBe('import * as __akts from "akts/stub";');
    expect(first("h.cjs", `export {};\n${body}`)).toBe('const __akts = require("akts/stub");');
    expect(first("h.js")).toBe('const __akts = require("akts/stub");');
    expect(first("h.js", `export {};\n${body}`)).toBe('import * as __akts from "akts/stub";');
  });

  test("a merged chain evaluates its receiver and arguments before the activity, as thunk parameters", () => {
    const code = 'import { createHash } from "node:crypto";\nexport async function h(s, n) { return createHash("sha256").update(await s).update(String(++n)).digest("hex"); }\n';
    const out = transformBabel(code, path.join(ROOT, "h.mjs"), { projectDir: ROOT }).code;
    expect(out).toContain('__akts_sites.call(0, void 0, (__akts_a0, __akts_a1) => createHash("sha256").update(__akts_a0).update(__akts_a1).digest("hex"), [await s, String(++n)])');
  });

  test("a source map points from the stub call back to the call", () => {
    const code = 'import { readFileSync } from "node:fs";\nexport function h(f) {\n  const a = 1;\n  return readFileSync(f);\n}\n';
    const file = path.join(ROOT, "h.mjs");
    const r = transformBabel(code, file, { projectDir: ROOT, sourceMaps: true });
    const lines = r.code.split("\n");
    const line = lines.findIndex((l) => l.includes("__akts_sites.call("));
    const map = new SourceMap(r.map as ConstructorParameters<typeof SourceMap>[0]);
    const entry = map.findEntry(line, lines[line].indexOf("__akts_sites.call(")) as { originalSource: string; originalLine: number; originalColumn: number };
    expect(entry).toMatchObject({ originalSource: file, originalLine: 3, originalColumn: 9 });
  });
});

/** A package written at test time: every call logs, so tests see what ran and in which order. */
const FAKE_API = `
const log = [];
class Client {
  constructor(name) { this.name = name; }
  who(tag) { log.push("who " + tag); return this.name; }
  async get(x) { log.push("get " + x); return { x, from: this.name }; }
  fail() { log.push("fail"); throw new RangeError("boom " + this.name); }
  async reject() { log.push("reject"); throw new Error("rejected " + this.name); }
}
let n = 0;
module.exports = {
  log,
  Client,
  nothing: undefined,
  next() { return ++n; },
  echo(...args) { log.push("echo " + args.join(",")); return args; },
  sql(strings, ...values) { log.push("sql"); return { strings, values }; },
  tracked: { get inner() { log.push("read inner"); return { name: "inner", call(x) { log.push("call " + x); return this.name; } }; } },
};
`;

const PROGRAM = `
import { Client, echo, sql, log, nothing, tracked, next } from "fake-api";
import { createHash } from "node:crypto";
const client = new Client("c1");
const note = (tag, v) => (log.push(tag), v);
export function thisBinding() { return [client.who("a"), client?.who("b"), client.who?.("c")]; }
export function order() { return tracked.inner.call(note("arg", 1)); }
export function nested() { return echo(echo(1)[0] + 1, ...note("spread", [3, 4])); }
export function optional() { return [nothing?.who("x"), client.missing?.("y"), nothing?.a.b.c()]; }
export function template(x) { return sql\`select \${x}\`; }
export function exceptions() {
  try { client.fail(); } catch (e) { return [e instanceof RangeError, e.message]; }
}
export async function rejection() { return client.reject().catch((e) => e.message); }
export function hash(s) { return createHash("sha256").update(s).digest("hex"); }
export const arrowBody = (x) => client.who(x);
export function withDefault(v = client.who("d")) { return v; }
export async function handler(event) {
  const a = await client.get(event.x);
  const b = client.who("h");
  return { a, b, n: next(), t: typeof Date.now() };
}
`;

describe("rewritten code runs", () => {
  let esm: Record<string, (...a: unknown[]) => any>;
  let cjs: Record<string, (...a: unknown[]) => any>;
  let log: string[];
  let sites: string[];

  beforeAll(async () => {
    fs.rmSync(TMP, { recursive: true, force: true });
    fs.mkdirSync(path.join(TMP, "node_modules", "fake-api"), { recursive: true });
    fs.writeFileSync(path.join(TMP, "node_modules", "fake-api", "index.js"), FAKE_API);
    const esmOut = transformBabel(PROGRAM, path.join(TMP, "program.mjs"), { projectDir: TMP, runtime: STUB });
    sites = esmOut.sites.map(render);
    fs.writeFileSync(path.join(TMP, "program.mjs"), esmOut.code);
    // The same program as CommonJS: imports become requires, and the stub is required too.
    const cjsSource = PROGRAM.replace(/import (\{[^}]+\}) from ("[^"]+");/g, (_, names: string, spec: string) => `const ${names.replace(/ as /g, ": ")} = require(${spec});`).replace(/export (async )?function (\w+)/g, "exports.$2 = $1function $2").replace(/export const (\w+)/g, "const $1 = exports.$1");
    const cjsOut = transformBabel(cjsSource, path.join(TMP, "program.cjs"), { projectDir: TMP, runtime: STUB });
    const unplaced = (list: string[]) => list.map((s) => s.split(" ").slice(1).join(" "));
    expect(unplaced(cjsOut.sites.map(render))).toEqual(unplaced(sites));
    fs.writeFileSync(path.join(TMP, "program.cjs"), cjsOut.code);
    esm = await import(pathToFileURL(path.join(TMP, "program.mjs")).href);
    cjs = createRequire(__filename)(path.join(TMP, "program.cjs"));
    log = createRequire(path.join(TMP, "program.cjs"))("fake-api").log;
  });

  test("every call under test is a site", () => {
    expect(sites).toEqual([
      // Without types, pushing onto the package's own array is a call into the package too.
      "5:27 external log.push",
      "6:41 external client.who",
      "6:58 external client?.who",
      "6:76 external client.who",
      "7:34 external tracked.inner.call",
      "8:35 external echo",
      "8:40 external echo",
      "9:38 external nothing?.who",
      "9:57 external client.missing",
      "9:80 external nothing?.a.b.c",
      "10:38 external sql",
      "12:9 external client.fail",
      // Without types `.catch` of the result is unknown: the chain runs whole inside the activity.
      "14:44 external client.reject().catch",
      "15:34 external createHash().update().digest",
      "16:33 external client.who",
      "17:33 external client.who",
      "19:19 external client.get",
      "20:13 external client.who",
      "21:21 external next",
      "21:39 nondeterministic Date.now",
    ]);
  });

  for (const variant of ["esm", "cjs"] as const) {
    describe(variant, () => {
      const mod = () => (variant === "esm" ? esm : cjs);
      const fresh = () => log.splice(0);

      test("this is the receiver, also through optional calls", () => {
        fresh();
        expect(mod().thisBinding()).toEqual(["c1", "c1", "c1"]);
        expect(fresh()).toEqual(["who a", "who b", "who c"]);
        // Temporaries of an arrow's expression body and of a parameter default.
        expect([mod().arrowBody("e"), mod().withDefault(), mod().withDefault("given")]).toEqual(["c1", "c1", "given"]);
        expect(fresh()).toEqual(["who e", "who d"]);
      });

      test("evaluation order: receiver, then arguments, then the call; inner activities first", () => {
        fresh();
        expect(mod().order()).toBe("inner");
        expect(fresh()).toEqual(["read inner", "arg", "call 1"]);
        expect(mod().nested()).toEqual([2, 3, 4]);
        expect(fresh()).toEqual(["echo 1", "spread", "echo 2,3,4"]);
      });

      test("optional chains short-circuit", () => {
        fresh();
        expect(mod().optional()).toEqual([undefined, undefined, undefined]);
        expect(fresh()).toEqual([]);
      });

      test("tagged templates keep their per-site template object", () => {
        const a = mod().template(1);
        const b = mod().template(2);
        expect(a.values).toEqual([1]);
        expect(b.values).toEqual([2]);
        expect([...a.strings]).toEqual(["select ", ""]);
        expect(a.strings).toBe(b.strings);
      });

      test("exceptions and rejections pass through unchanged", async () => {
        expect(mod().exceptions()).toEqual([true, "boom c1"]);
        await expect(mod().rejection()).resolves.toBe("rejected c1");
      });

      test("a merged chain returns the chain's value", () => {
        expect(mod().hash("abc")).toBe(createHash("sha256").update("abc").digest("hex"));
      });
    });
  }

  test("inside a durable session every activity is journaled, and a replay runs none of them live", async () => {
    const storeDir = tempDir("babel-engine");
    try {
      const store = new FileStore(storeDir, "none");
      const engine = new Engine({ store });
      const trigger = { project: "p", trigger: "t", handler: "program.mjs:handler", mode: "durable" as const, maxAttempts: 1, codeHash: "h" };
      log.splice(0);
      const outcome = await engine.start(trigger, (event) => esm.handler(event), { x: "k" });
      expect(outcome.error).toBeUndefined();
      const result = outcome.result as { a: unknown; b: string; n: number; t: string };
      expect(result).toMatchObject({ a: { x: "k", from: "c1" }, b: "c1", t: "number" });
      expect(log.splice(0)).toEqual(["get k", "who h"]);
      const { records } = await store.read(outcome.sessionId);
      const journaled = records.flatMap((r) => (r.t === "activity" ? [`${r.site} ${r.callee}`] : []));
      expect(journaled).toEqual(["program.mjs:19:19 client.get", "program.mjs:20:13 client.who", "program.mjs:21:21 next", "program.mjs:21:39 Date.now"]);

      const noLiveWrites = { append: () => Promise.reject(new Error("replay ran an activity live")), appendSync: () => { throw new Error("replay ran an activity live"); } };
      const replay = new SessionState(outcome.sessionId, 2, true, noLiveWrites, records, store.inbox(outcome.sessionId, new Set()));
      const replayed = await storage.run({ session: replay, inActivity: false }, () => esm.handler({ x: "k" }));
      await replay.settled();
      replay.assertFullyReplayed();
      expect(replayed).toEqual(result);
      expect(log).toEqual([]);
    } finally {
      fs.rmSync(storeDir, { recursive: true, force: true });
    }
  });
});

describe("@babel/core plugin", () => {
  test("require('akts/babel') is the plugin function", () => {
    const plugin = createRequire(__filename)(PLUGIN);
    expect(typeof plugin).toBe("function");
    expect(plugin({ assertVersion: () => {} }, {}).name).toBe("akts");
  });

  test("transforms with validated options, and the output runs", async () => {
    const dir = tempDir("babel-plugin");
    const out = transformSync('import { readFileSync } from "node:fs";\nexport function size(file) { return readFileSync(file).length; }\n', {
      filename: path.join(dir, "size.mjs"),
      configFile: false,
      babelrc: false,
      plugins: [[PLUGIN, { projectDir: dir, runtime: STUB }]],
    })!;
    expect(out.code).toContain('__akts.table("size.mjs", "2:37 external readFileSync")');
    fs.writeFileSync(path.join(dir, "size.mjs"), out.code!);
    const mod = await import(pathToFileURL(path.join(dir, "size.mjs")).href);
    expect(mod.size(path.join(ROOT, "package.json"))).toBe(fs.statSync(path.join(ROOT, "package.json")).size);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("code without a file name is refused: its sites would have nowhere to point", () => {
    expect(() => transformSync("export {}", { configFile: false, babelrc: false, plugins: [[PLUGIN, {}]] })).toThrow("the akts Babel plugin needs a file name");
  });

  test("unknown options are refused", () => {
    expect(() => transformSync("export {}", { filename: path.join(ROOT, "x.mjs"), configFile: false, babelrc: false, plugins: [[PLUGIN, { runtme: "x" }]] })).toThrow("unknown akts plugin option 'runtme'");
  });
});

test("string literals the rewrite makes print as the generator's own escaping would, and read back the same", () => {
  for (const value of ["src/program.ts", "slack.chat.postMessage", "it's", 'say "hi"', "back\\slash", "tab\there", "naïve ✓", "line\u2028sep", "", "\u007f"]) {
    const printed = generate(stringLiteral(value)).code;
    expect(printed).toBe(generate({ type: "StringLiteral", value } as never).code);
    expect(new Function(`return ${printed};`)()).toBe(value);
  }
});
