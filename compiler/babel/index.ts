/**
 * The Babel front end: the rule table of ../rules.ts applied without types, for JavaScript handlers and
 * bundlers. One parse, one traverse, one generate.
 */
import { parse, type ParserPlugin } from "@babel/parser";
import traverseModule, { type NodePath } from "@babel/traverse";
import generateModule from "@babel/generator";
import type * as t from "@babel/types";
import { AktsError } from "../../errors";
import { relativeFile } from "../activities";
import type { AktsCompilerOptions, Diagnostic, SiteInfo } from "../types";
import { analyzeProgram } from "./activities";
import { rewriteProgram } from "./rewrite";

// Both packages are CommonJS with a `default` export.
const traverse = ((traverseModule as unknown as { default?: typeof traverseModule }).default ?? traverseModule) as typeof traverseModule;
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
  const plugins: ParserPlugin[] = [["decorators", { decoratorsBeforeExport: true }], "explicitResourceManagement"];
  if (/\.[cm]?tsx?$/.test(filename)) plugins.push("typescript");
  if (/\.[jt]sx$/.test(filename)) plugins.push("jsx");
  return plugins;
}

/** Finds and rewrites the activity sites of a Program path (shared by transformBabel and the Babel plugin). */
export function transformProgram(program: NodePath<t.Program>, code: string, filename: string, opts: BabelOptions): { sites: SiteInfo[]; diagnostics: Diagnostic[] } {
  const file = relativeFile(filename, opts.projectDir);
  // Only the project's own modules are user code (as on the TypeScript path); a bundler also hands us packages.
  const userCode = file !== filename.replace(/\\/g, "/") && !file.includes("node_modules/");
  const { sites, diagnostics } = userCode ? analyzeProgram(program, code, file, opts) : { sites: [], diagnostics: [] };
  rewriteProgram(program, sites, opts);
  return { sites: sites.map((s) => s.info), diagnostics };
}

function parseSource(code: string, filename: string, projectDir: string): t.File {
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
  let result: { sites: SiteInfo[]; diagnostics: Diagnostic[] } = { sites: [], diagnostics: [] };
  // The Program visitor stops at once: the one full traversal is analyzeProgram's.
  traverse(ast, {
    Program(path) {
      result = transformProgram(path, code, filename, opts);
      path.stop();
    },
  });
  const out = generate(ast, { sourceMaps: opts.sourceMaps ?? false, sourceFileName: filename }, code);
  return { code: out.code, map: out.map ?? undefined, ...result };
}
