/**
 * AKTS1008: a function handed to an external call (`autoPagingEach((c) => ids.push(c.id))`, the map function of
 * `octokit.paginate`) runs inside that one activity. A replay answers the call from the journal without running
 * the callback, so what it wrote outside itself is silently left as it was: reported, with the fix.
 */
import type * as ts from "typescript";
import { COLLECTION_MUTATORS } from "../rules/tables";
import { FINDINGS } from "../rules/findings";
import { findingAt, type PassContext } from "./pass";
import { accessPath, writtenTarget } from "./writes";
import type { Diagnostic } from "../types";

/** The variable a node of the callback writes (`x = …`, `x.a++`, `x.push(…)`), when it is declared outside `fn`. */
function outerWrite(p: PassContext, node: ts.Node, fn: ts.Node): ts.Identifier | undefined {
  const t = p.ts;
  const mutated = t.isCallExpression(node) && t.isPropertyAccessExpression(node.expression) && COLLECTION_MUTATORS.has(node.expression.name.text) ? node.expression.expression : undefined;
  const target = mutated ?? writtenTarget(t, node);
  const root = target && accessPath(t, target)[0];
  if (!root || !t.isIdentifier(root)) return undefined;
  const decl = p.checker.getSymbolAtLocation(root)?.valueDeclaration;
  if (!decl || decl.getSourceFile() !== p.sf || (decl.pos >= fn.pos && decl.end <= fn.end)) return undefined;
  return t.isVariableDeclaration(decl) || t.isParameter(decl) || t.isBindingElement(decl) ? root : undefined;
}

/** The first outer write of a callback, looking into the functions it holds too. */
function firstOuterWrite(p: PassContext, fn: ts.Node): ts.Identifier | undefined {
  let found: ts.Identifier | undefined;
  const visit = (node: ts.Node): void => {
    if (found) return;
    found = outerWrite(p, node, fn);
    if (!found) p.ts.forEachChild(node, visit);
  };
  p.ts.forEachChild(fn, visit);
  return found;
}

export function callbackPass(p: PassContext): Diagnostic[] {
  const t = p.ts;
  const out: Diagnostic[] = [];
  for (const site of p.sites) {
    if (site.info.reason !== "external" && site.info.reason !== "fetch") continue;
    const calls = site.links.length > 0 ? site.links : t.isCallExpression(site.node) ? [site.node] : [];
    for (const call of calls) {
      for (const arg of call.arguments) {
        if (!t.isArrowFunction(arg) && !t.isFunctionExpression(arg)) continue;
        const written = firstOuterWrite(p, arg);
        if (written) out.push(findingAt(p, arg, FINDINGS.callbackWrite, site.info.callee, written.text));
      }
    }
  }
  return out;
}
