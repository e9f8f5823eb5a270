/** What every analysis pass over one source file gets, and how it makes a located finding. */
import type * as ts from "typescript";
import { CODES, type Code } from "../errors/codes";
import type { ActivityCall } from "./activities";
import type { ResolveContext } from "./resolve";
import type { Diagnostic } from "./types";

export interface PassContext extends ResolveContext {
  readonly sf: ts.SourceFile;
  /** `sf`'s path relative to the project folder. */
  readonly file: string;
  /** The file's activity sites (findActivities). */
  readonly sites: readonly ActivityCall[];
}

/** 1-based line and column of a node's first token. */
export function positionOf(p: PassContext, node: ts.Node): { file: string; line: number; column: number } {
  const { line, character } = p.sf.getLineAndCharacterOfPosition(node.getStart(p.sf));
  return { file: p.file, line: line + 1, column: character + 1 };
}

export function diagnostic(p: PassContext, node: ts.Node, code: Code, message: string, hint?: string): Diagnostic {
  return { code, severity: CODES[code].severity, ...positionOf(p, node), message, ...(hint ? { hint } : {}) };
}
