/**
 * Serialization findings (AKTS2001). The journal keeps a data projection of each activity result: a replay gets
 * back primitives, plain objects and arrays, and the codec's classes (rules.CODEC_CLASSES), but other class
 * instances come back as plain objects of their data properties, without methods. So a result is judged by how
 * the code uses it, not by its type:
 * - reading data from it (properties, destructuring, returning it, passing it on as data) is fine;
 * - calling a method of a class the codec does not restore on it (`c.query()` after `c = await pool.connect()`),
 *   or passing it to a parameter whose type has such methods, needs the live object: an error.
 * The result is followed from the site itself (`(await pool.connect()).query()`) and through the variables it is
 * bound to (`const x = await call()`, `const { a } = call()`, `x = await call()`), by symbol identity.
 * docs/determinism.md describes the rule with examples.
 */
import type * as ts from "typescript";
import { CODEC_CLASSES } from "../rules/tables";
import { codecMembers, isCodecClass, isDefaultLib } from "./resolve";
import type { ActivityCall } from "./activities";
import { compactText } from "../rules/label";
import { FINDINGS } from "../rules/findings";
import { findingAt, positionOf, type PassContext } from "./pass";
import { describeSiteLocation } from "../format";
import { anyWithin, wordPositions } from "./bound-names";
import type { Diagnostic } from "../types";

/** `(e)`, `e!`, `e as T`, `await e`: the same value, seen from outside. */
function isWrapper(t: typeof ts, node: ts.Node): node is ts.ParenthesizedExpression | ts.NonNullExpression | ts.AsExpression | ts.SatisfiesExpression | ts.AwaitExpression {
  return t.isParenthesizedExpression(node) || t.isNonNullExpression(node) || t.isAsExpression(node) || t.isSatisfiesExpression(node) || t.isAwaitExpression(node);
}

function outermost(t: typeof ts, e: ts.Expression): ts.Expression {
  while (e.parent && isWrapper(t, e.parent)) e = e.parent;
  return e;
}

/** The names a result is bound to: `const x = …`, `const { a, b: [c] } = …`, `x = …`. */
function boundNames(t: typeof ts, value: ts.Expression): ts.Identifier[] {
  const parent = value.parent;
  if (t.isVariableDeclaration(parent) && parent.initializer === value) return bindingNames(t, parent.name);
  if (t.isBinaryExpression(parent) && parent.right === value && parent.operatorToken.kind === t.SyntaxKind.EqualsToken && t.isIdentifier(parent.left)) return [parent.left];
  return [];
}

function bindingNames(t: typeof ts, name: ts.BindingName): ts.Identifier[] {
  if (t.isIdentifier(name)) return [name];
  return name.elements.flatMap((e) => (t.isBindingElement(e) ? bindingNames(t, e.name) : []));
}

/**
 * Could a value of this type lose behaviour in the journal? Not for any/unknown (the runtime reports what it
 * drops), primitives, arrays, tuples, type parameters, or the codec's classes.
 */
function isLiveObjectType(p: PassContext, type: ts.Type): boolean {
  const t = p.ts;
  if (type.isUnion() || type.isIntersection()) return type.types.some((x) => isLiveObjectType(p, x));
  if (!(type.flags & t.TypeFlags.Object)) return false;
  if (p.checker.isArrayType(type) || p.checker.isTupleType(type)) return false;
  return ![type.getSymbol(), type.aliasSymbol].some((s) => s !== undefined && isCodecClass(p, s));
}

/**
 * Declared by TypeScript's lib (Object.prototype, Promise...) or by a global class the codec restores (Buffer,
 * URL...), by declaration: a package's own class of the same name is not one.
 */
function isRestoredMember(p: PassContext, decl: ts.Declaration): boolean {
  return isDefaultLib(p, decl.getSourceFile()) || codecMembers(p, CODEC_CLASSES).has(decl);
}

/** A member a projected value no longer has: callable, and not from the lib or a codec class. */
function isLostMethod(p: PassContext, member: ts.Symbol, type: ts.Type): boolean {
  const decls = member.declarations ?? [];
  return decls.length > 0 && !decls.every((d) => isRestoredMember(p, d)) && p.checker.getNonNullableType(type).getCallSignatures().length > 0;
}

/** The type of the parameter that argument `index` of a call goes to (the element type for a rest parameter). */
function parameterType(p: PassContext, call: ts.CallExpression | ts.NewExpression, index: number): ts.Type | undefined {
  const signature = p.checker.getResolvedSignature(call);
  const params = signature?.getParameters() ?? [];
  const last = params[params.length - 1];
  const isRest = last?.valueDeclaration !== undefined && p.ts.isParameter(last.valueDeclaration) && last.valueDeclaration.dotDotDotToken !== undefined;
  if (index < params.length - (isRest ? 1 : 0)) return p.checker.getTypeOfSymbol(params[index]);
  if (!isRest) return undefined;
  const rest = p.checker.getTypeOfSymbol(last);
  return p.checker.isArrayType(rest) ? p.checker.getTypeArguments(rest as ts.TypeReference)[0] : undefined;
}

