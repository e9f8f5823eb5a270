/**
 * What is an activity, decided with the type checker on real type packages (@slack/web-api, pg, axios,
 * @octokit/rest, Node builtins). Each case is a small handler file compiled in a project inside the repository,
 * so the packages resolve from its node_modules.
 */
import { afterAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { analyzeFile, findActivities, type AktsCompilerOptions } from "../compiler";
import { ROOT } from "./helpers";
import { programHost } from "./program-host";

const DIR = path.join(ROOT, "test", ".tmp", "activities");
fs.rmSync(DIR, { recursive: true, force: true });
fs.mkdirSync(DIR, { recursive: true });
fs.writeFileSync(path.join(DIR, "package.json"), JSON.stringify({ type: "module" }));
fs.writeFileSync(path.join(DIR, "lib.ts"), 'import pg from "pg";\nexport const pool = new pg.Pool();\nexport function local(n: number) { return n + 1; }\nexport { readFileSync as read } from "node:fs";\n');
afterAll(() => fs.rmSync(DIR, { recursive: true, force: true }));

let counter = 0;
/** `jsDocParsingMode`: the compiler host's, which tsc sets to parse a TypeScript file's JSDoc only for type errors. */
function sitesOf(body: string, options: AktsCompilerOptions = {}, jsDocParsingMode?: ts.JSDocParsingMode) {
  const file = path.join(DIR, `case${++counter}.ts`);
  fs.writeFileSync(file, body);
  const compilerOptions: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true, types: ["node"], skipLibCheck: true, experimentalDecorators: false,
    paths: { akts: [path.join(ROOT, "dist", "runtime", "index.d.ts")] },
  };
  const host = programHost(compilerOptions, jsDocParsingMode);
  const program = ts.createProgram({ rootNames: [file], options: compilerOptions, host });
  const sf = program.getSourceFile(file)!;
  const found = findActivities(ts, program.getTypeChecker(), sf, { ...options, projectDir: DIR }, program);
  const diagnostics = analyzeFile(ts, program, sf, { ...options, projectDir: DIR }).diagnostics;
  return { sites: found.map((a) => `${a.info.reason}:${a.info.callee}`), diagnostics: diagnostics.map((d) => `${d.code}:${d.message}`) };
}

/** A package in the cases' node_modules with these declarations (and an empty module). */
function fakePackage(name: string, dts: string): void {
  const pkg = path.join(DIR, "node_modules", name);
  fs.mkdirSync(pkg, { recursive: true });
  fs.writeFileSync(path.join(pkg, "package.json"), JSON.stringify({ name, types: "index.d.ts", main: "index.js" }));
  fs.writeFileSync(path.join(pkg, "index.js"), "");
  fs.writeFileSync(path.join(pkg, "index.d.ts"), dts);
}

const wrap = (imports: string, body: string) => `${imports}\nexport async function handler(event: any) {\n${body}\n}\n`;

