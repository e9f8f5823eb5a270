/**
 * The rewrite, observed by running its output. Each case is a handler compiled (CommonJS) in one program with the
 * akts transformer; its `runtime` option points at a recording stub that logs every stub call and then does what
 * the contract says (`fn.apply(thisArg, args)`, `thunk()`), so a test sees both what reached the stub and that the
 * program still behaves like its source. `fake-api` is a package under node_modules: calls into it are external.
 */
import { beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { createRewriteTransformer, type AktsCompilerOptions } from "../compiler";
import { ROOT } from "./helpers";

const DIR = path.join(ROOT, "test", ".tmp", "rewrite");
const OUT = path.join(DIR, "out");
const STUB = path.join(DIR, "stub.cjs");

const FAKE_API_JS = `
exports.calls = { count: 0 };
class Client {
  constructor(name = "c") { this.name = name; }
  getName() { exports.calls.count++; return this.name; }
  sum(...n) { exports.calls.count++; return n.reduce((a, b) => a + b, 0); }
  echo(...a) { exports.calls.count++; return a; }
  async fetchValue(n) { exports.calls.count++; return n * 2; }
  throwSync() { throw new RangeError("sync boom"); }
  builder() { exports.calls.count++; const items = []; const b = { add(n) { items.push(n); return b; }, build() { return { items }; } }; return b; }
  label(strings, ...values) { return { self: this.name, strings, values }; }
}
exports.Client = Client;
exports.ApiError = class ApiError extends Error {};
exports.tag = (strings, ...values) => ({ strings, values });
exports.echo = (...a) => a;
`;
const FAKE_API_DTS = `
export declare const calls: { count: number };
export interface Builder { add(n: number): Builder; build(): { items: number[] }; }
export declare class Client {
  constructor(name?: string);
  name: string;
  getName(): string;
  sum(...n: number[]): number;
  echo<T extends unknown[]>(...a: T): T;
  fetchValue(n: number): Promise<number>;
  throwSync(): never;
  builder(): Builder;
  label(strings: TemplateStringsArray, ...values: unknown[]): { self: string; strings: TemplateStringsArray; values: unknown[] };
}
export declare class ApiError extends Error {}
export declare function tag(strings: TemplateStringsArray, ...values: unknown[]): { strings: TemplateStringsArray; values: unknown[] };
export declare function echo<T extends unknown[]>(...a: T): T;
`;
/** Logs what reached the stub, then does what the real stub does outside a session. */
const RECORDING_STUB = `
const log = [];
exports.log = log;
const { sites } = require(${JSON.stringify(path.join(ROOT, "dist", "runtime", "site.js"))});
exports.call = (s, thisArg, fn, args) => { log.push({ site: s, thisArg, fn, args: [...args] }); return fn.apply(thisArg, args); };
exports.nondet = (s, thunk) => { log.push({ site: s }); return thunk(); };
exports.table = (file, text) => {
  const list = sites(file, text);
  return { sites: list, call: (i, thisArg, fn, args) => exports.call(list[i], thisArg, fn, args), nondet: (i, thunk) => exports.nondet(list[i], thunk) };
};
exports.tpl = (strings, ...values) => [strings, ...values];
exports.registered = [];
exports.errorClasses = (list) => { exports.registered.push(...list()); };
`;

const HEAD = 'import { Client, tag, echo, calls } from "fake-api";\nimport { activity } from "akts";\nimport { readFileSync, statSync } from "node:fs";\nimport { createHash } from "node:crypto";\n';

/** Case name → body of `export function run(...)`, after HEAD. */
const CASES: Record<string, string> = {
  sites: 'export function run() {\n  const c = new Client("n");\n  return [c.getName(), echo(1), Date.now() > 0];\n}\n',
  thisBinding:
    'export function run() {\n  const c = new Client("me");\n  const m = { c };\n  return [(c.getName)(), (c.getName as () => string)(), c.getName!(), c["getName"](), m.c.getName(), ((m).c).getName()];\n}\n',
  order:
    'export function run() {\n  const log: string[] = [];\n  const note = <T>(s: string, v: T) => (log.push(s), v);\n  const c = new Client("k");\n  const out = note("receiver", c)["echo"](note("arg1", 1), echo(note("arg2", 2)));\n  return { log, out };\n}\n',
  optional:
    'export function run(c: Client | undefined, d: { e?: Client } | undefined) {\n  let evaluated = 0;\n  return [c?.getName(), c?.echo(++evaluated), d?.e?.getName(), d?.e!.echo(1), evaluated];\n}\n',
  spread: 'export function run(xs: number[]) {\n  const c = new Client();\n  return [c.sum(...xs, 10), echo(...xs)];\n}\n',
  template:
    'export function run() {\n  const c = new Client("t");\n  const seen = [];\n  for (let i = 0; i < 2; i++) seen.push(tag`a${i}b`);\n  return { same: seen[0].strings === seen[1].strings, values: seen.map((s) => s.values), method: c.label`x${1}` };\n}\n',
  syncAndThrow:
    'export function run(file: string) {\n  const c = new Client();\n  const text = readFileSync(file, "utf8");\n  try { c.throwSync(); } catch (e) { return { text, error: e }; }\n}\n',
  asyncStays: 'export function run() {\n  return new Client().fetchValue(21);\n}\n',
  chain:
    'export function run(file: string) {\n  const c = new Client();\n  let n = 0;\n  const built = c.builder().add(++n).add(++n).build();\n  const isFile = statSync(file).isFile();\n  const digest = createHash("sha256").update(readFileSync(file)).digest("hex");\n  return { built, n, isFile, digest };\n}\n',
  indirect:
    'export function run() {\n  const c = new Client("ind");\n  return [c.getName.call(c), c.sum.apply(c, [1, 2]), Reflect.apply(c.sum, c, [3, 4])];\n}\n',
  nondet: 'export function run() {\n  return [typeof Date.now(), new Date() instanceof Date, new Date(0).getTime(), typeof Math.random()];\n}\n',
  marked:
    'const twice = activity(async (n: number) => { const c = new Client(); return c.sum(n, n); });\n' +
    '/** @activity */\nconst thrice = (n: number) => new Client().sum(n, n, n);\n' +
    'export async function run() {\n  return [await twice(2), thrice(3)];\n}\n',
  dynamicAkts: 'export async function run() {\n  const api = await import("akts");\n  return typeof api.activity;\n}\n',
  moduleLevel: 'const atLoad = new Client("load").getName();\nexport function run() {\n  return atLoad;\n}\n',
  errorClasses:
    'import { ApiError } from "fake-api";\nimport * as fake from "fake-api";\nclass LocalError extends Error {}\n' +
    'export function run(e: unknown) {\n  class Inner extends Error {}\n  return [e instanceof ApiError, e instanceof fake.ApiError, e instanceof LocalError, e instanceof Inner, e instanceof RangeError];\n}\n',
  field: 'const c = new Client("f");\nclass Holder {\n  value = c.getName();\n  static shared = c.sum(1);\n}\nexport function run() {\n  return new Holder().value;\n}\n',
};

interface LogEntry {
  site: { file: string; line: number; column: number; callee: string; reason: string };
  thisArg?: unknown;
  fn?: unknown;
  args?: unknown[];
}
let stubLog: LogEntry[];
let fakeApi: { calls: { count: number }; ApiError: new (message: string) => Error; Client: new (name?: string) => { getName(): string; sum(...n: number[]): number } };
const outputs = new Map<string, string>();

function write(file: string, text: string) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

function compile(names: string[], options: AktsCompilerOptions) {
  const program = ts.createProgram(
    names.map((n) => path.join(DIR, `${n}.ts`)),
    {
      target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true, types: ["node"], skipLibCheck: true, sourceMap: true, outDir: OUT, rootDir: DIR,
      paths: { akts: [path.join(ROOT, "dist", "runtime", "index.d.ts")] },
    },
  );
  const errors = ts.getPreEmitDiagnostics(program).filter((d) => d.file?.fileName.startsWith(DIR));
  expect(errors.map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"))).toEqual([]);
  program.emit(undefined, (file, text) => {
    write(file, text);
    outputs.set(path.relative(OUT, file), text);
  }, undefined, false, { before: [createRewriteTransformer(ts, program, { ...options, projectDir: DIR })] });
}

beforeAll(() => {
  fs.rmSync(DIR, { recursive: true, force: true });
  write(path.join(DIR, "package.json"), JSON.stringify({ type: "commonjs" }));
  write(path.join(DIR, "node_modules", "fake-api", "package.json"), JSON.stringify({ name: "fake-api", main: "index.js", types: "index.d.ts" }));
  write(path.join(DIR, "node_modules", "fake-api", "index.js"), FAKE_API_JS);
  write(path.join(DIR, "node_modules", "fake-api", "index.d.ts"), FAKE_API_DTS);
  write(STUB, RECORDING_STUB);
  for (const [name, body] of Object.entries(CASES)) write(path.join(DIR, `${name}.ts`), HEAD + body);
  // `akts` resolves to the built runtime at run time, through the aktsModule option.
  compile(Object.keys(CASES), { runtime: STUB, aktsModule: path.join(ROOT, "dist", "runtime", "index.js") });
  stubLog = require(STUB).log;
  fakeApi = require(path.join(DIR, "node_modules", "fake-api"));
});

/** Runs a case's `run` and returns its result with the stub calls it made. */
async function run(name: string, ...args: unknown[]): Promise<{ result: unknown; log: LogEntry[] }> {
  const mod = require(path.join(OUT, `${name}.js`));
  const start = stubLog.length;
  const result = await mod.run(...args);
  return { result, log: stubLog.slice(start) };
}
const callees = (log: LogEntry[]) => log.map((e) => `${e.site.reason}:${e.site.callee}`);

describe("output shape", () => {
  test("one stub import, module-level sites in source order with project-relative paths, then the module", () => {
    const out = outputs.get("sites.js")!;
    expect(out).toContain(`const __akts = __importStar(require(${JSON.stringify(STUB)}));`);
    const sites = out.split("\n").filter((l) => l.startsWith("const __akts_sites"));
    expect(sites).toEqual([
      'const __akts_sites = __akts.table("sites.ts", "7:11 external c.getName\\n7:24 external echo\\n7:33 nondeterministic Date.now");',
    ]);
    expect(out).toContain("__akts_sites.call(0, c, c.getName, [])");
    expect(out).toContain("__akts_sites.nondet(2, () => Date.now())");
    expect(out.indexOf("const __akts_sites")).toBeLessThan(out.indexOf('require("fake-api")'));
  });

  test("the aktsModule option redirects static and dynamic imports of akts", async () => {
    const target = JSON.stringify(path.join(ROOT, "dist", "runtime", "index.js"));
    expect(outputs.get("marked.js")).toContain(`require(${target})`);
    expect(outputs.get("dynamicAkts.js")).toContain(`import(${target})`);
    for (const name of ["marked", "dynamicAkts"]) expect(outputs.get(`${name}.js`)).not.toContain('"akts"');
    expect((await run("dynamicAkts")).result).toBe("function");
  });

  test("the source map maps each stub call back to the original call", () => {
    const out = outputs.get("sites.js")!;
    const map = JSON.parse(outputs.get("sites.js.map")!);
    const lines = out.split("\n");
    for (const [site, line, column] of [[0, 7, 11], [1, 7, 24]] as const) {
      const genLine = lines.findIndex((l) => l.includes(`__akts_sites.call(${site},`));
      const genColumn = lines[genLine].indexOf(`__akts_sites.call(${site},`);
      expect(originalPosition(map.mappings, genLine, genColumn), `site ${site}`).toEqual({ line, column });
    }
  });
});

describe("behaviour is the source's", () => {
  test("a receiver stays `this` through parentheses, `!`, `as`, element access and nested members", async () => {
    const { result, log } = await run("thisBinding");
    expect(result).toEqual(["me", "me", "me", "me", "me", "me"]);
    expect(log).toHaveLength(6);
    expect(log.every((e) => (e.thisArg as { name: string }).name === "me")).toBe(true);
  });

  test("receiver, then arguments (nested activities first), then the call", async () => {
    const { result, log } = await run("order");
    expect(result).toEqual({ log: ["receiver", "arg1", "arg2"], out: [1, [2]] });
    expect(callees(log)).toEqual(["external:echo", 'external:note("receiver",c)["echo"]']);
  });

  test("optional calls short-circuit without evaluating their arguments, and keep `this` when present", async () => {
    expect(await run("optional", undefined, undefined)).toEqual({ result: [undefined, undefined, undefined, undefined, 0], log: [] });
    const c = new fakeApi.Client("opt");
    const { result, log } = await run("optional", c, { e: c });
    expect(result).toEqual(["opt", [1], "opt", [1], 1]);
    expect(log.map((e) => e.thisArg)).toEqual([c, c, c, c]);
  });

  test("spread arguments arrive as one flat args array", async () => {
    const { result, log } = await run("spread", [1, 2]);
    expect(result).toEqual([13, [1, 2]]);
    expect(log.map((e) => e.args)).toEqual([[1, 2, 10], [1, 2]]);
  });

  test("tagged templates keep their per-site template object and their receiver", async () => {
    const { result, log } = await run("template");
    const r = result as { same: boolean; values: unknown[][]; method: { self: string; values: unknown[] } };
    expect(r.same).toBe(true);
    expect(r.values).toEqual([[0], [1]]);
    expect(r.method.self).toBe("t");
    expect(callees(log)).toEqual(["external:tag", "external:tag", "external:c.label"]);
  });

  test("a sync call stays sync and its exception propagates unchanged", async () => {
    const file = path.join(DIR, "package.json");
    const mod = require(path.join(OUT, "syncAndThrow.js"));
    const r = mod.run(file);
    expect(r.text).toBe(fs.readFileSync(file, "utf8"));
    expect(r.error).toBeInstanceOf(RangeError);
    expect(r.error.message).toBe("sync boom");
  });

  test("an async call returns the promise the function returned", async () => {
    const mod = require(path.join(OUT, "asyncStays.js"));
    const p = mod.run();
    expect(p).toBeInstanceOf(Promise);
    expect(await p).toBe(42);
  });
});

describe("immediate chains", () => {
  test("run whole inside one call; the workflow's own expressions are evaluated before, into the args", async () => {
    const file = path.join(DIR, "package.json");
    const { result, log } = await run("chain", file);
    const digest = (await import("node:crypto")).createHash("sha256").update(fs.readFileSync(file)).digest("hex");
    expect(result).toEqual({ built: { items: [1, 2] }, n: 2, isFile: true, digest });
    expect(callees(log)).toEqual(["external:c.builder().add().add().build", "external:statSync().isFile", "external:readFileSync", "external:createHash().update().digest"]);
    // `++n` twice, evaluated by the workflow; the nested readFileSync entered before the chain it feeds.
    expect(log[0].args).toEqual([1, 2]);
    expect(log[3].args).toEqual([fs.readFileSync(file)]);
    expect(log.every((e) => e.thisArg === undefined)).toBe(true);
    expect(outputs.get("chain.js")).toContain("__akts_sites.call(1, void 0, () => (0, node_fs_1.statSync)(file).isFile(), [])");
  });
});

describe("indirect calls", () => {
  test("fn.call, fn.apply and Reflect.apply hand the stub the function really called, with its `this`", async () => {
    const before = fakeApi.calls.count;
    const { result, log } = await run("indirect");
    expect(result).toEqual(["ind", 3, 7]);
    expect(fakeApi.calls.count - before).toBe(3);
    expect(callees(log)).toEqual(["external:c.getName.call", "external:c.sum.apply", "external:Reflect.apply"]);
    expect(log.map((e) => (e.fn as { name: string }).name)).toEqual(["getName", "sum", "sum"]);
    expect(log.map((e) => (e.thisArg as { name: string }).name)).toEqual(["ind", "ind", "ind"]);
    expect(log.map((e) => e.args)).toEqual([[], [1, 2], [3, 4]]);
  });
});

describe("what is rewritten", () => {
  test("nondeterministic builtins go through nondet; new Date(0) does not", async () => {
    const { result, log } = await run("nondet");
    expect(result).toEqual(["number", true, 0, "number"]);
    expect(callees(log)).toEqual(["nondeterministic:Date.now", "nondeterministic:new Date", "nondeterministic:Math.random"]);
  });

  test("a marked function is one activity; the external calls in its body are not rewritten", async () => {
    const { result, log } = await run("marked");
    expect(result).toEqual([4, 9]);
    expect(callees(log)).toEqual(["marked:twice", "marked:thrice"]);
  });

  test("classes tested with instanceof and bound at module level are registered at the end of the module", async () => {
    const registered: Function[] = require(STUB).registered;
    const before = registered.length;
    const { result, log } = await run("errorClasses", new fakeApi.ApiError("x"));
    expect(result).toEqual([true, true, false, false, false]);
    expect(log).toEqual([]);
    expect(registered.slice(before).map((c) => c.name)).toEqual(["ApiError", "ApiError", "LocalError"]);
    expect(registered[before]).toBe(fakeApi.ApiError);
  });

  test("module-level code is not rewritten; an instance field initializer is, a static one is not", async () => {
    expect(outputs.get("moduleLevel.js")).not.toContain("__akts");
    const { result, log } = await run("field");
    expect(result).toBe("f");
    expect(callees(log)).toEqual(["external:c.getName"]);
  });
});

/** The original (1-based line, column) of a generated position, from a source map's `mappings`. */
function originalPosition(mappings: string, genLine: number, genColumn: number): { line: number; column: number } | undefined {
  const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const state = [0, 0, 0, 0];
  let found: { line: number; column: number } | undefined;
  mappings.split(";").forEach((line, index) => {
    state[0] = 0;
    for (const segment of line.split(",").filter(Boolean)) {
      const values: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of segment) {
        const digit = B64.indexOf(ch);
        value += (digit & 31) << shift;
        if (digit & 32) {
          shift += 5;
        } else {
          values.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      values.forEach((v, i) => (state[i] += v));
      if (index === genLine && state[0] <= genColumn && values.length >= 4) found = { line: state[2] + 1, column: state[3] + 1 };
    }
  });
  return found;
}
