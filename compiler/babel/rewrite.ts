/**
 * The Babel rewrite: the same output shape as ../typescript/rewrite.ts (docs/stub-contract.md), made by replacing nodes in
 * place at the slots the walk recorded. Temporaries are `var`s of the function the site is in (`__akts_aN`: the
 * `__akts` prefix is the rewrite's own, like the stub namespace and the site table).
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import * as b from "./build";
import { STUB_NAMESPACE, SITE_TABLE, DEFAULT_RUNTIME, formatSiteTable } from "../../stub-contract";
import type { AktsCompilerOptions } from "../types";
import type { BabelAnalysis } from "./activities";
import { indirectShape, skipTypeWrappers } from "./bindings";
import type { Slot } from "./walk";

type ChainNode = T.OptionalMemberExpression | T.OptionalCallExpression;

function replace(slot: Slot, out: T.Node): void {
  const container = (slot.parent as unknown as Record<string, unknown>)[slot.key];
  if (slot.index === null) (slot.parent as unknown as Record<string, unknown>)[slot.key] = out;
  else (container as T.Node[])[slot.index] = out;
}

/** Another node for a name the rewrite made (a node is in the tree once); all a copy of a bare name is. */
const copy = (id: T.Identifier) => b.identifier(id.name);
const ns = () => b.identifier(STUB_NAMESPACE);
const stub = (fn: string, args: T.Expression[]) => b.callExpression(b.memberExpression(ns(), b.identifier(fn)), args);
/** `__akts_sites.call(index, ...)`, `__akts_sites.nondet(index, thunk)`. */
const siteStub = (fn: "call" | "nondet", args: T.Expression[]) => b.callExpression(b.memberExpression(b.identifier(SITE_TABLE), b.identifier(fn)), args);
const voidZero = () => b.unaryExpression("void", b.numericLiteral(0));
const argArray = (list: readonly T.Node[]) => b.arrayExpression(list as (T.Expression | T.SpreadElement)[]);
/** `(held = value) === null || held === void 0` */
const nullish = (held: T.Identifier, value: T.Expression) =>
  b.logicalExpression("||", b.binaryExpression("===", b.assignmentExpression("=", held, value), b.nullLiteral()), b.binaryExpression("===", copy(held), voidZero()));

/** `var __akts_a0, __akts_a1;` at the top of each function (or the program) that needs temporaries. */
function declareTemps(temps: Map<T.Function | T.Program, T.Identifier[]>, afterPrelude: number): void {
  for (const [holder, ids] of temps) {
    const decl = b.variableDeclaration("var", ids.map((id) => b.variableDeclarator(id)));
    if (t.isProgram(holder)) holder.body.splice(afterPrelude, 0, decl);
    else if (t.isBlockStatement(holder.body)) holder.body.body.unshift(decl);
    else holder.body = b.blockStatement([decl, b.returnStatement(holder.body)]);
  }
}