describe("external calls", () => {
  test.each([
    ['import { WebClient } from "@slack/web-api"; const slack = new WebClient("t");', 'await slack.chat.postMessage({ channel: "c", text: "t" });', ["external:slack.chat.postMessage"]],
    ['import pg from "pg"; const pool = new pg.Pool();', 'await pool.query("select 1");', ["external:pool.query"]],
    ['import pg from "pg"; const pool = new pg.Pool();', 'await (await pool.connect()).query("select 1");', ["external:(await pool.connect()).query", "external:pool.connect"]],
    ['import pg from "pg"; const pool = new pg.Pool();', 'const { query } = pool; await query("x");', ["external:query"]],
    ['import { WebClient } from "@slack/web-api"; const slack = new WebClient("t");', 'const { chat: { postMessage: post } } = slack; await post({ channel: "c", text: "t" });', ["external:post"]],
    ['import { Octokit } from "@octokit/rest"; const octokit = new Octokit();', 'await octokit.rest.issues.create({ owner: "o", repo: "r", title: "t" });', ["external:octokit.rest.issues.create"]],
    ['import axios from "axios";', 'const user = await axios.get("u"); return user.data.name;', ["external:axios.get"]],
    ['import * as fs from "node:fs/promises";', 'await fs.readFile("x");', ["external:fs.readFile"]],
    ['import { readFileSync as rf } from "fs";', 'rf("x");', ["external:rf"]],
    ['import { read } from "./lib.js";', 'read("x");', ["external:read"]],
    ['import { pool } from "./lib.js";', 'await pool.query("x");', ["external:pool.query"]],
    ['import { execFileSync } from "node:child_process";', 'execFileSync("git", ["status"]);', ["external:execFileSync"]],
    ['', 'await fetch("https://example.com");', ["fetch:fetch"]],
    ['import { WebClient } from "@slack/web-api";', 'const c: WebClient | undefined = event.c; await c?.chat.postMessage({ channel: "c", text: "t" });', ["external:c?.chat.postMessage"]],
    ['const m: any = await import("node:fs");', 'm.readFileSync("x");', ["external:m.readFileSync"]],
    ['import pg from "pg"; const pool = new pg.Pool();', '(pool.query)("x"); (pool.query as any)("x"); pool.query!("x"); pool["query"]("x");', ["external:(pool.query)", "external:(pool.query as any)", "external:pool.query!", 'external:pool["query"]']],
    ['import pg from "pg"; const make = () => new pg.Pool();', 'await make()["query"]("x");', ['external:make()["query"]']],
    ['import pg from "pg"; const pool = new pg.Pool();', 'pool.query.call(pool, "x"); pool.query.apply(pool, ["x"]); Reflect.apply(pool.query, pool, ["x"]);', ["external:pool.query.call", "external:pool.query.apply", "external:Reflect.apply"]],
    ['import { statSync, readFileSync } from "node:fs"; import { createHash } from "node:crypto";', 'createHash("sha256").update(readFileSync("x")).digest("hex");', ["external:createHash().update().digest", "external:readFileSync"]],
  ])("%s / %s", (imports, body, expected) => {
    expect(sitesOf(wrap(imports, body)).sites.sort()).toEqual([...expected].sort());
  });
});

describe("not activities", () => {
  test.each([
    ["builtins", "", 'Math.max(1, 2); JSON.stringify({}); [1].map((x) => x); new Map().set(1, 2); console.log("x"); Promise.resolve(1);'],
    ["project functions", 'import { local } from "./lib.js";', "local(1);"],
    ["module-level code", 'import { readFileSync } from "node:fs"; const text = readFileSync("x");', "return text;"],
    ["new expressions", 'import pg from "pg";', "const pool = new pg.Pool(); return pool;"],
    ["pure functions", 'import * as path from "node:path"; import { format } from "node:util";', 'path.join("a", "b"); format("%s", 1); Buffer.from("x"); new URL("http://x").toString();'],
    ["methods of journaled values", "", 'const res = await fetch("u"); await res.json(); res.headers.get("x");'],
    ["akts's own API", 'import { sleep, session } from "akts";', "await sleep(1); session();"],
    ["indirect calls of builtins, project and pure functions", 'import { local } from "./lib.js"; import * as path from "node:path";', 'Math.max.apply(null, [1]); local.call(null, 1); Reflect.apply(local, null, [1]); path.join.call(null, "a");'],
    ["static field initializers of a module-level class", 'import { readFileSync } from "node:fs"; class K { static text = readFileSync("x"); }', "return K.text;"],
  ])("%s", (_name, imports, body) => {
    const { sites } = sitesOf(wrap(imports, body));
    expect(sites.filter((s) => !s.startsWith("fetch:"))).toEqual([]);
  });
});

test("methods of the codec's global classes are data access; a package's class that only shares a name with one is not", () => {
  fakePackage("fetchlike", "export declare class Response { json(): Promise<unknown>; refresh(): Promise<void>; }\nexport declare function get(url: string): Promise<Response>;\n");
  const { sites } = sitesOf(
    wrap(
      'import { get } from "fetchlike";',
      'const own = await get("u"); await own.json(); await own.refresh();\n' +
        'const res = await fetch("u"); await res.json(); res.headers.get("x"); const copy: Response | undefined = res.clone(); if (copy) await copy.text();\n' +
        'new URL("http://x").toString();',
    ),
  );
  expect(sites).toEqual(["external:get", "external:own.json", "external:own.refresh", "fetch:fetch"]);
});

