/**
 * `tspc` (ts-patch) builds a handler project with `{ "transform": "akts/plugin" }`, with TypeScript 6 and 5.9,
 * in a project that has akts installed as a dependency (a link to this checkout, as `npm install <folder>` makes).
 */
import { describe, expect, test } from "vitest";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ROOT, tempDir } from "./helpers";

const TSPC = path.join(ROOT, "node_modules", "ts-patch", "bin", "tspc.js");

function consumer(typescriptPackage: string): string {
  const dir = tempDir("consumer");
  const modules = path.join(dir, "node_modules");
  fs.mkdirSync(path.join(modules, "@types"), { recursive: true });
  fs.symlinkSync(ROOT, path.join(modules, "akts"));
  fs.symlinkSync(path.join(ROOT, "node_modules", typescriptPackage), path.join(modules, "typescript"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "@types", "node"), path.join(modules, "@types", "node"));
  fs.symlinkSync(path.join(ROOT, "node_modules", "undici-types"), path.join(modules, "undici-types"));
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
  fs.writeFileSync(
    path.join(dir, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, types: ["node"],
        skipLibCheck: true, outDir: "dist", rootDir: ".", sourceMap: true,
        plugins: [{ transform: "akts/plugin" }],
      },
      include: ["*.ts"],
    }),
  );
  fs.writeFileSync(
    path.join(dir, "program.ts"),
    [
      'import { readFileSync } from "node:fs";',
      'import { activity } from "akts";',
      "const double = activity(async (n: number) => n * 2);",
      "export async function handler(event: { file: string }) {",
      '  const text = readFileSync(event.file, "utf8");',
      "  return { length: text.length, doubled: await double(21) };",
      "}",
      "",
    ].join("\n"),
  );
  return dir;
}

/** The JSDoc marks' file: tsc parses a TypeScript file's JSDoc only for type errors, and the marks must hold. */
const JSDOC = [
  'import { readFileSync } from "node:fs";',
  "/** Reads a file. @activity */",
  'function load(p: string): string { return readFileSync(p, "utf8"); }',
  "/**",
  " * Reads it again on replay.",
  " * @noActivity",
  " */",
  'const peek = (p: string): string => readFileSync(p, "utf8");',
  "export async function handler(event: { p: string }) {",
  "  return [load(event.p), peek(event.p)];",
  "}",
  "",
].join("\n");

const builds = new Map<string, { dir: string; output: string; status: number | null }>();

