/**
 * The semantics suite: each program under test/semantics/programs has the same observable output
 * (1) untransformed, (2) rewritten and run outside a session, (3) rewritten and run inside a durable session,
 * and (4) replayed from that session's journal, where no external call may run live.
 * Programs in KNOWN_BROKEN reproduce a bug that is not fixed yet: they run like every other program and are
 * expected to fail (`test.fails`), so fixing the bug turns them red until they are taken off the list.
 * The programs import `akts` through test/semantics/node_modules/akts, a link to this checkout kept in git, so
 * every test file that compiles them (the parity test too) sees the same types whichever runs first.
 */
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";
import { emitProject, loadProject } from "../integrations/project";
import { transformBabel } from "../compiler/babel";
import { TYPE_ONLY } from "./babel-type-only";
import { Engine } from "../runtime/engine";
import { FileStore } from "../runtime/store/file-store";
import { SessionState } from "../runtime/session-state";
import { storage } from "../runtime/context";
import { ROOT, tempDir } from "./helpers";

const SUITE = path.join(ROOT, "test", "semantics");
const OUT = path.join(SUITE, ".out");
const PROGRAMS = fs.readdirSync(path.join(SUITE, "programs")).filter((f) => f.endsWith(".ts")).map((f) => f.slice(0, -3)).sort();

type Program = { run(): Promise<unknown> };
let store: FileStore;
let storeDir: string;
let api: { calls: { count: number } };
let typeErrors: string[];

async function load(variant: "plain" | Variant, name: string): Promise<Program> {
  return import(pathToFileURL(path.join(OUT, variant, "programs", `${name}.js`)).href);
}

const normalize = (v: unknown) => JSON.parse(JSON.stringify(v ?? null));

type Variant = "rewritten" | "babel";

/** Bugs not fixed yet, with the front ends whose output shows them. */
const KNOWN_BROKEN: Record<string, { why: string; variants: Variant[] }> = {
};

/**
 * The external calls the Babel path's replay makes live: those of the sites only types reveal (TYPE_ONLY in the
 * parity test), counted by hand from each program. Any other call made live during a replay fails the test.
 */
const BABEL_LIVE: Record<string, number> = {
  "async-generator": 3,
  "awaited-receiver": 1,
  "class-method": 2,
  "element-access-evaluation-order": 1,
  "evaluation-order": 1,
  getter: 2,
  "no-activity": 1,
  "optional-deep-chain": 1,
  "promise-property": 2,
  "reexport-through-project": 1,
  "super-call": 2,
};

test("every program with calls made live under Babel has sites listed as type-only", () => {
  const listed = (name: string) => (TYPE_ONLY[`semantics/programs/${name}.ts`]?.ts.length ?? 0) > 0;
  expect(Object.keys(BABEL_LIVE).filter((name) => !PROGRAMS.includes(name) || !listed(name))).toEqual([]);
});

beforeAll(async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  const project = loadProject(ts, path.join(SUITE, "tsconfig.json"));
  typeErrors = ts.getPreEmitDiagnostics(project.program).map((d) => ts.formatDiagnostic(d, { getCanonicalFileName: (f) => f, getCurrentDirectory: () => SUITE, getNewLine: () => "\n" }));
  const plain = project.program.emit(undefined, (file, text) => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
  });
  expect(plain.emitSkipped).toBe(false);
  emitProject(ts, project, { outDir: path.join(OUT, "rewritten"), write: true });
  // The Babel path works on JavaScript: it rewrites the untransformed output.
  for (const dir of ["programs", "lib"]) {
    for (const file of fs.readdirSync(path.join(OUT, "plain", dir)).filter((f) => f.endsWith(".js"))) {
      const source = path.join(OUT, "plain", dir, file);
      const target = path.join(OUT, "babel", dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, transformBabel(fs.readFileSync(source, "utf8"), source, { projectDir: path.join(OUT, "plain") }).code);
    }
  }
  storeDir = tempDir("semantics");
  store = new FileStore(storeDir, "none");
  api = await import(pathToFileURL(path.join(SUITE, "node_modules", "semantics-api", "index.js")).href);
});

afterAll(() => fs.rmSync(storeDir, { recursive: true, force: true }));

test("the suite has at least 40 programs", () => {
  expect(PROGRAMS.length).toBeGreaterThanOrEqual(40);
});

test("the programs type-check", () => {
  expect(typeErrors).toEqual([]);
});

test("every known-broken entry names a program", () => {
  expect(Object.keys(KNOWN_BROKEN).filter((name) => !PROGRAMS.includes(name))).toEqual([]);
});

describe.each(PROGRAMS.flatMap((name) => [{ name, variant: "rewritten" as const }, { name, variant: "babel" as const }]))("$name ($variant)", ({ name, variant }) => {
  const it = KNOWN_BROKEN[name]?.variants.includes(variant) ? test.fails : test;
  it("untransformed = rewritten outside a session = inside a durable session = replayed", async () => {
    const plain = normalize(await (await load("plain", name)).run());
    const rewritten = await load(variant, name);
    expect(normalize(await rewritten.run())).toEqual(plain);

    const engine = new Engine({ store });
    const trigger = { project: "semantics", trigger: name, handler: `programs/${name}.ts:run`, mode: "durable" as const, maxAttempts: 1, codeHash: "x" };
    const outcome = await engine.start(trigger, () => rewritten.run(), null);
    expect(outcome.error).toBeUndefined();
    expect(normalize(outcome.result)).toEqual(plain);

    const { records } = await store.read(outcome.sessionId);
    // A site's label is the call as written, without the comments inside it.
    expect(records.flatMap((r) => ("callee" in r && /\/[/*]/.test(r.callee) ? [r.callee] : []))).toEqual([]);
    const noLiveWrites = { append: () => Promise.reject(new Error("replay ran an activity live")), appendSync: () => { throw new Error("replay ran an activity live"); } };
    const replay = new SessionState(outcome.sessionId, 2, true, noLiveWrites, records, store.inbox(outcome.sessionId, new Set()));
    const before = api.calls.count;
    const replayed = await storage.run({ session: replay, inActivity: false }, () => rewritten.run());
    await replay.settled();
    replay.assertFullyReplayed();
    expect(normalize(replayed)).toEqual(plain);
    // Sites only types reveal (listed in the parity test) run live under the Babel path, and only those.
    const live = variant === "babel" ? (BABEL_LIVE[name] ?? 0) : 0;
    expect(api.calls.count - before, "external calls made live during replay").toBe(live);
  });
});
