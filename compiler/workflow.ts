/**
 * Workflow code: function bodies that are not marked activities (or opted out). Module-level code runs at
 * import and is not workflow code. Every pass walks the same code through this one walker.
 */
import type * as ts from "typescript";
import { functionMark, isFunctionLike } from "./marks";
import type { ResolveContext } from "./resolve";

/** Calls `visit` for each node of workflow code; `visit` returns false to skip the node's children. */
export function forEachWorkflowNode(c: ResolveContext, sf: ts.SourceFile, visit: (node: ts.Node) => boolean | void): void {
  const t = c.ts;
  const walk = (node: ts.Node, inFunction: boolean): void => {
    if (isFunctionLike(t, node)) {
      if (functionMark(c, node)) return;
      t.forEachChild(node, (child) => walk(child, true));
      return;
    }
    if (inFunction && visit(node) === false) return;
    t.forEachChild(node, (child) => walk(child, inFunction));
  };
  walk(sf, false);
}