describe("marking", () => {
  test("a package's declarations can carry the JSDoc marks; a package without them is read as usual", () => {
    fakePackage("marked-pkg", "/** Pure. @noActivity */\nexport declare function pure(n: number): number;\n/** Does I/O. */\nexport declare function io(): void;\n");
    const { sites } = sitesOf(wrap('import { pure, io } from "marked-pkg"; import { readFileSync } from "node:fs";', 'pure(1); io(); readFileSync("x");'));
    expect(sites).toEqual(["external:io", "external:readFileSync"]);
  });

  test("activity(fn), /** @activity */ and @activity are one activity each; their bodies are not rewritten", () => {
    const { sites } = sitesOf(
      wrap(
        'import { activity } from "akts"; import { readFileSync } from "node:fs";\n' +
          'const a = activity(async (p: string) => readFileSync(p));\n' +
          '/** @activity */ function b(p: string) { return readFileSync(p); }\n' +
          'class C { @activity async c(p: string) { return readFileSync(p); } }',
        'await a("x"); b("y"); await new C().c("z");',
      ),
    );
    expect(sites).toEqual(["marked:a", "marked:b", "marked:new C().c"]);
  });

  test("JSDoc marks hold when the program parsed a TypeScript file's JSDoc only for type errors, as tsc does", () => {
    fakePackage("marked-pkg-2", "/** Pure. @noActivity */\nexport declare function pure(n: number): number;\n");
    const body = wrap(
      'import { readFileSync } from "node:fs"; import { pure } from "marked-pkg-2";\n' +
        "/** Reads. @activity */ function b(p: string) { return readFileSync(p); }\n" +
        "/**\n * Again on replay.\n * @noActivity\n */\nconst c = (p: string) => readFileSync(p);\n" +
        "const d = /** @activity */ function (p: string) { return readFileSync(p); };",
      'b("x"); c("y"); d("z"); pure(1); readFileSync("w");',
    );
    const expected = ["marked:b", "marked:d", "external:readFileSync"];
    expect(sitesOf(body, {}, ts.JSDocParsingMode.ParseForTypeErrors).sites).toEqual(expected);
    expect(sitesOf(body, {}, ts.JSDocParsingMode.ParseAll).sites).toEqual(expected);
  });

  test("/** @activity */ on a variable statement or a function expression, activity(fn)(x), and marked.call()", () => {
    const { sites } = sitesOf(
      wrap(
        'import { activity } from "akts"; import { readFileSync } from "node:fs";\n' +
          '/** @activity */ const a = (p: string) => readFileSync(p);\n' +
          'const b = /** @activity */ function (p: string) { return readFileSync(p); };\n' +
          'const c = activity((p: string) => readFileSync(p));',
        'a("x"); b("y"); await activity(async (p: string) => readFileSync(p))("z"); await c.call(null, "w");',
      ),
    );
    expect(sites).toEqual(["marked:a", "marked:b", "marked:activity(async(p:string)=>readFileSync(p))", "marked:c.call"]);
  });

  test("activity() however akts is bound: renamed, namespace, require(), import() with an escaped specifier, imported last", () => {
    const { sites } = sitesOf(
      'import { activity as act } from "akts"; import * as ak from "akts"; import { readFileSync } from "node:fs";\n' +
        "const a = act(async (p: string) => readFileSync(p));\n" +
        "const b = ak.activity(async (p: string) => readFileSync(p));\n" +
        'const req = require("akts");\n' +
        "const c = req.activity(async (p: string) => readFileSync(p));\n" +
        'const { activity: esc } = await import("\\u0061kts");\n' +
        "const d = esc(async (p: string) => readFileSync(p));\n" +
        "const e = late(async (p: string) => readFileSync(p));\n" +
        'export async function handler() {\n  await a("x"); await b("y"); await c("z"); await d("w"); await e("v");\n}\n' +
        'import { activity as late } from "akts";\n',
    );
    expect(sites).toEqual(["marked:a", "marked:b", "marked:c", "marked:d", "marked:e"]);
  });

  test("an instance field initializer runs in the constructor: it is workflow code", () => {
    const { sites } = sitesOf(wrap('import { readFileSync } from "node:fs";\nclass K { text = readFileSync("x"); }', "return new K().text;"));
    expect(sites).toEqual(["external:readFileSync"]);
  });

  test("noActivity and /** @noActivity */ opt out", () => {
    const { sites } = sitesOf(
      wrap(
        'import { noActivity } from "akts"; import pg from "pg";\n' +
          "const make = noActivity(() => new pg.Pool());\n" +
          '/** @noActivity */ function peek() { return new pg.Pool().totalCount; }',
        "make(); peek();",
      ),
    );
    expect(sites).toEqual([]);
  });

  test("allow and deny lists extend the rule table", () => {
    const body = wrap('import * as path from "node:path"; import { readFileSync } from "node:fs";', 'path.join("a"); readFileSync("x");');
    expect(sitesOf(body, { deny: ["path:join"] }).sites).toEqual(["external:path.join", "external:readFileSync"]);
    expect(sitesOf(body, { allow: ["fs:readFileSync"] }).sites).toEqual([]);
  });
});