/** Rewrites the sites in place and adds the stub import, the site table and the temporaries. */
export function rewriteProgram(program: T.Program, analysis: BabelAnalysis, opts: AktsCompilerOptions, isModule: boolean): void {
  if (opts.aktsModule) for (const s of analysis.aktsSpecifiers) s.value = opts.aktsModule;
  const { sites, errorClasses } = analysis;
  if (sites.length === 0 && errorClasses.length === 0) return;
  const indexes = new Map<T.Node, number>();
  sites.forEach((s, i) => indexes.set(s.candidate.node, i));
  const siteId = (n: T.Node) => {
    const i = indexes.get(n);
    return i === undefined ? undefined : b.numericLiteral(i);
  };
  const temps = new Map<T.Function | T.Program, T.Identifier[]>();
  let tempCount = 0;
  const temp = (holder: T.Function | T.Program) => {
    const id = b.identifier(`${STUB_NAMESPACE}_a${tempCount++}`);
    const list = temps.get(holder) ?? [];
    list.push(id);
    temps.set(holder, list);
    return copy(id);
  };
  /** Sites consumed by rebuilding the optional chain they are links of. */
  const done = new Set<T.Node>();

  /**
   * `__akts_sites.call(site, this, fn, args)`, the receiver of a member callee kept in a temporary. `(c.m)`, `c.m!` and
   * `(c.m as F)` call `m` on `c` like `c.m` does, so the wrappers are dropped and the member access kept.
   */
  const stubCall = (holder: T.Function | T.Program, site: T.Expression, written: T.Expression, argList: T.Expression): T.Expression => {
    const callee = skipTypeWrappers(written);
    // `super.m()`: `super.m` reads the method, `this` is the receiver.
    if (t.isMemberExpression(callee) && t.isSuper(callee.object)) return siteStub("call", [site, b.thisExpression(), callee, argList]);
    if (t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) {
      // A name or `this` is passed as it is and read again for the method (see ../rewrite.ts).
      const object = callee.object;
      if (t.isIdentifier(object)) return siteStub("call", [site, b.identifier(object.name), callee, argList]);
      if (t.isThisExpression(object)) return siteStub("call", [site, b.thisExpression(), callee, argList]);
      const recv = temp(holder);
      const prop = callee.property as T.Expression;
      // `(a?.b)()`: the read stays optional, and calling its undefined throws as the native call would.
      const member = t.isOptionalMemberExpression(callee) ? b.optionalMemberExpression(copy(recv), prop, callee.computed, callee.optional) : b.memberExpression(copy(recv), prop, callee.computed);
      return siteStub("call", [site, b.assignmentExpression("=", recv, callee.object), member, argList]);
    }
    return siteStub("call", [site, voidZero(), callee, argList]);
  };

  /** Rebuilds an optional chain so the stubbed call keeps its short-circuit (see ../rewrite.ts). */
  const rebuildChain = (holder: T.Function | T.Program, outer: ChainNode): T.Expression => {
    const links: ChainNode[] = [];
    let base: T.Expression = outer;
    while (t.isOptionalMemberExpression(base) || t.isOptionalCallExpression(base)) {
      links.unshift(base);
      base = t.isOptionalCallExpression(base) ? base.callee : base.object;
    }
    const apply = (acc: T.Expression, link: ChainNode): T.Expression => {
      if (t.isOptionalMemberExpression(link)) return b.memberExpression(acc, link.property as T.Expression, link.computed);
      const site = siteId(link);
      if (!site) return b.callExpression(acc, link.arguments);
      done.add(link);
      return stubCall(holder, site, acc, argArray(link.arguments));
    };
    const build = (acc: T.Expression, i: number): T.Expression => {
      if (i === links.length) return acc;
      const link = links[i];
      if (link.optional && t.isOptionalCallExpression(link) && (t.isMemberExpression(acc) || t.isOptionalMemberExpression(acc))) {
        // `a.m?.()`: the method is read once, tested, then called with its receiver.
        const recv = temp(holder);
        const fn = temp(holder);
        const member = b.memberExpression(b.assignmentExpression("=", recv, acc.object), acc.property as T.Expression, acc.computed);
        const site = siteId(link);
        if (site) done.add(link);
        const invoke = site
          ? siteStub("call", [site, copy(recv), copy(fn), argArray(link.arguments)])
          : b.callExpression(b.memberExpression(copy(fn), b.identifier("call")), [copy(recv), ...(link.arguments as T.Expression[])]);
        return b.conditionalExpression(nullish(fn, member), voidZero(), build(invoke, i + 1));
      }
      if (link.optional) {
        const held = temp(holder);
        return b.conditionalExpression(nullish(held, acc), voidZero(), build(apply(copy(held), link), i + 1));
      }
      return build(apply(acc, link), i + 1);
    };
    return build(base, 0);
  };

  /**
   * `c.builder().add(++n).build()` → `__akts_sites.call(i, void 0, (_a, _b) => _a.builder().add(_b).build(), [c', ++n])`:
   * the chain runs whole inside the activity, but what the workflow evaluates for it (the innermost receiver, every
   * argument, activities nested in them) is evaluated before, in source order, into the args array, so a replay
   * evaluates it too. Identifiers, `this` and literals stay in place: reading them has no effect.
   */
  const rewriteChain = (site: T.Expression, links: readonly T.CallExpression[]): T.Expression => {
    const params: T.Identifier[] = [];
    const values: T.Expression[] = [];
    const lift = (e: T.Expression): T.Expression => {
      if (isInert(e)) return e;
      const param = b.identifier(`${STUB_NAMESPACE}_a${tempCount++}`);
      params.push(param);
      values.push(e);
      return copy(param);
    };
    const liftArgs = (list: T.CallExpression["arguments"]) => list.map((a) => (t.isSpreadElement(a) ? b.spreadElement(lift(b.arrayExpression([a]))) : lift(a as T.Expression)));
    const callee = skipTypeWrappers(links[0].callee);
    const innermost = t.isMemberExpression(callee)
      ? b.memberExpression(lift(callee.object as T.Expression), callee.computed ? lift(callee.property as T.Expression) : callee.property, callee.computed)
      : lift(callee as T.Expression);
    let body: T.Expression = b.callExpression(innermost, liftArgs(links[0].arguments));
    for (const link of links.slice(1)) body = b.callExpression(b.memberExpression(body, (link.callee as T.MemberExpression).property), liftArgs(link.arguments));
    return siteStub("call", [site, voidZero(), b.arrowFunctionExpression(params, body), b.arrayExpression(values)]);
  };

  /**
   * `fn.call(self, a)`, `fn.apply(self, list)`, `Reflect.apply(fn, self, list)` → `__akts_sites.call(i, (_f = fn, self), _f,
   * [a] | list)`: the stub sees the function really called (its activity options included); `fn` is still read first.
   */
  const rewriteIndirect = (holder: T.Function | T.Program, site: T.Expression, call: T.CallExpression): T.Expression => {
    const ind = indirectShape(call)!;
    const fn = temp(holder);
    const args = ind.args.kind === "list" ? argArray(ind.args.list) : (ind.args.array ?? b.arrayExpression([]));
    return siteStub("call", [site, b.sequenceExpression([b.assignmentExpression("=", fn, ind.fn), ind.thisArg ?? voidZero()]), copy(fn), args]);
  };

  // Innermost first: a site nested in another's arguments is replaced before the outer one is rebuilt.
  const ordered = [...sites].sort((a, b) => b.candidate.node.start! - a.candidate.node.start! || a.candidate.node.end! - b.candidate.node.end!);
  for (const { candidate, links, indirect, info } of ordered) {
    const { node, holder, slot } = candidate;
    if (done.has(node)) continue;
    const id = siteId(node)!;
    let out: T.Expression;
    if (info.reason === "nondeterministic") {
      out = siteStub("nondet", [id, b.arrowFunctionExpression([], node)]);
    } else if (links.length > 0) {
      out = rewriteChain(id, links);
    } else if (indirect) {
      out = rewriteIndirect(holder, id, node as T.CallExpression);
    } else if (t.isTaggedTemplateExpression(node)) {
      out = stubCall(holder, id, node.tag, b.taggedTemplateExpression(b.memberExpression(ns(), b.identifier("tpl")), node.quasi));
    } else if (t.isOptionalCallExpression(node)) {
      const outer = candidate.chain!;
      out = rebuildChain(holder, outer.node as ChainNode);
      out.loc = outer.node.loc;
      replace(outer.slot, out);
      continue;
    } else {
      const call = node as T.CallExpression;
      out = stubCall(holder, id, call.callee as T.Expression, argArray(call.arguments));
    }
    // The replacement keeps the call's position, so a source map points at the call.
    out.loc = node.loc;
    replace(slot, out);
  }

  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const load = isModule
    ? b.importDeclaration([b.importNamespaceSpecifier(ns())], b.stringLiteral(runtime))
    : b.variableDeclaration("const", [b.variableDeclarator(ns(), b.callExpression(b.identifier("require"), [b.stringLiteral(runtime)]))]);
  // `const __akts_sites = __akts.table(file, table)`.
  const decls =
    sites.length === 0
      ? []
      : [
          b.variableDeclaration("const", [
            b.variableDeclarator(b.identifier(SITE_TABLE), stub("table", [b.stringLiteral(sites[0].info.file), b.stringLiteral(formatSiteTable(sites.map((s) => s.info)))])),
          ]),
        ];
  // The comments above the first statement usually describe the file: they stay at the top.
  const first = program.body[0];
  if (first?.leadingComments) {
    load.leadingComments = first.leadingComments;
    first.leadingComments = null;
  }
  program.body.unshift(load, ...decls);
  if (errorClasses.length > 0) program.body.push(b.expressionStatement(stub("errorClasses", [b.arrowFunctionExpression([], b.arrayExpression(errorClasses.map((c) => t.cloneNode(c))))])));
  declareTemps(temps, decls.length + 1);
}

/** Expressions whose evaluation has no effect and whose value cannot change before the call reads it. */
function isInert(e: T.Expression): boolean {
  return t.isIdentifier(e) || t.isThisExpression(e) || t.isSuper(e) || t.isStringLiteral(e) || t.isNumericLiteral(e) || t.isBooleanLiteral(e) || t.isNullLiteral(e) ||
    t.isBigIntLiteral(e) || t.isRegExpLiteral(e) || (t.isTemplateLiteral(e) && e.expressions.length === 0);
}
