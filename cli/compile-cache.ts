/**
 * `akts run` works straight on TypeScript sources: the project is rewritten by the compiler into
 * `.akts/cache/<hash>/` beside the manifest (so packages resolve from the project's node_modules), and reused while
 * the files it was compiled from do not change. The hash covers exactly those files (the program's own sources,
 * not its packages or data files), the tsconfig, the package.json and akts's version; each entry lists its files,
 * so finding a reusable entry loads no TypeScript. The newest few entries are kept.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type * as ts from "typescript";
import { AktsError, formatFinding } from "../errors";
import { AKTS_ROOT, aktsVersion } from "./version";
import { loadTypeScript } from "./typescript";
import type { Project } from "../integrations/project";
import { SHAPE_FILE, readShapeFile, shapeOf, shapeText } from "./replay-shape-file";

const RUNTIME_DIR = path.join(AKTS_ROOT, "dist", "runtime");
/** Cache entries kept per project: enough to switch between a few versions of the code without recompiling. */
export const CACHE_ENTRIES = 4;
/** In each entry: the project-relative files it was compiled from. */
const FILES = "files.json";
const COMPLETE = ".complete";

export interface CompiledProject {
  /** Folder holding the rewritten JavaScript. */
  readonly dir: string;
  /** The replay fingerprint of what was compiled, recorded in each session's journal header. */
  readonly fingerprint: string;
  /** Path of the compiled module for a project-relative source path. */
  outputFor(sourceFile: string): string;
}

/**
 * The compiler host compiles use, when not TypeScript's own: a process that compiles many projects (the tests run
 * `akts diff` in theirs) shares the parsed declaration files across programs, as `akts check`'s caller can.
 */
let createHost: ((options: ts.CompilerOptions) => ts.CompilerHost) | undefined;

export function useCompilerHost(factory: typeof createHost): void {
  createHost = factory;
}

export function jsName(file: string): string {
  return file.replace(/\.mts$/, ".mjs").replace(/\.cts$/, ".cjs").replace(/\.tsx?$/, ".js");
}

/**
 * The hash of the project as compiled from `files` (project-relative, sorted); undefined if one is gone. akts's
 * version and where its runtime is are in it (the emitted code imports the runtime by path).
 */
function hashFiles(projectDir: string, files: readonly string[]): string | undefined {
  const hash = createHash("sha256");
  hash.update(aktsVersion()).update("\0").update(RUNTIME_DIR);
  for (const file of ["tsconfig.json", "package.json", ...files]) {
    let text: Buffer;
    try {
      text = fs.readFileSync(path.join(projectDir, file));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT" && file === "package.json") continue;
      return undefined;
    }
    hash.update("\0").update(file).update("\0").update(text);
  }
  return hash.digest("hex").slice(0, 16);
}

/** The cache's complete entries, newest first. */
function entries(cacheDir: string): { dir: string; used: number }[] {
  const names = fs.existsSync(cacheDir) ? fs.readdirSync(cacheDir) : [];
  return names
    .flatMap((name) => {
      const used = fs.statSync(path.join(cacheDir, name, COMPLETE), { throwIfNoEntry: false })?.mtimeMs;
      // An entry of an older akts has no file list or shape: it is not reused, and the next prune removes it.
      if (used === undefined || !fs.existsSync(path.join(cacheDir, name, FILES)) || !fs.existsSync(path.join(cacheDir, name, SHAPE_FILE))) return [];
      return [{ dir: path.join(cacheDir, name), used }];
    })
    .sort((a, b) => b.used - a.used);
}

/** An entry whose files are unchanged: its name is the hash of their current contents. */
function reusable(projectDir: string, cacheDir: string): string | undefined {
  for (const { dir } of entries(cacheDir)) {
    const files = JSON.parse(fs.readFileSync(path.join(dir, FILES), "utf8")) as string[];
    if (hashFiles(projectDir, files) === path.basename(dir)) return dir;
  }
  return undefined;
}

export function compileProject(projectDir: string): CompiledProject {
  const tsconfig = path.join(projectDir, "tsconfig.json");
  if (!fs.existsSync(tsconfig)) throw new AktsError("AKTS9004", `tsconfig not found: ${tsconfig}`, { location: { file: tsconfig } });
  const cacheDir = path.join(projectDir, ".akts", "cache");
  let dir = reusable(projectDir, cacheDir);
  if (dir) {
    const now = new Date();
    fs.utimesSync(path.join(dir, COMPLETE), now, now);
  } else {
    dir = emitInto(projectDir, tsconfig, cacheDir);
    prune(cacheDir);
  }
  const compiled = dir;
  return { dir, fingerprint: readShapeFile(dir).fingerprint, outputFor: (sourceFile) => path.join(compiled, jsName(sourceFile)) };
}