describe("chains and nondeterminism", () => {
  test("an immediate chain ending in data is one activity", () => {
    const { sites } = sitesOf(wrap('import { statSync } from "node:fs"; import { createHash } from "node:crypto";', 'statSync("x").isFile(); createHash("sha256").update("s").digest("hex");'));
    expect(sites).toEqual(["external:statSync().isFile", "external:createHash().update().digest"]);
  });

  test("nondeterministic builtins are sites and infos; a user's own Date is not", () => {
    const r = sitesOf(wrap("", "Date.now(); Math.random(); new Date(); new Date(0); crypto.randomUUID(); performance.now();"));
    expect(r.sites).toEqual(["nondeterministic:Date.now", "nondeterministic:Math.random", "nondeterministic:new Date", "nondeterministic:crypto.randomUUID", "nondeterministic:performance.now"]);
    expect(r.diagnostics.filter((d) => d.startsWith("AKTS1001"))).toHaveLength(5);
    expect(sitesOf(wrap("const Date = { now: () => 1 };", "Date.now();")).sites).toEqual([]);
  });
});

describe("findings", () => {
  test.each([
    ["AKTS1002", "", "setTimeout(() => {}, 10);"],
    ["AKTS1002", 'import { setTimeout as wait } from "node:timers/promises";', "await wait(10);"],
    ["AKTS1003", "let count = 0;", "count++;"],
    ["AKTS1003", "const seen: string[] = [];", 'seen.push("x");'],
    ["AKTS1004", "", "await Promise.race([new Promise((r) => r(1)), 2]);"],
    ["AKTS1005", "", "return process.env.HOME;"],
    ["AKTS1006", 'import { readFile } from "node:fs/promises";', 'readFile("x");'],
    ["AKTS2001", 'import pg from "pg"; const pool = new pg.Pool();', 'const c = await pool.connect(); await c.query("x");'],
    // The use is found by its name even when an escape spells it.
    ["AKTS2001", 'import pg from "pg"; const pool = new pg.Pool();', 'const client = await pool.connect(); await \\u0063lient.query("x");'],
  ])("%s for %s %s", (code, imports, body) => {
    expect(sitesOf(wrap(imports, body)).diagnostics.map((d) => d.split(":")[0])).toContain(code);
  });

  test("a result used as data is accepted; the message of a live use names the site, type and fix", () => {
    expect(sitesOf(wrap('import axios from "axios";', 'const user = await axios.get("u"); return user.data.name;')).diagnostics).toEqual([]);
    const { diagnostics } = sitesOf(wrap('import pg from "pg"; const pool = new pg.Pool();', 'const c = await pool.connect();\n  await c.query("x");'));
    expect(diagnostics).toEqual([expect.stringMatching(/^AKTS2001:c\.query at case\d+\.ts:4:9: PoolClient is not journaled \(the result of pool\.connect at case\d+\.ts:3:17 is used as a live object\)$/)]);
  });

  test("racing only activities is fine", () => {
    expect(sitesOf(wrap('import { readFile } from "node:fs/promises";', 'await Promise.race([readFile("a"), readFile("b")]);')).diagnostics).toEqual([]);
  });
});

describe("labels", () => {
  test("a comment inside a split chain is not part of the callee label", () => {
    fakePackage("docdb", "export declare class Db { collection(n: string): Coll }\nexport declare class Coll { find(): Promise<unknown[]> }\nexport declare function connect(): Db;\n");
    const body = 'return await db // the orders\n    .collection("o") /* all */\n    .find();';
    expect(sitesOf(wrap('import { connect } from "docdb"; const db = connect();', body)).sites).toEqual(["external:db.collection().find"]);
  });
});

