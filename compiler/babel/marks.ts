/**
 * Explicit marking without types (see ../typescript/marks.ts): `activity(fn)` / `noActivity(fn)` imported from akts,
 * `@activity` on class methods, `/** @activity *\/` comments. A method is found through `this` in its own class or
 * through an instance of a class declared in the same file; anything else reached by a method needs types.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { AKTS_MODULES, JSDOC_ACTIVITY, JSDOC_NO_ACTIVITY, MARK_ACTIVITY, MARK_NO_ACTIVITY } from "../rules/tables";
import type { Mark } from "../rules/site";
import { importOf, rootAndMembers, unwrap } from "./bindings";
import type { ClassOwner, FunctionOwner, Scope } from "./scope";

export type { Mark } from "../rules/site";

const JSDOC_TAG = new RegExp(`@(${JSDOC_NO_ACTIVITY}|${JSDOC_ACTIVITY})\\b`);

function commentMark(comments: readonly T.Comment[] | null | undefined): Mark | undefined {
  for (const c of comments ?? []) {
    if (c.type !== "CommentBlock" || !c.value.startsWith("*")) continue;
    const tag = JSDOC_TAG.exec(c.value)?.[1];
    if (tag) return tag === JSDOC_ACTIVITY ? "activity" : "noActivity";
  }
  return undefined;
}

/** `activity` / `noActivity` imported from akts (directly, renamed, or as `akts.activity`). */
function aktsMarker(scope: Scope, e: T.Node): Mark | undefined {
  const chain = rootAndMembers(e);
  if (!chain || chain.members.length > 1) return undefined;
  const imp = importOf(scope.lookup(chain.root.name), chain.root.name);
  if (!imp || !AKTS_MODULES.has(imp.module)) return undefined;
  const name = chain.members[0] ?? imp.imported;
  return name === MARK_ACTIVITY ? "activity" : name === MARK_NO_ACTIVITY ? "noActivity" : undefined;
}

/** Marks are asked for again and again (every call, every site's enclosing functions): decided once. */
export class Marks {
  private readonly functions = new Map<T.Function, Mark | undefined>();
  private readonly scopes = new Map<Scope, boolean>();

  /** The mark of a function: its doc comment, its decorator, or the `activity(...)` call it is passed to. */
  ofFunction(owner: FunctionOwner): Mark | undefined {
    if (this.functions.has(owner.node)) return this.functions.get(owner.node);
    const mark = functionMark(owner);
    this.functions.set(owner.node, mark);
    return mark;
  }

  /** Is code in this scope the body of a marked function (which runs whole inside its activity)? */
  insideMarked(scope: Scope): boolean {
    const known = this.scopes.get(scope);
    if (known !== undefined) return known;
    const inside = (scope.fn !== null && this.ofFunction(scope.fn) !== undefined) || (scope.parent !== null && this.insideMarked(scope.parent));
    this.scopes.set(scope, inside);
    return inside;
  }

  /** The mark of whatever a call invokes: a marked function, a variable holding `activity(fn)`, a marked method. */
  ofCallee(scope: Scope, callee: T.Node): Mark | undefined {
    if (t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) return this.ofMethod(scope, callee);
    if (!t.isIdentifier(callee)) return undefined;
    const binding = scope.lookup(callee.name);
    if (binding?.kind === "function") return this.ofFunction(binding.fn);
    if (binding?.kind !== "variable") return undefined;
    const own = commentMark(binding.comments);
    if (own) return own;
    const init = binding.declarator.init && unwrap(binding.declarator.init);
    if (t.isCallExpression(init)) return aktsMarker(binding.scope, init.callee);
    if (t.isFunctionExpression(init) || t.isArrowFunctionExpression(init)) return commentMark(init.leadingComments);
    return undefined;
  }

  private ofMethod(scope: Scope, callee: T.MemberExpression | T.OptionalMemberExpression): Mark | undefined {
    if (callee.computed || !t.isIdentifier(callee.property)) return undefined;
    const owner = receiverClass(scope, callee.object);
    if (!owner) return undefined;
    const name = callee.property.name;
    for (const member of owner.cls.node.body.body) {
      if (t.isClassMethod(member) && member.kind === "method" && member.static === owner.isStatic && !member.computed && t.isIdentifier(member.key, { name })) {
        return this.ofFunction({ node: member, parent: owner.cls.node.body, scope: owner.cls.scope, comments: member.leadingComments ?? undefined, cls: owner.cls });
      }
    }
    return undefined;
  }
}

function functionMark(owner: FunctionOwner): Mark | undefined {
  const own = commentMark(owner.comments);
  if (own) return own;
  const { node, parent } = owner;
  if (t.isClassMethod(node) || t.isClassPrivateMethod(node)) {
    for (const d of node.decorators ?? []) {
      const m = aktsMarker(owner.scope, t.isCallExpression(d.expression) ? d.expression.callee : d.expression);
      if (m) return m;
    }
  }
  if (t.isCallExpression(parent) && parent.arguments[0] === node) return aktsMarker(owner.scope, parent.callee);
  return undefined;
}

/** The class a binding declares (`class C {}`, `const C = class {}`). */
function declaredClass(scope: Scope, name: string): ClassOwner | undefined {
  const binding = scope.lookup(name);
  if (binding?.kind === "class") return binding.cls;
  if (binding?.kind === "variable" && t.isClassExpression(binding.declarator.init)) return { node: binding.declarator.init, scope: binding.scope };
  return undefined;
}

/** The class whose instance `receiver` is, when the file says so: `this`, `new C()`, `const x = new C()`. */
function receiverClass(scope: Scope, receiver: T.Node): { cls: ClassOwner; isStatic: boolean } | undefined {
  const e = unwrap(receiver);
  if (t.isThisExpression(e)) {
    let s: Scope | null = scope;
    while (s && !(s.fn && !t.isArrowFunctionExpression(s.fn.node))) s = s.parent;
    const method = s?.fn;
    if (!method?.cls || !(t.isClassMethod(method.node) || t.isClassPrivateMethod(method.node))) return undefined;
    return { cls: method.cls, isStatic: method.node.static };
  }
  if (t.isNewExpression(e) && t.isIdentifier(e.callee)) {
    const cls = declaredClass(scope, e.callee.name);
    return cls && { cls, isStatic: false };
  }
  if (t.isIdentifier(e)) {
    const binding = scope.lookup(e.name);
    if (binding?.kind === "variable" && t.isIdentifier(binding.declarator.id) && binding.declarator.init) return receiverClass(binding.scope, binding.declarator.init);
  }
  return undefined;
}