/** The consumer project with `jsdoc.ts` beside its program, built by tspc once for the tests that read its output. */
function built(typescriptPackage: string): { dir: string; output: string; status: number | null } {
  let build = builds.get(typescriptPackage);
  if (!build) {
    const dir = consumer(typescriptPackage);
    fs.writeFileSync(path.join(dir, "jsdoc.ts"), JSDOC);
    const r = spawnSync(process.execPath, [TSPC, "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
    build = { dir, output: r.stdout + r.stderr, status: r.status };
    builds.set(typescriptPackage, build);
  }
  return build;
}

describe.each([
  ["TypeScript 6", "typescript"],
  ["TypeScript 5.9", "typescript-5.9"],
])("%s", (_name, pkg) => {
  test("tspc builds the project with the akts transformer, and the output runs", async () => {
    const { dir, output, status } = built(pkg);
    const version = JSON.parse(fs.readFileSync(path.join(dir, "node_modules", "typescript", "package.json"), "utf8")).version;
    expect(version.startsWith(pkg === "typescript" ? "6." : "5.9")).toBe(true);
    expect(output).toBe("");
    expect(status).toBe(0);
    const out = fs.readFileSync(path.join(dir, "dist", "program.js"), "utf8");
    expect(out).toContain('import * as __akts from "akts/stub";');
    expect(out).toContain('const __akts_sites = __akts.table("program.ts", "5:16 external readFileSync\\n6:48 marked double");');
    expect(out).toContain("__akts_sites.call(0, void 0, readFileSync, [event.file, \"utf8\"])");
    // Outside a session the stubs pass straight through.
    const mod = await import(path.join(dir, "dist", "program.js"));
    expect(await mod.handler({ file: path.join(dir, "package.json") })).toEqual({ length: fs.statSync(path.join(dir, "package.json")).size, doubled: 42 });
    // The source map points the stubbed call back at the original line.
    const map = JSON.parse(fs.readFileSync(path.join(dir, "dist", "program.js.map"), "utf8"));
    expect(map.sources).toEqual(["../program.ts"]);
  }, 120_000);

  test("JSDoc marks hold although tsc parses a TypeScript file's JSDoc only for type errors", () => {
    const { dir, output } = built(pkg);
    expect(output).toBe("");
    const out = fs.readFileSync(path.join(dir, "dist", "jsdoc.js"), "utf8");
    expect(out).toContain('const __akts_sites = __akts.table("jsdoc.ts", "10:11 marked load");');
    expect(out).toContain('function load(p) { return readFileSync(p, "utf8"); }');
    expect(out).toContain('const peek = (p) => readFileSync(p, "utf8");');
    expect(out).toContain("return [__akts_sites.call(0, void 0, load, [event.p]), peek(event.p)];");
  }, 120_000);

  test("an unknown plugin option is a clear error", () => {
    const dir = consumer(pkg);
    const config = JSON.parse(fs.readFileSync(path.join(dir, "tsconfig.json"), "utf8"));
    config.compilerOptions.plugins = [{ transform: "akts/plugin", runtme: "x" }];
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify(config));
    const r = spawnSync(process.execPath, [TSPC, "-p", "tsconfig.json"], { cwd: dir, encoding: "utf8" });
    expect(r.status).not.toBe(0);
    // One line pointing at the key, among the compiler's errors: no stack trace.
    expect(r.stdout + r.stderr).toMatch(/^error TS9002: tsconfig\.json:1:\d+ \(compilerOptions\.plugins\): error AKTS9002: unknown akts plugin option 'runtme' \(known: runtime, aktsModule, projectDir, allow, deny\)\n$/);
  }, 120_000);
});

test("tspc builds every fixture with the akts transformer", () => {
  const fixtures = ["slack-notify", "pg-sync", "axios-http", "github-triage", "fs-builtins", "order", "crash"];
  // Inside the repository, so the fixtures' `types: ["node"]` resolve as they do for the fixtures themselves.
  const dir = path.join(ROOT, "test", ".tmp", "tspc-fixtures");
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const configs = fixtures.map((name) => {
    const config = path.join(dir, `${name}.json`);
    fs.writeFileSync(
      config,
      JSON.stringify({
        extends: path.join(ROOT, "fixtures", name, "tsconfig.json"),
        compilerOptions: {
          // `tspc -b` builds referenced projects, which must be composite.
          composite: true,
          tsBuildInfoFile: path.join(dir, `${name}.tsbuildinfo`),
          outDir: path.join(dir, name),
          plugins: [{ transform: path.join(ROOT, "dist", "integrations", "transformer.js"), projectDir: path.join(ROOT, "fixtures", name) }],
        },
      }),
    );
    return config;
  });
  // One build of them all: one process (concurrent tspc processes contend for ts-patch's cache lock), and build mode
  // parses the declaration files the fixtures share (TypeScript's libs, @types/node) once, not once per fixture.
  const solution = path.join(dir, "fixtures.json");
  fs.writeFileSync(solution, JSON.stringify({ files: [], references: configs.map((config) => ({ path: config })) }));
  const r = spawnSync(process.execPath, [TSPC, "-b", solution], { cwd: ROOT, encoding: "utf8" });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
  for (const name of fixtures) {
    // tspc's output is the one the API path writes (the fixtures' expected-rewrite/): tsc parses less JSDoc, and
    // the marks must not depend on it.
    const program = fs.readFileSync(path.join(dir, name, "program.js"), "utf8").replace(/\n\/\/# sourceMappingURL=.*$/, "\n");
    expect(program, name).toBe(fs.readFileSync(path.join(ROOT, "fixtures", name, "expected-rewrite", "program.js"), "utf8"));
  }
}, 300_000);