/** Does a parameter of this type call methods the projection drops? */
function needsLiveObject(p: PassContext, type: ts.Type, at: ts.Node): boolean {
  if (!isLiveObjectType(p, type)) return false;
  return p.checker.getPropertiesOfType(p.checker.getNonNullableType(type)).some((m) => isLostMethod(p, m, p.checker.getTypeOfSymbolAtLocation(m, at)));
}

/** A Node or web stream: what the stub does not iterate step by step (runtime/iteration.ts isIterableResult). */
function isStream(p: PassContext, type: ts.Type): boolean {
  const live = p.checker.getNonNullableType(type);
  return ["pipe", "pipeTo", "getReader"].some((name) => live.getProperty(name) !== undefined);
}

/**
 * Reports the first place `value` (a site's result, or a variable holding it) is used as a live object. `getters`
 * are the awaited Promise-typed properties that are sites (`await issue.assignee`): their getter needs the live
 * object, which a resumed session does not have when the object is an earlier activity's result.
 */
function checkUse(p: PassContext, value: ts.Expression, site: ActivityCall, getters: ReadonlySet<ts.Node>, out: Diagnostic[]): void {
  const t = p.ts;
  const report = (node: ts.Node, what: string, type: ts.Type) => {
    const where = describeSiteLocation(positionOf(p, node));
    out.push(findingAt(p, node, FINDINGS.liveObject, what, where, p.checker.typeToString(p.checker.getNonNullableType(type)), site.info.callee, describeSiteLocation(site.info)));
  };
  let e = outermost(t, value);
  const parent = e.parent;
  // Iterated results are journaled step by step (runtime/iteration.ts), but for a stream.
  if (t.isForOfStatement(parent) && parent.awaitModifier && parent.expression === e) {
    if (isStream(p, p.checker.getTypeAtLocation(e))) out.push(findingAt(p, e, FINDINGS.iteratedStream, site.info.callee, describeSiteLocation(site.info)));
    return;
  }
  if ((t.isCallExpression(parent) || t.isNewExpression(parent)) && parent.arguments?.includes(e)) {
    const index = parent.arguments.indexOf(e);
    const param = parameterType(p, parent, index);
    const type = p.checker.getTypeAtLocation(e);
    if (param && isLiveObjectType(p, type) && needsLiveObject(p, param, parent)) {
      report(e, `${compactText(e.getText(p.sf))} passed to ${compactText(parent.expression.getText(p.sf))}`, type);
    }
    return;
  }
  // Through property reads and indexing down to the first call: after it, the value is no longer the result.
  for (;;) {
    const access = e.parent;
    if (!(t.isPropertyAccessExpression(access) || t.isElementAccessExpression(access)) || access.expression !== e) return;
    if (getters.has(access)) {
      const receiver = p.checker.getTypeAtLocation(e);
      if (isLiveObjectType(p, receiver)) report(access, compactText(access.getText(p.sf)), receiver);
      return;
    }
    const call = outermost(t, access).parent;
    if (t.isCallExpression(call) && call.expression === outermost(t, access)) {
      const member = t.isPropertyAccessExpression(access) ? p.checker.getSymbolAtLocation(access.name) : undefined;
      const receiver = p.checker.getTypeAtLocation(e);
      if (member && isLiveObjectType(p, receiver) && isLostMethod(p, member, p.checker.getTypeAtLocation(access))) {
        report(call, compactText(call.expression.getText(p.sf)), receiver);
      }
      return;
    }
    e = outermost(t, access);
  }
}

export function serializationPass(p: PassContext): Diagnostic[] {
  const t = p.ts;
  const out: Diagnostic[] = [];
  const bound = new Map<ts.Symbol, ActivityCall>();
  const declarations = new Set<ts.Node>();
  const getters = new Set<ts.Node>(p.sites.filter((s) => t.isPropertyAccessExpression(s.node)).map((s) => s.node));
  for (const site of p.sites) {
    if (site.info.reason === "nondeterministic") continue;
    const value = outermost(t, site.node);
    checkUse(p, value, site, getters, out);
    for (const id of boundNames(t, value)) {
      const sym = p.checker.getSymbolAtLocation(id);
      if (sym) bound.set(sym, site);
      declarations.add(id);
    }
  }
  if (bound.size === 0) return out;
  const names = new Set([...bound.keys()].map((s) => s.getName()));
  const words = wordPositions(p.sf.text, names);
  const visit = (node: ts.Node): void => {
    if (words && !anyWithin(words, node.pos, node.end)) return;
    if (t.isIdentifier(node) && names.has(node.text) && !declarations.has(node)) {
      const sym = p.checker.getSymbolAtLocation(node);
      const site = sym && bound.get(sym);
      if (site) checkUse(p, node, site, getters, out);
    }
    t.forEachChild(node, visit);
  };
  visit(p.sf);
  return out;
}
