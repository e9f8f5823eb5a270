/**
 * The Babel front end's visitor: the same decisions as ../activities.ts, from scope bindings instead of types.
 * What needs types (methods reached through a typed value, `@activity` methods called on an instance) is listed
 * in docs/babel.md.
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { activityReason, AKTS_MODULES, JSDOC_ACTIVITY, JSDOC_NO_ACTIVITY, MARK_ACTIVITY, MARK_NO_ACTIVITY, NONDETERMINISTIC_CALLS, NONDETERMINISTIC_NEW, type RuleOptions } from "../rules";
import { compactText } from "../activities";
import type { SiteInfo, SiteReason } from "../types";
import { calleeOrigin, importOf, rootAndMembers } from "./bindings";

export type Mark = "activity" | "noActivity";

export interface BabelSite {
  readonly path: NodePath<t.CallExpression | t.OptionalCallExpression | t.TaggedTemplateExpression | t.NewExpression>;
  readonly info: SiteInfo;
  readonly chain: boolean;
}

function commentMark(comments: readonly t.Comment[] | null | undefined): Mark | undefined {
  for (const c of comments ?? []) {
    if (c.type !== "CommentBlock" || !c.value.startsWith("*")) continue;
    if (new RegExp(`@${JSDOC_NO_ACTIVITY}\\b`).test(c.value)) return "noActivity";
    if (new RegExp(`@${JSDOC_ACTIVITY}\\b`).test(c.value)) return "activity";
  }
  return undefined;
}

/** `activity` / `noActivity` imported from akts (directly or as `akts.activity`). */
function aktsMarker(path: NodePath, e: t.Node): Mark | undefined {
  const chain = rootAndMembers(e);
  if (!chain || chain.members.length > 1) return undefined;
  const imp = importOf(path.scope, chain.root.name);
  if (!imp || !AKTS_MODULES.has(imp.module)) return undefined;
  const name = chain.members[0] ?? imp.imported;
  return name === MARK_ACTIVITY ? "activity" : name === MARK_NO_ACTIVITY ? "noActivity" : undefined;
}

/** The statement a declaration's doc comment is attached to. */
function commentsAround(path: NodePath): t.Comment[] {
  const out: t.Comment[] = [...(path.node.leadingComments ?? [])];
  for (let p: NodePath | null = path.parentPath; p && !p.isProgram() && !p.isBlockStatement(); p = p.parentPath) {
    out.push(...(p.node.leadingComments ?? []));
    if (p.isStatement()) break;
  }
  return out;
}

export function functionMark(path: NodePath<t.Function>): Mark | undefined {
  const own = commentMark(commentsAround(path));
  if (own) return own;
  if (path.isClassMethod() || path.isObjectMethod()) {
    for (const d of (path.node as t.ClassMethod).decorators ?? []) {
      const m = aktsMarker(path, t.isCallExpression(d.expression) ? d.expression.callee : d.expression);
      if (m) return m;
    }
  }
  const parent = path.parentPath;
  if (parent?.isCallExpression() && parent.node.arguments[0] === path.node) return aktsMarker(parent, parent.node.callee);
  return undefined;
}

function calleeMark(path: NodePath, callee: t.Node): Mark | undefined {
  if (!t.isIdentifier(callee)) return undefined;
  const binding = path.scope.getBinding(callee.name);
  if (!binding) return undefined;
  const decl = binding.path;
  if (decl.isFunctionDeclaration()) return commentMark(commentsAround(decl));
  if (decl.isVariableDeclarator()) {
    const own = commentMark(commentsAround(decl));
    if (own) return own;
    const init = decl.node.init;
    if (t.isCallExpression(init)) return aktsMarker(decl, init.callee);
  }
  return undefined;
}

