/**
 * The classes workflow code tests errors against with `instanceof`. A replayed error is rebuilt from the journal,
 * so the rewrite registers these classes with the runtime (`__akts.errorClasses(() => [A, ns.B])` at the end of the
 * module) and a restored error gets its class back (runtime/error-class.ts). Only references rooted at a
 * module-level name qualify: at the end of the module they are all initialized.
 */
import type * as ts from "typescript";
import type { ResolveContext } from "./context";
import { forEachWorkflowNode } from "./workflow";
import { isModuleLevelBinding } from "../rules/site";

/** `A`, `ns.B`: the class reference of an `instanceof`, with its root name; else undefined. */
function classReference(t: typeof ts, e: ts.Expression): ts.Identifier | undefined {
  while (t.isPropertyAccessExpression(e)) e = e.expression;
  return t.isIdentifier(e) ? e : undefined;
}

/** ../rules/site.ts `isModuleLevelBinding`, for a declaration of this file. */
function isModuleLevel(t: typeof ts, decl: ts.Declaration, sf: ts.SourceFile): boolean {
  if (decl.getSourceFile() !== sf) return false;
  if (t.isImportSpecifier(decl) || t.isImportClause(decl) || t.isNamespaceImport(decl) || t.isImportEqualsDeclaration(decl)) return isModuleLevelBinding("import", true);
  if (t.isVariableDeclaration(decl)) return isModuleLevelBinding("variable", decl.parent.parent.parent === sf);
  if (t.isClassDeclaration(decl) || t.isFunctionDeclaration(decl)) return isModuleLevelBinding(t.isClassDeclaration(decl) ? "class" : "function", decl.parent === sf);
  return isModuleLevelBinding("other", false);
}

/** The class references to register, one per distinct text, in source order. */
export function instanceofClasses(c: ResolveContext, sf: ts.SourceFile): ts.Expression[] {
  const t = c.ts;
  const found = new Map<string, ts.Expression>();
  forEachWorkflowNode(c, sf, (node) => {
    if (!t.isBinaryExpression(node) || node.operatorToken.kind !== t.SyntaxKind.InstanceOfKeyword) return;
    const root = classReference(t, node.right);
    const decl = root && c.checker.getSymbolAtLocation(root)?.declarations?.[0];
    if (decl && isModuleLevel(t, decl, sf)) {
      const text = node.right.getText(sf);
      if (!found.has(text)) found.set(text, node.right);
    }
  });
  return [...found.values()];
}
