/**
 * Rule 4, without types: what a callee's root identifier is bound to, read from Babel's scope bindings.
 * The answer is the same CalleeOrigin the TypeScript front end gives, so rules.ts decides for both.
 */
import type { NodePath, Scope } from "@babel/traverse";
import * as t from "@babel/types";
import { AKTS_MODULES, EXTERNAL_GLOBALS, isBareSpecifier, normalizeModule, type CalleeOrigin } from "../rules";

export interface Imported {
  readonly module: string;
  /** The export taken (`default`, a name), undefined for a namespace or a whole `require()`. */
  readonly imported: string | undefined;
}

/** `a.b.c` → root `a`, members ["b", "c"]; undefined when the chain does not start at an identifier. */
export function rootAndMembers(e: t.Node): { root: t.Identifier; members: string[] } | undefined {
  const members: string[] = [];
  for (;;) {
    if (t.isIdentifier(e)) return { root: e, members };
    if ((t.isMemberExpression(e) || t.isOptionalMemberExpression(e)) && !e.computed && t.isIdentifier(e.property)) {
      members.unshift(e.property.name);
      e = e.object;
    } else if (t.isMemberExpression(e) || t.isOptionalMemberExpression(e)) {
      e = e.object;
    } else if (t.isCallExpression(e) || t.isOptionalCallExpression(e) || t.isNewExpression(e)) {
      e = e.callee;
    } else if (t.isAwaitExpression(e) || t.isTSNonNullExpression(e) || t.isParenthesizedExpression(e)) {
      e = unwrap(e);
    } else {
      return undefined;
    }
  }
}

/** The expression inside `await x`, `(x)`, `x!`, `x as T`. */
export function unwrap(e: t.Node): t.Node {
  for (;;) {
    if (t.isAwaitExpression(e)) e = e.argument;
    else if (t.isParenthesizedExpression(e) || t.isTSNonNullExpression(e) || t.isTSAsExpression(e)) e = e.expression;
    else return e;
  }
}

function requireOf(e: t.Node | null | undefined): string | undefined {
  if (e) e = unwrap(e);
  if (!t.isCallExpression(e) || e.arguments.length !== 1 || !t.isStringLiteral(e.arguments[0])) return undefined;
  if (t.isImport(e.callee) || (t.isIdentifier(e.callee) && e.callee.name === "require")) return e.arguments[0].value;
  return undefined;
}

/** The import (or `require`) an identifier is bound to, directly. */
export function importOf(scope: Scope, name: string): Imported | undefined {
  const binding = scope.getBinding(name);
  if (!binding) return undefined;
  const p = binding.path;
  if (p.isImportSpecifier()) {
    const imported = t.isIdentifier(p.node.imported) ? p.node.imported.name : p.node.imported.value;
    return { module: (p.parent as t.ImportDeclaration).source.value, imported };
  }
  if (p.isImportDefaultSpecifier()) return { module: (p.parent as t.ImportDeclaration).source.value, imported: "default" };
  if (p.isImportNamespaceSpecifier()) return { module: (p.parent as t.ImportDeclaration).source.value, imported: undefined };
  if (p.isVariableDeclarator()) {
    const spec = requireOf(p.node.init);
    if (spec === undefined) return undefined;
    if (t.isIdentifier(p.node.id)) return { module: spec, imported: undefined };
    if (t.isObjectPattern(p.node.id)) {
      for (const prop of p.node.id.properties) {
        if (t.isObjectProperty(prop) && t.isIdentifier(prop.value) && prop.value.name === name && t.isIdentifier(prop.key)) return { module: spec, imported: prop.key.name };
      }
    }
  }
  return undefined;
}

/** Where the function a callee names comes from: an import, a client made from one, a global, or the project. */
export function calleeOrigin(path: NodePath, callee: t.Node): CalleeOrigin {
  // A method of a call's result (`execFileSync(...).trim()`) needs the result's type: not decided here.
  if ((t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) && !t.isNewExpression(unwrap(callee.object)) && rootAndMembers(callee.object) && containsCall(callee.object)) return { kind: "lib" };
  const chain = rootAndMembers(callee);
  if (!chain) return { kind: "project" };
  let { root, members } = chain;
  const seen = new Set<string>();
  for (;;) {
    const binding = path.scope.getBinding(root.name);
    if (!binding) {
      if (members.length === 0 && EXTERNAL_GLOBALS.has(root.name)) return { kind: "global-external", name: root.name };
      return { kind: "lib" };
    }
    const imp = importOf(binding.scope, root.name);
    if (imp) {
      if (AKTS_MODULES.has(imp.module)) return { kind: "akts" };
      if (!isBareSpecifier(imp.module)) return { kind: "project" };
      const member = [imp.imported, ...members].filter((m): m is string => m !== undefined).join(".") || "default";
      return { kind: "module", module: normalizeModule(imp.module), member };
    }
    const decl = binding.path;
    if (!decl.isVariableDeclarator() || seen.has(root.name)) return { kind: "project" };
    seen.add(root.name);
    const init = decl.node.init && unwrap(decl.node.init);
    // `const { rows } = await pool.query(...)`: a part of a call's result is data, not a client.
    if (!t.isIdentifier(decl.node.id) && (t.isCallExpression(init) || t.isOptionalCallExpression(init))) return { kind: "project" };
    // `const { chat } = slack`: the member taken continues the chain.
    if (t.isObjectPattern(decl.node.id)) {
      const prop = decl.node.id.properties.find((p) => t.isObjectProperty(p) && t.isIdentifier(p.value) && p.value.name === root.name) as t.ObjectProperty | undefined;
      if (prop && t.isIdentifier(prop.key)) members = [prop.key.name, ...members];
    }
    const next = init && (t.isNewExpression(init) || t.isCallExpression(init) || t.isIdentifier(init) || t.isMemberExpression(init)) ? rootAndMembers(init) : undefined;
    if (!next) return { kind: "project" };
    // A client made by `new X()` or a factory from a package: its methods are reached through the instance.
    // Anything else made by a call (a fetch Response, a project object) is data or project code here.
    if (t.isNewExpression(init) || t.isCallExpression(init)) {
      const origin = calleeOrigin(decl, init.callee);
      return origin.kind === "module" ? { kind: "module", module: origin.module, member: [origin.member, ...members].join(".") } : { kind: origin.kind === "lib" || origin.kind === "global-external" ? "lib" : "project" };
    }
    root = next.root;
    members = [...next.members, ...members];
  }
}

function containsCall(e: t.Node): boolean {
  for (let n: t.Node = unwrap(e); ; ) {
    if (t.isCallExpression(n) || t.isOptionalCallExpression(n)) return true;
    if (t.isMemberExpression(n) || t.isOptionalMemberExpression(n)) n = unwrap(n.object);
    else return false;
  }
}
