/**
 * The Babel front end: the rules of ../rules/ applied without types, for JavaScript handlers and
 * bundlers. One parse, one walk over the raw tree (no @babel/traverse: its paths cost several parses), one generate.
 */
import { parse, type ParserPlugin } from "@babel/parser";
import generateModule from "@babel/generator";
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { AktsError } from "../../errors";
import { isProjectFile, relativeFile } from "../project-files";
import type { AktsCompilerOptions, Diagnostic, SiteInfo } from "../types";
import { analyzeProgram } from "./activities";
import { rewriteProgram } from "./rewrite";

// A CommonJS package with a `default` export.
const generate = ((generateModule as unknown as { default?: typeof generateModule }).default ?? generateModule) as typeof generateModule;

export interface BabelResult {
  readonly code: string;
  readonly map?: object;
  readonly sites: SiteInfo[];
  readonly diagnostics: Diagnostic[];
}

export interface BabelOptions extends AktsCompilerOptions {
  readonly projectDir: string;
  readonly sourceMaps?: boolean;
}

function parserPlugins(filename: string): ParserPlugin[] {
  const plugins: ParserPlugin[] = ["decorators", "explicitResourceManagement"];
  if (/\.[cm]?tsx?$/.test(filename)) plugins.push("typescript");
  if (/\.[jt]sx$/.test(filename)) plugins.push("jsx");
  return plugins;
}

/**
 * Does the rewrite load the stub with `import` (else `require`)? By the file's extension where it says, else by
 * whether the file has import or export declarations, as Node and Babel's "unambiguous" decide.
 */
function isModule(program: T.Program, filename: string): boolean {
  if (/\.m[jt]s$/.test(filename)) return true;
  if (/\.c[jt]s$/.test(filename)) return false;
  return program.body.some((s) => t.isImportDeclaration(s) || t.isExportDeclaration(s));
}

/**
 * Finds and rewrites, in place, the activity sites of a parsed program (shared by transformBabel and the Babel
 * plugin). `code` is the source the program was parsed from.
 */
export function transformProgram(program: T.Program, code: string, filename: string, opts: BabelOptions): { sites: SiteInfo[]; diagnostics: Diagnostic[] } {
  // A bundler also hands us packages: only the project's own modules are user code.
  if (!isProjectFile(filename, opts.projectDir)) return { sites: [], diagnostics: [] };
  const file = relativeFile(filename, opts.projectDir);
  const analysis = analyzeProgram(program, code, file, opts);
  rewriteProgram(program, analysis, opts, isModule(program, filename));
  return { sites: analysis.sites.map((s) => s.info), diagnostics: analysis.diagnostics };
}

function parseSource(code: string, filename: string, projectDir: string): T.File {
  try {
    return parse(code, { sourceType: "unambiguous", sourceFilename: filename, plugins: parserPlugins(filename) });
  } catch (err) {
    const { loc, reasonCode } = err as { loc?: { line: number; column: number }; reasonCode?: string };
    if (!loc || reasonCode === undefined) throw err;
    const message = (err as Error).message.replace(/ \(\d+:\d+\)$/, "");
    throw new AktsError("AKTS9005", message, { location: { file: relativeFile(filename, projectDir), line: loc.line, column: loc.column + 1 } });
  }
}

export function transformBabel(code: string, filename: string, opts: BabelOptions): BabelResult {
  const ast = parseSource(code, filename, opts.projectDir);
  const result = transformProgram(ast.program, code, filename, opts);
  const out = generate(ast, { sourceMaps: opts.sourceMaps ?? false, sourceFileName: filename }, code);
  return { code: out.code, map: out.map ?? undefined, ...result };
}
