/**
 * `akts run` works straight on TypeScript sources: the project is rewritten by the compiler into
 * `.akts/cache/<hash>/` beside the manifest (so packages resolve from the project's node_modules), keyed by a
 * hash of the sources, the tsconfig and akts's version, and reused while they do not change. TypeScript is
 * loaded only when something must be compiled.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type * as ts from "typescript";
import { AktsError, formatFinding } from "../errors";
import { AKTS_ROOT, aktsVersion } from "./version";
import { loadTypeScript } from "./typescript";
import type { Project } from "./project";

const RUNTIME_DIR = path.join(AKTS_ROOT, "dist", "runtime");

export interface CompiledProject {
  /** Folder holding the rewritten JavaScript. */
  readonly dir: string;
  /** Hash of what was compiled, recorded in each session's journal header. */
  readonly codeHash: string;
  /** Path of the compiled module for a project-relative source path. */
  outputFor(sourceFile: string): string;
}

export function jsName(file: string): string {
  return file.replace(/\.mts$/, ".mjs").replace(/\.cts$/, ".cjs").replace(/\.tsx?$/, ".js");
}

/** Files that can change what the compiler emits; anything extra only costs a needless recompile. */
const SOURCE_FILE = /\.(c|m)?(t|j)sx?$|\.json$/;

/** The project's source files, sorted: everything but node_modules and dot-folders (the cache itself). */
function sourceFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith(".") || entry.name === "node_modules") continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...sourceFiles(full));
    else if (SOURCE_FILE.test(entry.name)) found.push(full);
  }
  return found;
}

/**
 * Hashes the project without loading TypeScript (which costs more than the rest of a run): every source file
 * in the folder, the tsconfig, akts's version and where its runtime is (the emitted code imports it by path).
 */
function hashProject(projectDir: string, tsconfig: string): string {
  const hash = createHash("sha256");
  hash.update(aktsVersion()).update(RUNTIME_DIR).update(fs.readFileSync(tsconfig));
  for (const file of sourceFiles(projectDir)) hash.update(path.relative(projectDir, file)).update("\0").update(fs.readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

export function compileProject(projectDir: string): CompiledProject {
  const tsconfig = path.join(projectDir, "tsconfig.json");
  if (!fs.existsSync(tsconfig)) throw new AktsError("AKTS9004", `tsconfig not found: ${tsconfig}`, { location: { file: tsconfig } });
  const codeHash = hashProject(projectDir, tsconfig);
  const dir = path.join(projectDir, ".akts", "cache", codeHash);
  const outputFor = (sourceFile: string) => path.join(dir, jsName(sourceFile));
  if (!fs.existsSync(path.join(dir, ".complete"))) emitInto(projectDir, tsconfig, dir);
  return { dir, codeHash, outputFor };
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

/** Compiles the project into `dir`, atomically: a staging folder renamed into place when complete. */
function emitInto(projectDir: string, tsconfig: string, dir: string): void {
  const tsx = loadTypeScript("compiling the project's TypeScript sources");
  const { loadProject, emitProject, diagnosticLocation } = require("./project") as typeof import("./project");
  const project = loadProject(tsx, tsconfig, { outDir: dir, rootDir: projectDir, noEmit: false, noEmitOnError: false, declaration: false, sourceMap: true, inlineSources: true });
  const syntax = project.program.getSourceFiles().flatMap((sf) => (sf.fileName.includes("/node_modules/") ? [] : project.program.getSyntacticDiagnostics(sf)));
  if (syntax.length > 0) {
    const d = syntax[0];
    throw new AktsError("AKTS9003", tsx.flattenDiagnosticMessageText(d.messageText, " "), { location: diagnosticLocation(tsx, d) });
  }
  refuseErrorFindings(tsx, project);
  const staging = `${dir}.${process.pid}.tmp`;
  fs.rmSync(staging, { recursive: true, force: true });
  const { files } = emitProject(tsx, project, {
    overrides: { runtime: path.join(RUNTIME_DIR, "stub.js"), aktsModule: path.join(RUNTIME_DIR, "index.js") },
  });
  for (const [file, text] of files) {
    const target = path.join(staging, path.relative(dir, file));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
  }
  const pkg = path.join(projectDir, "package.json");
  const type = fs.existsSync(pkg) ? (JSON.parse(fs.readFileSync(pkg, "utf8")) as { type?: string }).type : undefined;
  fs.writeFileSync(path.join(staging, "package.json"), JSON.stringify({ type: type ?? "commonjs" }));
  fs.writeFileSync(path.join(staging, ".complete"), "");
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  try {
    fs.renameSync(staging, dir);
  } catch (err) {
    // Another runner finished the same compile first: theirs is identical.
    if (!fs.existsSync(path.join(dir, ".complete"))) throw err;
    fs.rmSync(staging, { recursive: true, force: true });
  }
}