function reasonFor(path: NodePath<t.CallExpression | t.OptionalCallExpression | t.TaggedTemplateExpression | t.NewExpression>, rules: RuleOptions): SiteReason | undefined {
  const node = path.node;
  if (t.isNewExpression(node)) {
    return node.arguments.length === 0 && t.isIdentifier(node.callee) && NONDETERMINISTIC_NEW.has(node.callee.name) && !path.scope.getBinding(node.callee.name) ? "nondeterministic" : undefined;
  }
  const callee = t.isTaggedTemplateExpression(node) ? node.tag : node.callee;
  const mark = calleeMark(path, callee);
  if (mark === "activity") return "marked";
  if (mark === "noActivity") return undefined;
  const origin = calleeOrigin(path, callee);
  if (origin.kind === "lib") {
    const chain = rootAndMembers(callee);
    return chain && NONDETERMINISTIC_CALLS.has([chain.root.name, ...chain.members].join(".")) ? "nondeterministic" : undefined;
  }
  return activityReason(origin, rules);
}

/** Is this node in workflow code: inside a function, and not inside a marked (or opted-out) function? */
export function inWorkflow(path: NodePath): boolean {
  let inFunction = false;
  for (let p: NodePath | null = path.parentPath; p; p = p.parentPath) {
    if (p.isFunction()) {
      if (functionMark(p)) return false;
      inFunction = true;
    }
  }
  return inFunction;
}

function chainedReceiver(node: t.Node): t.CallExpression | undefined {
  if (!t.isCallExpression(node) || !t.isMemberExpression(node.callee)) return undefined;
  return t.isCallExpression(node.callee.object) ? node.callee.object : undefined;
}

function containsSuspension(node: t.Node): boolean {
  let found = false;
  t.traverseFast(node, (n) => {
    if (t.isAwaitExpression(n) || t.isYieldExpression(n)) found = true;
  });
  return found;
}

function label(code: string, node: t.Node, chain: boolean): string {
  const text = (n: t.Node) => compactText(code.slice(n.start!, n.end!));
  if (t.isNewExpression(node)) return `new ${text(node.callee)}`;
  const callee = t.isTaggedTemplateExpression(node) ? node.tag : (node as t.CallExpression).callee;
  if (!chain || !t.isMemberExpression(callee) || !t.isIdentifier(callee.property)) return text(callee);
  const inner = callee.object;
  return `${label(code, inner, chainedReceiver(inner) !== undefined)}().${callee.property.name}`;
}

export function findSites(program: NodePath<t.Program>, code: string, file: string, rules: RuleOptions): BabelSite[] {
  const sites: BabelSite[] = [];
  const decided = new Map<t.Node, SiteReason | undefined>();
  const decide = (p: BabelSite["path"]) => {
    if (!decided.has(p.node)) decided.set(p.node, reasonFor(p, rules));
    return decided.get(p.node);
  };
  /** `createHash(...)`, `createHash(...).update(...)`: a call that is, or is chained on, an external call. */
  const startsExternal = (p: BabelSite["path"]): boolean =>
    decide(p) === "external" || (chainedReceiver(p.node) !== undefined && startsExternal(p.get("callee.object") as BabelSite["path"]));
  const skipped = new Set<t.Node>();
  const visit = (p: BabelSite["path"]) => {
    if (skipped.has(p.node) || !inWorkflow(p)) return;
    // Without types a method of an external call's result is unknown, so the chain runs whole inside one
    // activity: always faithful (the journal holds the chain's final value), sometimes coarser than with types.
    const inner = chainedReceiver(p.node);
    const innerPath = inner && (p.get("callee.object") as BabelSite["path"]);
    const merge = innerPath !== undefined && startsExternal(innerPath) && !containsSuspension(p.node);
    const reason = merge ? "external" : decide(p);
    if (reason === undefined) return;
    if (merge) for (let e: t.Node = p.node; t.isCallExpression(e) || t.isMemberExpression(e); e = t.isCallExpression(e) ? e.callee : e.object) if (e !== p.node) skipped.add(e);
    const { line, column } = p.node.loc!.start;
    sites.push({ path: p, chain: merge, info: { file, line, column: column + 1, callee: label(code, p.node, merge), reason } });
  };
  program.traverse({
    CallExpression: visit,
    OptionalCallExpression: visit,
    TaggedTemplateExpression: visit,
    NewExpression: visit,
  });
  return sites.sort((a, b) => a.info.line - b.info.line || a.info.column - b.info.column);
}
