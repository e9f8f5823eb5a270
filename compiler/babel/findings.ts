/**
 * The findings the Babel front end can make without types (those of ../rules/findings.ts whose `needsTypes` is
 * false), one node at a time. Codes and texts are the definitions', as on the TypeScript path.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { COLLECTION_MUTATORS, TIMER_GLOBALS, TIMER_MODULES } from "../rules/tables";
import type { CalleeOrigin } from "../rules/origin";
import { FINDINGS, finding, type FindingDefinition } from "../rules/findings";
import type { Diagnostic, SiteInfo } from "../types";
import { calleeOrigin, memberName, skipTypeWrappers } from "./bindings";
import type { Scope } from "./scope";

function at<A extends readonly unknown[]>(file: string, node: T.Node, definition: FindingDefinition<A>, ...args: A): Diagnostic {
  const { line, column } = node.loc!.start;
  return finding(definition, { file, line, column: column + 1 }, ...args);
}

/** AKTS1001: a nondeterministic builtin, reported where its site is. */
export function nondeterministicFinding(node: T.Node, site: SiteInfo): Diagnostic {
  return at(site.file, node, FINDINGS.nondeterministic, site.callee);
}

/** AKTS1002: `setTimeout` and friends (unbound globals) or anything imported from `timers`/`timers/promises`. */
export function timerFinding(node: T.CallExpression | T.OptionalCallExpression, origin: CalleeOrigin, file: string): Diagnostic | undefined {
  if (origin.kind === "module") return TIMER_MODULES.has(origin.module) ? at(file, node, FINDINGS.timer, `${origin.module}:${origin.member}`) : undefined;
  if (origin.kind !== "lib" || !t.isIdentifier(node.callee) || !TIMER_GLOBALS.has(node.callee.name)) return undefined;
  return at(file, node, FINDINGS.timer, node.callee.name);
}

/**
 * AKTS1008: a function handed to an external call that writes a variable declared outside it (`x = …`, `x.a++`,
 * `delete x.k`, `x.push(…)`): reported on the function, as on the TypeScript path.
 */
export function callbackWriteFinding(call: T.CallExpression | T.OptionalCallExpression, scope: Scope, site: SiteInfo): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const arg of call.arguments) {
    if (!t.isArrowFunctionExpression(arg) && !t.isFunctionExpression(arg)) continue;
    const name = firstOuterWrite(arg, scope);
    if (name) out.push(at(site.file, arg, FINDINGS.callbackWrite, site.callee, name));
  }
  return out;
}

/** The name of the first variable `fn` writes that is bound outside it (a variable or parameter of `scope`). */
function firstOuterWrite(fn: T.Function, scope: Scope): string | undefined {
  const own = new Set<string>();
  const written: string[] = [];
  const visit = (n: T.Node): void => {
    if (t.isVariableDeclarator(n)) bindNames(n.id, own);
    if (t.isFunction(n)) for (const p of n.params) bindNames(p, own);
    if ((t.isFunctionDeclaration(n) || t.isClassDeclaration(n)) && n.id) own.add(n.id.name);
    const target = writeTarget(n);
    if (target) written.push(target);
    for (const key of t.VISITOR_KEYS[n.type] ?? []) {
      const child = (n as unknown as Record<string, unknown>)[key];
      for (const c of Array.isArray(child) ? child : [child]) if (c && typeof (c as T.Node).type === "string") visit(c as T.Node);
    }
  };
  for (const p of fn.params) bindNames(p, own);
  visit(fn.body);
  return written.find((name) => {
    const b = own.has(name) ? undefined : scope.lookup(name);
    return b?.kind === "variable" || b?.kind === "local";
  });
}

function bindNames(pattern: T.Node, to: Set<string>): void {
  if (t.isIdentifier(pattern)) to.add(pattern.name);
  else if (t.isObjectPattern(pattern)) for (const p of pattern.properties) bindNames(t.isRestElement(p) ? p.argument : p.value, to);
  else if (t.isArrayPattern(pattern)) for (const e of pattern.elements) e && bindNames(e, to);
  else if (t.isAssignmentPattern(pattern)) bindNames(pattern.left, to);
  else if (t.isRestElement(pattern)) bindNames(pattern.argument, to);
}

/** The root name a node writes through: `x = …`, `x.a += …`, `x++`, `delete x.k`, `x.push(…)`. */
function writeTarget(n: T.Node): string | undefined {
  let target: T.Node | undefined;
  if (t.isAssignmentExpression(n)) target = n.left;
  else if (t.isUpdateExpression(n)) target = n.argument;
  else if (t.isUnaryExpression(n) && n.operator === "delete") target = n.argument;
  else if (t.isCallExpression(n) && t.isMemberExpression(n.callee) && COLLECTION_MUTATORS.has(memberName(n.callee) ?? "")) target = n.callee.object;
  for (let e = target && skipTypeWrappers(target); e; e = skipTypeWrappers((e as T.MemberExpression).object)) {
    if (t.isIdentifier(e)) return e.name;
    if (!t.isMemberExpression(e)) return undefined;
  }
  return undefined;
}

/** AKTS1005: `process.env` read through the global `process` (or one imported from `process`). */
export function processEnvFinding(node: T.MemberExpression, scope: Scope, file: string): Diagnostic | undefined {
  const origin = calleeOrigin(scope, node);
  if (origin.kind !== "lib" && !(origin.kind === "module" && origin.module === "process")) return undefined;
  return at(file, node, FINDINGS.processEnv);
}
