/**
 * The Babel front end: the rule table of ../rules.ts applied without types (rule 4), for JavaScript handlers and
 * bundlers. One parse, one traverse, one generate.
 */
import { parse, type ParserPlugin } from "@babel/parser";
import traverseModule, { type NodePath } from "@babel/traverse";
import generateModule from "@babel/generator";
import type * as t from "@babel/types";
import { relativeFile } from "../activities";
import type { AktsCompilerOptions, Diagnostic, SiteInfo } from "../types";
import { findSites } from "./activities";
import { syntacticFindings } from "./findings";
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
  const sites = findSites(program, code, file, opts);
  const diagnostics = syntacticFindings(program, file, sites);
  rewriteProgram(program, sites, opts);
  return { sites: sites.map((s) => s.info), diagnostics };
}

export function transformBabel(code: string, filename: string, opts: BabelOptions): BabelResult {
  const ast = parse(code, { sourceType: "unambiguous", sourceFilename: filename, plugins: parserPlugins(filename), errorRecovery: false });
  let result: { sites: SiteInfo[]; diagnostics: Diagnostic[] } = { sites: [], diagnostics: [] };
  traverse(ast, {
    Program(path) {
      result = transformProgram(path, code, filename, opts);
      path.stop();
    },
  });
  const out = generate(ast, { sourceMaps: opts.sourceMaps ?? false, sourceFileName: filename }, code);
  return { code: out.code, map: out.map ?? undefined, ...result };
}
