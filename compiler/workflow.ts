/**
 * Workflow code: function bodies that are not marked activities (or opted out), and instance field initializers
 * (they run in the constructor). Module-level code (static fields of a module-level class included) runs at import
 * and is not workflow code. Every pass walks the same code through this one walker.
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
    // An instance field's initializer runs in the constructor; its name and decorators run with the class.
    if (!inFunction && t.isPropertyDeclaration(node) && node.initializer && !node.modifiers?.some((m) => m.kind === t.SyntaxKind.StaticKeyword)) {
      walk(node.initializer, true);
      return;
    }
    if (inFunction && visit(node) === false) return;
    t.forEachChild(node, (child) => walk(child, inFunction));
  };
  walk(sf, false);
}
