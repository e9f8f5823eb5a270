/** What every analysis pass over one source file gets, and how it makes a located finding. */
import type * as ts from "typescript";
import type { ActivityCall } from "./activities";
import type { ResolveContext } from "./context";
import type { Diagnostic } from "../types";
import { finding, type FindingDefinition } from "../rules/findings";

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

/** A finding of `definition` (../rules/findings.ts) at a node. */
export function findingAt<A extends readonly unknown[]>(p: PassContext, node: ts.Node, definition: FindingDefinition<A>, ...args: A): Diagnostic {
  return finding(definition, positionOf(p, node), ...args);
}
