/** One file or a whole program in, sites and diagnostics out: what `akts check` and the editor report. */
import type * as ts from "typescript";
import { findActivities, type FindOptions } from "./activities";
import { relativeFile } from "../project-files";
import { determinismNodes, determinismPass } from "./determinism";
import type { PassContext } from "./pass";
import { serializationPass } from "./serialization";
import { callbackPass } from "./callbacks";
import type { AnalysisResult, Diagnostic, SiteInfo } from "../types";

type Positioned = { readonly file: string; readonly line: number; readonly column: number };

/** The order of every list akts reports: file, line, column. */
export const byPosition = (a: Positioned, b: Positioned): number => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column);

export function analyzeFile(tsx: typeof ts, program: ts.Program, sf: ts.SourceFile, opts: FindOptions): AnalysisResult {
  const checker = program.getTypeChecker();
  const checked = determinismNodes(tsx);
  const sites = findActivities(tsx, checker, sf, opts, program, checked.visit);
  const p: PassContext = { ts: tsx, checker, program, sf, file: relativeFile(sf.fileName, opts.projectDir), sites };
  const diagnostics = [...determinismPass(p, checked.nodes), ...callbackPass(p), ...serializationPass(p)];
  return { sites: sites.map((s) => s.info), diagnostics: diagnostics.sort(byPosition) };
}

export function analyzeProgram(tsx: typeof ts, program: ts.Program, opts: FindOptions): AnalysisResult {
  const sites: SiteInfo[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || program.isSourceFileFromExternalLibrary(sf)) continue;
    const file = relativeFile(sf.fileName, opts.projectDir);
    if (file === sf.fileName.replace(/\\/g, "/")) continue;
    const r = analyzeFile(tsx, program, sf, opts);
    sites.push(...r.sites);
    diagnostics.push(...r.diagnostics);
  }
  return { sites: sites.sort(byPosition), diagnostics: diagnostics.sort(byPosition) };
}
