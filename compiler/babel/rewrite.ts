/** The Babel rewrite: the same output shape as ../rewrite.ts (docs/stub-contract.md). */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";

import { STUB_NAMESPACE, DEFAULT_RUNTIME } from "../rewrite";
import type { AktsCompilerOptions } from "../types";
import type { BabelSite } from "./activities";

type ChainNode = t.OptionalMemberExpression | t.OptionalCallExpression;

export function rewriteProgram(program: NodePath<t.Program>, sites: readonly BabelSite[], opts: AktsCompilerOptions): void {
  if (opts.aktsModule) {
    for (const stmt of program.node.body) {
      if ((t.isImportDeclaration(stmt) || t.isExportNamedDeclaration(stmt) || t.isExportAllDeclaration(stmt)) && stmt.source && stmt.source.value === "akts") stmt.source = t.stringLiteral(opts.aktsModule);
    }
  }
  if (sites.length === 0) return;
  const ns = () => t.identifier(STUB_NAMESPACE);
  const stub = (fn: string, args: t.Expression[]) => t.callExpression(t.memberExpression(ns(), t.identifier(fn)), args);
  const ids = new Map<t.Node, t.Identifier>();
  sites.forEach((s, i) => ids.set(s.path.node, t.identifier(`${STUB_NAMESPACE}_s${i}`)));
  const isSite = (n: t.Node) => ids.get(n);

  /** A hoisted temporary; in a parameter default it lives outside the function, which its body vars are not. */
  const temp = (path: NodePath) => {
    const id = path.scope.generateUidIdentifier("a");
    const fn = path.getFunctionParent();
    const inParams = fn !== null && path.findParent((p) => p.listKey === "params" && p.parentPath === fn) !== null;
    const scope = inParams ? (fn.scope.parent ?? fn.scope) : (fn?.scope ?? path.scope);
    scope.push({ id });
    return id;
  };
  const nullish = (held: t.Identifier, value: t.Expression) =>
    t.logicalExpression("||", t.binaryExpression("===", t.assignmentExpression("=", held, value), t.nullLiteral()), t.binaryExpression("===", t.cloneNode(held), t.unaryExpression("void", t.numericLiteral(0))));
  const voidZero = () => t.unaryExpression("void", t.numericLiteral(0));
  const args = (list: t.Node[]) => t.arrayExpression(list as (t.Expression | t.SpreadElement)[]);

  /** `__akts.call(site, this, fn, args)`, the receiver of a member callee kept in a temporary. */
  const stubCall = (path: NodePath, site: t.Identifier, callee: t.Expression, argList: t.Expression): t.Expression => {
    // `super.m()`: `super.m` reads the method, `this` is the receiver.
    if (t.isMemberExpression(callee) && t.isSuper(callee.object)) return stub("call", [site, t.thisExpression(), callee, argList]);
    if (t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) {
      const recv = temp(path);
      const member = t.memberExpression(t.cloneNode(recv), callee.property as t.Expression, callee.computed);
      return stub("call", [site, t.assignmentExpression("=", recv, callee.object), member, argList]);
    }
    return stub("call", [site, voidZero(), callee, argList]);
  };

  /** Rebuilds an optional chain so the stubbed call keeps its short-circuit (see ../rewrite.ts). */
  const rebuildChain = (path: NodePath, outer: ChainNode): t.Expression => {
    const links: ChainNode[] = [];
    let base: t.Expression = outer;
    while (t.isOptionalMemberExpression(base) || t.isOptionalCallExpression(base)) {
      links.unshift(base);
      base = t.isOptionalCallExpression(base) ? base.callee : base.object;
    }
    const build = (acc: t.Expression, i: number): t.Expression => {
      if (i === links.length) return acc;
      const link = links[i];
      if (link.optional && t.isOptionalCallExpression(link) && (t.isMemberExpression(acc) || t.isOptionalMemberExpression(acc))) {
        const recv = temp(path);
        const fn = temp(path);
        const member = t.memberExpression(t.assignmentExpression("=", recv, acc.object), acc.property as t.Expression, acc.computed);
        const site = isSite(link);
        const invoke = site
          ? stub("call", [site, t.cloneNode(recv), t.cloneNode(fn), args(link.arguments)])
          : t.callExpression(t.memberExpression(t.cloneNode(fn), t.identifier("call")), [t.cloneNode(recv), ...(link.arguments as t.Expression[])]);
        return t.conditionalExpression(nullish(fn, member), voidZero(), build(invoke, i + 1));
      }
      if (link.optional) {
        const held = temp(path);
        return t.conditionalExpression(nullish(held, acc), voidZero(), build(apply(t.cloneNode(held), link), i + 1));
      }
      return build(apply(acc, link), i + 1);
    };
    const apply = (acc: t.Expression, link: ChainNode): t.Expression => {
      if (t.isOptionalMemberExpression(link)) return t.memberExpression(acc, link.property as t.Expression, link.computed);
      const site = isSite(link);
      return site ? stubCall(path, site, acc, args(link.arguments)) : t.callExpression(acc, link.arguments);
    };
    return build(base, 0);
  };

  const chainOuter = (path: NodePath): NodePath => {
    let outer = path;
    while (outer.parentPath && (outer.parentPath.isOptionalMemberExpression() || outer.parentPath.isOptionalCallExpression()) && (outer.parentPath.node as { object?: t.Node; callee?: t.Node })[outer.parentPath.isOptionalCallExpression() ? "callee" : "object"] === outer.node) outer = outer.parentPath;
    return outer;
  };

  // Innermost first: a site nested in another's arguments is replaced before the outer one is rebuilt.
  const ordered = [...sites].sort((a, b) => b.path.node.start! - a.path.node.start! || a.path.node.end! - b.path.node.end!);
  for (const site of ordered) {
    const { path, chain, info } = site;
    const id = ids.get(path.node)!;
    const node = path.node;
    const loc = node.loc;
    let out: t.Expression;
    if (info.reason === "nondeterministic" || chain) {
      const thunk = t.arrowFunctionExpression([], node);
      out = chain ? stub("call", [id, voidZero(), thunk, t.arrayExpression([])]) : stub("nondet", [id, thunk]);
    } else if (t.isTaggedTemplateExpression(node)) {
      out = stubCall(path, id, node.tag, t.taggedTemplateExpression(t.memberExpression(ns(), t.identifier("tpl")), node.quasi));
    } else if (t.isOptionalCallExpression(node) || t.isOptionalMemberExpression((node as t.CallExpression).callee)) {
      const outer = chainOuter(path);
      out = rebuildChain(path, outer.node as ChainNode);
      outer.replaceWith(out);
      outer.node.loc = loc;
      continue;
    } else {
      const call = node as t.CallExpression;
      out = stubCall(path, id, call.callee as t.Expression, args(call.arguments));
    }
    out.loc = loc;
    path.replaceWith(out);
  }

  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const isModule = program.node.sourceType === "module";
  const load = isModule
    ? t.importDeclaration([t.importNamespaceSpecifier(ns())], t.stringLiteral(runtime))
    : t.variableDeclaration("const", [t.variableDeclarator(ns(), t.callExpression(t.identifier("require"), [t.stringLiteral(runtime)]))]);
  const decls = sites.map((s, i) =>
    t.variableDeclaration("const", [
      t.variableDeclarator(
        t.identifier(`${STUB_NAMESPACE}_s${i}`),
        stub("site", [t.stringLiteral(s.info.file), t.numericLiteral(s.info.line), t.numericLiteral(s.info.column), t.stringLiteral(s.info.callee), t.stringLiteral(s.info.reason)]),
      ),
    ]),
  );
  program.unshiftContainer("body", [load, ...decls]);
}


