/**
 * Workflow code: function bodies that are not marked activities (or opted out), and instance field initializers
 * (they run in the constructor). Module-level code (static fields of a module-level class included) runs at import
 * and is not workflow code. Every pass walks the same code through this one walker.
 */
import type * as ts from "typescript";
import { isTypeNodeKind } from "./bound-names";
import { functionKinds, functionMark, type FunctionLike } from "./marks";
import type { ResolveContext } from "./context";

/**
 * Calls `visit` for each node of workflow code; `visit` returns false to skip the node's children. Tokens
 * (identifiers, literals, keywords) are shown only with `leaves`: they are half the nodes of a file, and a search
 * for calls has no use for them.
 */
export function forEachWorkflowNode(c: ResolveContext, sf: ts.SourceFile, visit: (node: ts.Node) => boolean | void, leaves = false): void {
  const t = c.ts;
  const functions = functionKinds(t);
  const property = t.SyntaxKind.PropertyDeclaration;
  // At module level only functions and fields are looked for: imports, exports from other modules, interfaces and
  // type aliases hold none (a function inside a type is a compile error, and is not emitted).
  const k = t.SyntaxKind;
  const noCode = new Set([k.ImportDeclaration, k.ExportDeclaration, k.InterfaceDeclaration, k.TypeAliasDeclaration]);
  const isStatic = (m: ts.ModifierLike) => m.kind === t.SyntaxKind.StaticKeyword;
  // The walk reaches every node of the file: one callback per mode rather than a closure per node.
  const inWorkflow = (child: ts.Node): undefined => walk(child, true);
  const outside = (child: ts.Node): undefined => walk(child, false);
  const lastToken = k.LastToken;
  const walk = (node: ts.Node, inFunction: boolean): undefined => {
    // A token has no children.
    if (node.kind <= lastToken) {
      if (leaves && inFunction) visit(node);
      return;
    }
    if (isTypeNodeKind(t, node.kind)) return;
    if (functions.has(node.kind)) {
      if (!functionMark(c, node as FunctionLike)) t.forEachChild(node, inWorkflow);
      return;
    }
    if (!inFunction && noCode.has(node.kind)) return;
    // An instance field's initializer runs in the constructor; its name and decorators run with the class.
    if (!inFunction && node.kind === property) {
      const field = node as ts.PropertyDeclaration;
      if (field.initializer && !field.modifiers?.some(isStatic)) {
        walk(field.initializer, true);
        return;
      }
    }
    if (inFunction && visit(node) === false) return;
    t.forEachChild(node, inFunction ? inWorkflow : outside);
  };
  walk(sf, false);
}