/** Keeps the newest CACHE_ENTRIES entries; leftovers of interrupted compiles go too. */
function prune(cacheDir: string): void {
  const keep = new Set(entries(cacheDir).slice(0, CACHE_ENTRIES).map((e) => path.basename(e.dir)));
  for (const name of fs.readdirSync(cacheDir)) {
    // A staging folder of a compile under way in another process is left alone while it may be one.
    if (keep.has(name) || (name.endsWith(".tmp") && Date.now() - fs.statSync(path.join(cacheDir, name)).mtimeMs < 60_000)) continue;
    fs.rmSync(path.join(cacheDir, name), { recursive: true, force: true });
  }
}

/**
 * A project with error findings (AKTS2001...) is not run, as `akts build` does not bundle it: it would fail at run
 * time, or answer 500. The findings go to stderr, as build writes them; nothing is cached, so a fix is compiled.
 */
function refuseErrorFindings(tsx: typeof ts, project: Project): void {
  const { analyzeProgram } = require("../compiler") as typeof import("../compiler");
  const errors = analyzeProgram(tsx, project.program, { ...project.options, projectDir: project.projectDir }).diagnostics.filter((d) => d.severity === "error");
  if (errors.length === 0) return;
  for (const d of errors) {
    const file = path.relative(process.cwd(), path.join(project.projectDir, d.file)) || d.file;
    process.stderr.write(formatFinding({ ...d, location: { file, line: d.line, column: d.column } }) + "\n");
  }
  const count = `${errors.length} error${errors.length === 1 ? "" : "s"}`;
  throw new AktsError(errors[0].code, `the project has ${count} (above), so it is not run`, { hint: "fix them; `akts check` lists every finding" });
}

/**
 * Compiles the project into a new entry of `cacheDir`, named by the hash of the files the program holds, and
 * returns its folder. Atomic: emitted into a staging folder beside the entries (same depth, so the source maps'
 * relative paths hold) and renamed into place when complete.
 */
function emitInto(projectDir: string, tsconfig: string, cacheDir: string): string {
  const tsx = loadTypeScript("compiling the project's TypeScript sources");
  const { loadProject, emitProject, diagnosticLocation } = require("../integrations/project") as typeof import("../integrations/project");
  const staging = path.join(cacheDir, `${process.pid}.tmp`);
  const project = loadProject(tsx, tsconfig, { outDir: staging, rootDir: projectDir, noEmit: false, noEmitOnError: false, declaration: false, sourceMap: true, inlineSources: true }, createHost);
  const sources = project.program.getSourceFiles().filter((sf) => !sf.fileName.includes("/node_modules/"));
  const syntax = sources.flatMap((sf) => project.program.getSyntacticDiagnostics(sf));
  if (syntax.length > 0) {
    const d = syntax[0];
    throw new AktsError("AKTS9003", tsx.flattenDiagnosticMessageText(d.messageText, " "), { location: diagnosticLocation(tsx, d) });
  }
  const files = sources
    .map((sf) => path.relative(projectDir, sf.fileName).split(path.sep).join("/"))
    .filter((f) => !f.startsWith("../") && !path.isAbsolute(f))
    .sort();
  const dir = path.join(cacheDir, hashFiles(projectDir, files)!);
  refuseErrorFindings(tsx, project);
  fs.rmSync(staging, { recursive: true, force: true });
  const emitted = emitProject(tsx, project, {
    overrides: { runtime: path.join(RUNTIME_DIR, "stub.js"), aktsModule: path.join(RUNTIME_DIR, "index.js") },
  });
  for (const [file, text] of emitted.files) {
    // `.akts/` holds the store too: folders this creates are the owner's only (0700), as the store's are.
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, text);
  }
  const pkg = path.join(projectDir, "package.json");
  const type = fs.existsSync(pkg) ? (JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: string }).type : undefined;
  fs.mkdirSync(staging, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(staging, "package.json"), JSON.stringify({ type: type ?? "commonjs" }));
  fs.writeFileSync(path.join(staging, FILES), JSON.stringify(files));
  fs.writeFileSync(path.join(staging, SHAPE_FILE), shapeText(shapeOf(tsx, project)));
  fs.writeFileSync(path.join(staging, COMPLETE), "");
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    // Another runner finished the same compile first: theirs is identical.
    if (!fs.existsSync(path.join(dir, COMPLETE))) throw err;
    fs.rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