describe("functions made from external ones are followed by value", () => {
  test.each([
    ['import { promisify } from "node:util"; import { execFile } from "node:child_process"; const execFileP = promisify(execFile);', 'await execFileP("ls", []);', ["external:execFileP"]],
    ['import pg from "pg"; const pool = new pg.Pool(); const q = pool.query.bind(pool);', 'await q("select 1");', ["external:q"]],
    ['import { untypedClient } from "untyped-client"; const { send } = untypedClient;', 'await send("x");', ["external:send"]],
    ['import { promisify } from "node:util"; const later = promisify((ms: number, done: () => void) => done());', "await later(1);", []],
    ['const local = (n: number) => n; const bound = local.bind(null);', "bound(1);", []],
  ])("%s %s", (head, body, sites) => {
    fakePackage("untyped-client", "export declare const untypedClient: any;\n");
    expect(sitesOf(wrap(head, body)).sites).toEqual(sites);
  });

  test("the getter of an earlier activity's result needs the live object (AKTS2001)", () => {
    fakePackage("lazy-issues", "export interface User { name: string }\nexport declare class Issue { get assignee(): Promise<User> }\nexport declare function issue(id: string): Promise<Issue>;\n");
    const found = sitesOf(wrap('import { issue } from "lazy-issues";', 'const it = await issue("1");\nreturn (await it.assignee).name;'));
    expect(found.sites).toEqual(["external:issue", "external:it.assignee"]);
    expect(found.diagnostics.map((d) => d.split(" at ")[0])).toEqual(["AKTS2001:it.assignee"]);
  });
});

describe("the classes the journal restores are matched by declaration, not by name", () => {
  test.each([
    ["undici's own Response", 'import { fetch } from "own-classes";', 'const res = await fetch("u");\nreturn await res.json();', "res.json"],
    ["a package class named Map", 'import { open } from "own-classes";', 'const m = await open();\nreturn await m.get("k");', "m.get"],
    ["a package class named Date", 'import { when } from "own-classes";', "const d = await when();\nreturn d.reschedule();", "d.reschedule"],
  ])("%s is a live object (AKTS2001)", (_name, head, body, use) => {
    fakePackage(
      "own-classes",
      "export declare class Response { json(): Promise<unknown> }\nexport declare class Map { get(k: string): Promise<string> }\nexport declare class Date { reschedule(): void }\nexport declare function fetch(u: string): Promise<Response>;\nexport declare function open(): Promise<Map>;\nexport declare function when(): Promise<Date>;\n",
    );
    expect(sitesOf(wrap(head, body)).diagnostics.filter((d) => d.startsWith("AKTS2001:")).map((d) => d.split(" at ")[0])).toEqual([`AKTS2001:${use}`]);
  });

  test("the global fetch's Response stays restored", () => {
    expect(sitesOf(wrap("", 'const res = await fetch("u");\nreturn [await res.json(), res.headers.get("x")];')).diagnostics).toEqual([]);
  });
});

describe("awaiting a Promise-typed property of a package object is an activity", () => {
  test.each([
    ["a getter of a package object", 'import { issue } from "lazy-sdk";', "return (await issue.assignee).name;", ["external:issue.assignee"]],
    ["a property of a package client", 'import { LinearClient } from "lazy-sdk"; const client = new LinearClient();', "const me = await client.viewer;\nreturn me.name;", ["external:client.viewer"]],
    ["a plain property is data", 'import { issue } from "lazy-sdk";', "return issue.title;", []],
    ["a method is a call, not a property", 'import { issue } from "lazy-sdk";', "return await issue.comments();", ["external:issue.comments"]],
    ["a project object's Promise property is project code", "const local = { later: Promise.resolve(1) };", "return await local.later;", []],
  ])("%s", (_name, head, body, sites) => {
    fakePackage(
      "lazy-sdk",
      "export interface User { name: string }\nexport declare const issue: { title: string; readonly assignee: Promise<User>; comments(): Promise<string[]> };\nexport declare class LinearClient { get viewer(): Promise<User> }\n",
    );
    expect(sitesOf(wrap(head, body)).sites).toEqual(sites);
  });
});
