/** What a statement of workflow code writes, read off its syntax: shared by the checks of module state and of callbacks. */
import type * as ts from "typescript";
import { skipOuter } from "./resolve";

/**
 * The accesses a write goes through, from its root variable: `x`, `x.a`, `x[k].b`, `(x as T).a` (not through calls:
 * `x.slice().sort()`); empty when it does not start at a name.
 */
export function accessPath(t: typeof ts, e: ts.Expression): ts.Expression[] {
  const path: ts.Expression[] = [];
  for (;;) {
    e = skipOuter(t, e);
    path.unshift(e);
    if (t.isIdentifier(e)) return path;
    if (!t.isPropertyAccessExpression(e) && !t.isElementAccessExpression(e)) return [];
    e = e.expression;
  }
}

function isAssignment(t: typeof ts, kind: ts.SyntaxKind): boolean {
  return kind >= t.SyntaxKind.FirstAssignment && kind <= t.SyntaxKind.LastAssignment;
}

/** The expression a node writes: `x = …`, `x += …`, `x++`, `--x`, `delete x.k`. */
export function writtenTarget(t: typeof ts, node: ts.Node): ts.Expression | undefined {
  if (t.isBinaryExpression(node) && isAssignment(t, node.operatorToken.kind)) return node.left;
  if ((t.isPrefixUnaryExpression(node) || t.isPostfixUnaryExpression(node)) && (node.operator === t.SyntaxKind.PlusPlusToken || node.operator === t.SyntaxKind.MinusMinusToken)) {
    return node.operand;
  }
  if (t.isDeleteExpression(node)) return node.expression;
  return undefined;
}
