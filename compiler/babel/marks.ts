/**
 * Explicit marking without types (see ../marks.ts): `activity(fn)` / `noActivity(fn)` imported from akts,
 * `@activity` on class methods, `/** @activity *\/` comments. A method is found through `this` in its own class or
 * through an instance of a class declared in the same file; anything else reached by a method needs types.
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { AKTS_MODULES, JSDOC_ACTIVITY, JSDOC_NO_ACTIVITY, MARK_ACTIVITY, MARK_NO_ACTIVITY } from "../rules";
import { importOf, rootAndMembers, unwrap } from "./bindings";

export type Mark = "activity" | "noActivity";

const JSDOC_TAG = new RegExp(`@(${JSDOC_NO_ACTIVITY}|${JSDOC_ACTIVITY})\\b`);

function commentMark(comments: readonly t.Comment[]): Mark | undefined {
  for (const c of comments) {
    if (c.type !== "CommentBlock" || !c.value.startsWith("*")) continue;
    const tag = JSDOC_TAG.exec(c.value)?.[1];
    if (tag) return tag === JSDOC_ACTIVITY ? "activity" : "noActivity";
  }
  return undefined;
}

/** `activity` / `noActivity` imported from akts (directly, renamed, or as `akts.activity`). */
function aktsMarker(path: NodePath, e: t.Node): Mark | undefined {
  const chain = rootAndMembers(e);
  if (!chain || chain.members.length > 1) return undefined;
  const imp = importOf(path.scope, chain.root.name);
  if (!imp || !AKTS_MODULES.has(imp.module)) return undefined;
  const name = chain.members[0] ?? imp.imported;
  return name === MARK_ACTIVITY ? "activity" : name === MARK_NO_ACTIVITY ? "noActivity" : undefined;
}

/** The doc comments of a declaration: its own and those of the statement it belongs to (`export const f = ...`). */
function commentsAround(path: NodePath): t.Comment[] {
  const out: t.Comment[] = [...(path.node.leadingComments ?? [])];
  for (let p: NodePath | null = path.parentPath; p && !p.isProgram() && !p.isBlockStatement(); p = p.parentPath) {
    out.push(...(p.node.leadingComments ?? []));
    if (p.isStatement()) break;
  }
  return out;
}

/** The mark of a function body's owner: its comment, its decorator, or the `activity(...)` call it is passed to. */
export function functionMark(path: NodePath<t.Function>): Mark | undefined {
  const own = commentMark(commentsAround(path));
  if (own) return own;
  if (path.isClassMethod() || path.isClassPrivateMethod()) {
    for (const d of path.node.decorators ?? []) {
      const m = aktsMarker(path, t.isCallExpression(d.expression) ? d.expression.callee : d.expression);
      if (m) return m;
    }
  }
  const parent = path.parentPath;
  if (parent?.isCallExpression() && parent.node.arguments[0] === path.node) return aktsMarker(parent, parent.node.callee);
  return undefined;
}

/** The class a binding declares (`class C {}`, `const C = class {}`). */
function declaredClass(path: NodePath, name: string): NodePath<t.Class> | undefined {
  const decl = path.scope.getBinding(name)?.path;
  if (decl?.isClassDeclaration()) return decl;
  if (decl?.isVariableDeclarator()) {
    const init = decl.get("init");
    if (!Array.isArray(init) && init.isClassExpression()) return init;
  }
  return undefined;
}

/** The class whose instance `receiver` is, when the file says so: `this`, `new C()`, `const x = new C()`. */
function receiverClass(path: NodePath, receiver: t.Node): { cls: NodePath<t.Class>; isStatic: boolean } | undefined {
  const e = unwrap(receiver);
  if (t.isThisExpression(e)) {
    const fn = path.findParent((p) => p.isFunction() && !p.isArrowFunctionExpression());
    if (!fn?.isClassMethod() && !fn?.isClassPrivateMethod()) return undefined;
    const cls = fn.parentPath.parentPath;
    return cls?.isClass() ? { cls, isStatic: fn.node.static } : undefined;
  }
  if (t.isNewExpression(e) && t.isIdentifier(e.callee)) {
    const cls = declaredClass(path, e.callee.name);
    return cls && { cls, isStatic: false };
  }
  if (t.isIdentifier(e)) {
    const decl = path.scope.getBinding(e.name)?.path;
    if (decl?.isVariableDeclarator() && t.isIdentifier(decl.node.id) && decl.node.init) return receiverClass(decl, decl.node.init);
  }
  return undefined;
}

function methodMark(path: NodePath, callee: t.MemberExpression | t.OptionalMemberExpression): Mark | undefined {
  if (callee.computed || !t.isIdentifier(callee.property)) return undefined;
  const owner = receiverClass(path, callee.object);
  if (!owner) return undefined;
  const name = callee.property.name;
  for (const member of owner.cls.get("body").get("body")) {
    if (member.isClassMethod() && member.node.kind === "method" && member.node.static === owner.isStatic && !member.node.computed && t.isIdentifier(member.node.key, { name })) {
      return functionMark(member);
    }
  }
  return undefined;
}

/** The mark of whatever a call invokes: a marked function, a variable holding `activity(fn)`, a marked method. */
export function calleeMark(path: NodePath, callee: t.Node): Mark | undefined {
  if (t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) return methodMark(path, callee);
  if (!t.isIdentifier(callee)) return undefined;
  const decl = path.scope.getBinding(callee.name)?.path;
  if (decl?.isFunctionDeclaration()) return functionMark(decl);
  if (decl?.isVariableDeclarator()) {
    const own = commentMark(commentsAround(decl));
    if (own) return own;
    const init = decl.node.init && unwrap(decl.node.init);
    if (t.isCallExpression(init)) return aktsMarker(decl, init.callee);
    if (t.isFunctionExpression(init) || t.isArrowFunctionExpression(init)) return commentMark(init.leadingComments ?? []);
  }
  return undefined;
}
