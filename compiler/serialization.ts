/**
 * Serialization findings (AKTS2001): the journal keeps a data projection of each activity result, so a result
 * that the code later uses as a live object (calls an I/O method on it: a pool client, a stream, a socket) does
 * not come back on replay. Judged by use, not by type: reading data from the result is fine.
 */
import type * as ts from "typescript";
import { diagnostic, type PassContext } from "./determinism";
import { describeSiteLocation } from "./format";
import type { Diagnostic } from "./types";

/** `const x = await call()`, `const x = call()`, `let x; x = await call()` → x. */
function boundVariable(t: typeof ts, node: ts.Node): ts.Identifier | undefined {
  let e: ts.Node = node;
  let parent = e.parent;
  while (parent && (t.isAwaitExpression(parent) || t.isParenthesizedExpression(parent) || t.isAsExpression(parent) || t.isNonNullExpression(parent))) {
    e = parent;
    parent = e.parent;
  }
  if (parent && t.isVariableDeclaration(parent) && parent.initializer === e && t.isIdentifier(parent.name)) return parent.name;
  if (parent && t.isBinaryExpression(parent) && parent.right === e && parent.operatorToken.kind === t.SyntaxKind.EqualsToken && t.isIdentifier(parent.left)) return parent.left;
  return undefined;
}

export function serializationPass(p: PassContext): Diagnostic[] {
  const t = p.ts;
  const out: Diagnostic[] = [];
  const bySymbol = new Map<ts.Symbol, { site: (typeof p.sites)[number]; id: ts.Identifier }>();
  for (const site of p.sites) {
    if (site.info.reason === "nondeterministic" || site.chain) continue;
    const id = boundVariable(t, site.node);
    const sym = id && p.checker.getSymbolAtLocation(id);
    if (sym) bySymbol.set(sym, { site, id });
  }
  if (bySymbol.size === 0) return out;
  for (const later of p.sites) {
    const callee = p.ts.isCallExpression(later.node) ? later.node.expression : undefined;
    if (!callee || !t.isPropertyAccessExpression(callee)) continue;
    let recv: ts.Expression = callee.expression;
    while (t.isParenthesizedExpression(recv) || t.isNonNullExpression(recv)) recv = recv.expression;
    if (!t.isIdentifier(recv)) continue;
    const sym = p.checker.getSymbolAtLocation(recv);
    const origin = sym && bySymbol.get(sym);
    if (!origin || origin.site === later) continue;
    const type = p.checker.getTypeAtLocation(origin.id);
    if (type.flags & (t.TypeFlags.Any | t.TypeFlags.Unknown)) continue;
    const typeName = p.checker.typeToString(type);
    out.push(
      diagnostic(
        p,
        later.node,
        "AKTS2001",
        `${later.info.callee} at ${describeSiteLocation(later.info)}: ${typeName} is not journaled (the result of ${origin.site.info.callee} at ${describeSiteLocation(origin.site.info)} is used as a live object)`,
        "group the work in an activity() function that returns data, or wrap the call that makes it in noActivity() so it runs again on replay",
      ),
    );
  }
  return out;
}
