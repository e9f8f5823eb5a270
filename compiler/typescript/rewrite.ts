/**
 * The rewrite: each activity site becomes a call into the stub module (docs/stub-contract.md). Receivers go
 * into hoisted temporaries, so `this` and the order of evaluation stay the source's; an optional chain keeps
 * its short-circuit; a merged chain (`statSync(p).isFile()`) runs whole inside one activity.
 */
import type * as ts from "typescript";
import { findActivities, type ActivityCall } from "./activities";
import { isProjectFile } from "../project-files";
import { instanceofClasses } from "./error-classes";
import { skipOuter, type IndirectCall } from "./resolve";
import type { AktsCompilerOptions } from "../types";
import { DEFAULT_RUNTIME, SITE_TABLE, STUB_NAMESPACE, formatSiteTable } from "../../stub-contract";

export interface RewriteOptions extends AktsCompilerOptions {
  readonly projectDir: string;
}

export function createRewriteTransformer(tsx: typeof ts, program: ts.Program, opts: RewriteOptions): ts.TransformerFactory<ts.SourceFile> {
  const checker = program.getTypeChecker();
  return (context) => (sf) => {
    if (sf.isDeclarationFile) return sf;
    const sites = findActivities(tsx, checker, sf, opts, program);
    // The text test spares most files a walk of their workflow code.
    const classes = sf.text.includes("instanceof") && isProjectFile(sf.fileName, opts.projectDir) ? instanceofClasses({ ts: tsx, checker, program }, sf) : [];
    if (sites.length === 0 && classes.length === 0 && !opts.aktsModule) return sf;
    return rewriteSourceFile(tsx, context, sf, sites, opts, classes);
  };
}

export function rewriteSourceFile(
  t: typeof ts,
  context: ts.TransformationContext,
  sf: ts.SourceFile,
  sites: readonly ActivityCall[],
  opts: AktsCompilerOptions,
  errorClasses: readonly ts.Expression[] = [],
): ts.SourceFile {
  const f = context.factory;
  const bySite = new Map<ts.Node, { call: ActivityCall; index: ts.Expression }>();
  sites.forEach((call, i) => bySite.set(call.node, { call, index: f.createNumericLiteral(i) }));
  const ns = f.createIdentifier(STUB_NAMESPACE);
  // `const __akts_sites = __akts.table(file, table)`.
  const siteDecls =
    sites.length === 0
      ? []
      : [
          f.createVariableStatement(
            undefined,
            f.createVariableDeclarationList(
              [
                f.createVariableDeclaration(
                  SITE_TABLE,
                  undefined,
                  undefined,
                  f.createCallExpression(f.createPropertyAccessExpression(ns, "table"), undefined, [
                    f.createStringLiteral(sites[0].info.file),
                    f.createStringLiteral(formatSiteTable(sites.map((s) => s.info))),
                  ]),
                ),
              ],
              t.NodeFlags.Const,
            ),
          ),
        ];

  /** `__akts_sites.call(index, ...)`, `__akts_sites.nondet(index, thunk)`. */
  const stub = (fn: "call" | "nondet", args: ts.Expression[]) => f.createCallExpression(f.createPropertyAccessExpression(f.createIdentifier(SITE_TABLE), fn), undefined, args);
  const temp = () => f.createTempVariable(context.hoistVariableDeclaration);
  const argsArray = (args: readonly ts.Expression[]) => f.createArrayLiteralExpression(args as ts.Expression[], false);
  const voidZero = () => f.createVoidZero();

  /** `__akts_sites.call(site, this, fn, args)` for a call whose callee was already visited. */
  const stubCall = (site: ts.Expression, callee: ts.Expression, args: ts.Expression): ts.Expression => {
    // `super.m()`: `super.m` reads the method, `this` is the receiver.
    if ((t.isPropertyAccessExpression(callee) || t.isElementAccessExpression(callee)) && callee.expression.kind === t.SyntaxKind.SuperKeyword) {
      return stub("call", [site, f.createThis(), callee, args]);
    }
    if (t.isPropertyAccessExpression(callee) || t.isElementAccessExpression(callee)) {
      // A name or `this` is passed as it is and read again for the method, as TypeScript's own call bindings do.
      if (isSimpleReceiver(t, callee.expression)) return stub("call", [site, callee.expression, callee, args]);
      const recv = temp();
      const member = t.isPropertyAccessExpression(callee)
        ? f.createPropertyAccessExpression(recv, callee.name)
        : f.createElementAccessExpression(recv, callee.argumentExpression);
      return stub("call", [site, f.createAssignment(recv, callee.expression), member, args]);
    }
    return stub("call", [site, voidZero(), callee, args]);
  };

  /** `(held = value) === null || held === void 0`: `value` is evaluated once. */
  const isNullish = (held: ts.Identifier, value: ts.Expression) =>
    f.createLogicalOr(f.createStrictEquality(f.createAssignment(held, value), f.createNull()), f.createStrictEquality(held, voidZero()));

  /**
   * Rebuilds an optional chain from its parts so that the stubbed call keeps the chain's short-circuit:
   * `a?.b.c(x)` → `(_t = a) === null || _t === void 0 ? void 0 : __akts_sites.call(i, (_r = _t.b), _r.c, [x])`.
   */
  const rebuildChain = (outer: ts.Expression): ts.Expression => {
    const links: ts.Expression[] = [];
    let base: ts.Expression = outer;
    while ((t.isPropertyAccessExpression(base) || t.isElementAccessExpression(base) || t.isCallExpression(base) || t.isNonNullExpression(base)) && t.isOptionalChain(base)) {
      links.unshift(base);
      base = base.expression;
    }
    const build = (acc: ts.Expression, i: number): ts.Expression => {
      if (i === links.length) return acc;
      const link = links[i];
      const optional = "questionDotToken" in link && link.questionDotToken !== undefined;
      if (optional && t.isCallExpression(link) && (t.isPropertyAccessExpression(acc) || t.isElementAccessExpression(acc))) {
        // `a.b?.()`: keep `a` as `this` while testing `a.b` for nullish.
        const recv = temp();
        const fn = temp();
        const member = t.isPropertyAccessExpression(acc)
          ? f.createPropertyAccessExpression(f.createAssignment(recv, acc.expression), acc.name)
          : f.createElementAccessExpression(f.createAssignment(recv, acc.expression), acc.argumentExpression);
        const args = link.arguments.map(visitExpr);
        const site = bySite.get(t.getOriginalNode(link));
        const invoke = site
          ? stub("call", [site.index, recv, fn, argsArray(args)])
          : f.createCallExpression(f.createPropertyAccessExpression(fn, "call"), undefined, [recv, ...args]);
        return f.createConditionalExpression(isNullish(fn, member), undefined, voidZero(), undefined, build(invoke, i + 1));
      }
      if (optional) {
        const held = temp();
        return f.createConditionalExpression(
          isNullish(held, acc),
          undefined,
          voidZero(),
          undefined,
          build(applyLink(held, link), i + 1),
        );
      }
      return build(applyLink(acc, link), i + 1);
    };
    const applyLink = (acc: ts.Expression, link: ts.Expression): ts.Expression => {
      if (t.isPropertyAccessExpression(link)) return f.createPropertyAccessExpression(acc, link.name);
      if (t.isElementAccessExpression(link)) return f.createElementAccessExpression(acc, visitExpr(link.argumentExpression));
      if (t.isNonNullExpression(link)) return acc;
      const call = link as ts.CallExpression;
      const args = call.arguments.map(visitExpr);
      const site = bySite.get(t.getOriginalNode(call));
      return site ? stubCall(site.index, acc, argsArray(args)) : f.createCallExpression(acc, undefined, args);
    };
    return build(visitExpr(base), 0);
  };

  const visitExpr = (e: ts.Expression): ts.Expression => t.visitNode(e, visitor) as ts.Expression;

  const chainOuter = (node: ts.Node): ts.Expression => {
    let outer = node as ts.Expression;
    while (outer.parent && t.isOptionalChain(outer.parent) && (outer.parent as ts.PropertyAccessExpression).expression === outer) outer = outer.parent;
    return outer;
  };

  const rewritten = new Set<ts.Node>();
  const enter = pathsToSites(sites, opts.aktsModule !== undefined);

  const visitor = (node: ts.Node): ts.Node => {
    if (opts.aktsModule && isAktsSpecifier(t, node)) return f.createStringLiteral(opts.aktsModule);
    if (!enter(node)) return node;
    const entry = bySite.get(node);
    if (!entry) {
      // The outermost node of an optional chain that contains a site is rebuilt as a whole.
      if (t.isOptionalChain(node) && !rewritten.has(node) && chainHasSite(node)) {
        rewritten.add(node);
        return t.setTextRange(rebuildChain(node as ts.Expression), node);
      }
      return t.visitEachChild(node, visitor, context);
    }
    // A site inside an optional chain: the chain is rebuilt from its outermost node, once.
    const outer = t.isCallExpression(node) && t.isOptionalChain(node) && !rewritten.has(chainOuter(node)) ? chainOuter(node) : undefined;
    if (outer) rewritten.add(outer);
    const out = outer ? rebuildChain(outer) : rewriteSite(entry.call, entry.index);
    return t.setOriginalNode(t.setTextRange(out, node), node);
  };

  /** The cases of a site outside an optional chain. */
  const rewriteSite = (call: ActivityCall, id: ts.Expression): ts.Expression => {
    const node = call.node;
    if (call.info.reason === "nondeterministic") return stub("nondet", [id, thunk([], t.visitEachChild(node, visitor, context) as ts.Expression)]);
    if (call.chain) return rewriteChain(id, call.links);
    if (call.indirect) return rewriteIndirect(id, call.indirect);
    if (t.isPropertyAccessExpression(node)) {
      // `await issue.assignee` → `await __akts_sites.call(i, void 0, (_a) => _a.assignee, [issue])`: the getter runs in the activity.
      const receiver = f.createTempVariable(undefined);
      return stub("call", [id, voidZero(), thunk([receiver], f.createPropertyAccessExpression(receiver, node.name)), argsArray([visitExpr(node.expression)])]);
    }
    if (t.isTaggedTemplateExpression(node)) {
      const template = t.visitNode(node.template, visitor) as ts.TemplateLiteral;
      return stubCall(id, visitCallee(node.tag), f.createTaggedTemplateExpression(f.createPropertyAccessExpression(ns, "tpl"), undefined, template));
    }
    const c = node as ts.CallExpression;
    return stubCall(id, visitCallee(c.expression), argsArray(c.arguments.map(visitExpr)));
  };

  /**
   * A callee with its receiver intact: `(c.m)`, `c.m!`, `(c.m as F)` call `m` on `c` like `c.m` does, so the
   * wrappers are dropped and the member access kept (not for an optional chain, which must keep its short-circuit).
   */
  const visitCallee = (callee: ts.Expression): ts.Expression => {
    const inner = skipOuter(t, callee);
    if ((t.isPropertyAccessExpression(inner) || t.isElementAccessExpression(inner)) && !t.isOptionalChain(inner)) {
      return t.visitEachChild(inner, visitor, context);
    }
    return visitExpr(callee);
  };

  const thunk = (params: readonly ts.Identifier[], body: ts.Expression) =>
    f.createArrowFunction(undefined, undefined, params.map((p) => f.createParameterDeclaration(undefined, undefined, p)), undefined, f.createToken(t.SyntaxKind.EqualsGreaterThanToken), body);

  /**
   * `c.builder().add(++n).build()` → `__akts_sites.call(i, void 0, (_a, _b) => _a.builder().add(_b).build(), [c', ++n])`:
   * the chain runs whole inside the activity, but what the workflow evaluates for it (the innermost receiver, every
   * argument, activities nested in them) is evaluated before, in source order, into the args array, so a replay
   * evaluates it too. Identifiers, `this` and literals stay in place: reading them has no effect.
   */
  const rewriteChain = (id: ts.Expression, links: readonly ts.CallExpression[]): ts.Expression => {
    const params: ts.Identifier[] = [];
    const values: ts.Expression[] = [];
    const lift = (e: ts.Expression): ts.Expression => {
      if (isInert(t, e)) return visitExpr(e);
      const param = f.createTempVariable(undefined);
      params.push(param);
      values.push(visitExpr(e));
      return param;
    };
    const liftArgs = (args: readonly ts.Expression[]) =>
      args.map((a) => (t.isSpreadElement(a) ? f.createSpreadElement(lift(f.createArrayLiteralExpression([a]))) : lift(a)));
    const callee = skipOuter(t, links[0].expression);
    const innermost = t.isPropertyAccessExpression(callee)
      ? f.createPropertyAccessExpression(lift(callee.expression), callee.name)
      : t.isElementAccessExpression(callee)
        ? f.createElementAccessExpression(lift(callee.expression), lift(callee.argumentExpression))
        : lift(callee);
    let body: ts.Expression = f.createCallExpression(innermost, undefined, liftArgs(links[0].arguments));
    for (const link of links.slice(1)) {
      const name = (link.expression as ts.PropertyAccessExpression).name;
      body = f.createCallExpression(f.createPropertyAccessExpression(body, name), undefined, liftArgs(link.arguments));
    }
    return stub("call", [id, voidZero(), thunk(params, body), argsArray(values)]);
  };

  /**
   * `fn.call(self, a)`, `fn.apply(self, list)`, `Reflect.apply(fn, self, list)` → `__akts_sites.call(i, (_f = fn, self), _f,
   * [a] | list)`: the stub sees the function really called (its activity options included); `fn` is still read first.
   */
  const rewriteIndirect = (id: ts.Expression, ind: IndirectCall): ts.Expression => {
    const fn = temp();
    const self = ind.thisArg ? visitExpr(ind.thisArg) : voidZero();
    const args = ind.args.kind === "list" ? argsArray(ind.args.list.map(visitExpr)) : ind.args.array ? visitExpr(ind.args.array) : argsArray([]);
    return stub("call", [id, f.createComma(f.createAssignment(fn, visitExpr(ind.fn)), self), fn, args]);
  };

  /** Does this optional chain (from its outermost node down) contain a site call? */
  const chainHasSite = (node: ts.Node): boolean => {
    if (node.parent && t.isOptionalChain(node.parent) && (node.parent as ts.PropertyAccessExpression).expression === node) return false;
    for (let e: ts.Node = node; t.isOptionalChain(e); e = (e as ts.PropertyAccessExpression).expression) {
      if (bySite.has(e)) return true;
    }
    return false;
  };

  const visited = t.visitEachChild(sf, visitor, context);
  if (sites.length === 0 && errorClasses.length === 0) return visited;
  const runtime = opts.runtime ?? DEFAULT_RUNTIME;
  const importStub = f.createImportDeclaration(
    undefined,
    f.createImportClause(false, undefined, f.createNamespaceImport(ns)),
    f.createStringLiteral(runtime),
  );
  const [prologue, rest] = splitPrologue(t, visited.statements);
  if (rest.length > 0) moveLeadingComments(t, sf.text, rest[0], importStub);
  // `__akts.errorClasses(() => [A, ns.B])`: the original references, so a CommonJS emit still renames imports.
  const register = errorClasses.length === 0 ? [] : [f.createExpressionStatement(f.createCallExpression(f.createPropertyAccessExpression(ns, "errorClasses"), undefined, [thunk([], f.createArrayLiteralExpression([...errorClasses]))]))];
  return f.updateSourceFile(visited, [...prologue, importStub, ...siteDecls, ...rest, ...register]);
}

/**
 * The comments written right above the first statement usually describe the file: they move above the stub
 * import so they stay at the top. A comment block followed by a blank line is "detached": TypeScript already
 * emits it at the top of the file.
 */
function moveLeadingComments(t: typeof ts, text: string, first: ts.Statement, to: ts.Statement): void {
  const original = t.getOriginalNode(first);
  if (original.pos < 0) return;
  const ranges = t.getLeadingCommentRanges(text, original.pos) ?? [];
  const start = original.getStart();
  let attached = 0;
  ranges.forEach((r, i) => {
    if (/\n[ \t]*\r?\n/.test(text.slice(r.end, ranges[i + 1]?.pos ?? start))) attached = i + 1;
  });
  const moved = ranges.slice(attached);
  if (moved.length === 0) return;
  t.setSyntheticLeadingComments(
    to,
    moved.map((r) => ({
      kind: r.kind,
      text: text.slice(r.pos + 2, r.kind === t.SyntaxKind.MultiLineCommentTrivia ? r.end - 2 : r.end),
      hasTrailingNewLine: r.hasTrailingNewLine ?? true,
      pos: -1,
      end: -1,
    })),
  );
  t.setEmitFlags(first, t.EmitFlags.NoLeadingComments);
}

/**
 * Which nodes the visitor must enter: the sites, those with a site below them, and nodes the rewrite made (they
 * hold original parts). Every other subtree comes back unchanged, so it is not walked. With the aktsModule option
 * every node is entered, since any `"akts"` specifier is rewritten.
 */
function pathsToSites(sites: readonly ActivityCall[], all: boolean): (node: ts.Node) => boolean {
  if (all) return () => true;
  const onPath = new Set<ts.Node>();
  for (const s of sites) {
    for (let n: ts.Node | undefined = s.node; n && !onPath.has(n); n = n.parent) onPath.add(n);
  }
  return (node) => node.pos < 0 || onPath.has(node);
}

function splitPrologue(t: typeof ts, statements: readonly ts.Statement[]): [ts.Statement[], ts.Statement[]] {
  let i = 0;
  while (i < statements.length && t.isExpressionStatement(statements[i]) && t.isStringLiteral((statements[i] as ts.ExpressionStatement).expression)) i++;
  return [statements.slice(0, i), statements.slice(i)];
}

/** A receiver that can be read twice in a row with the same result and no effect: a name or `this`. */
function isSimpleReceiver(t: typeof ts, e: ts.Expression): boolean {
  return e.kind === t.SyntaxKind.Identifier || e.kind === t.SyntaxKind.ThisKeyword;
}

/** Expressions whose evaluation has no effect and whose value cannot change before the call reads it. */
function isInert(t: typeof ts, e: ts.Expression): boolean {
  return t.isIdentifier(e) || t.isLiteralExpression(e) || e.kind === t.SyntaxKind.ThisKeyword || e.kind === t.SyntaxKind.SuperKeyword ||
    e.kind === t.SyntaxKind.TrueKeyword || e.kind === t.SyntaxKind.FalseKeyword || e.kind === t.SyntaxKind.NullKeyword;
}

/**
 * The "akts" in `import ... from "akts"`, `export ... from "akts"`, `import x = require("akts")`, `import("akts")`:
 * redirected by the aktsModule option, so handler and runner share one runtime.
 */
function isAktsSpecifier(t: typeof ts, node: ts.Node): boolean {
  if (!t.isStringLiteral(node) || node.text !== "akts") return false;
  const p = node.parent;
  return (
    ((t.isImportDeclaration(p) || t.isExportDeclaration(p)) && p.moduleSpecifier === node) ||
    t.isExternalModuleReference(p) ||
    (t.isCallExpression(p) && p.expression.kind === t.SyntaxKind.ImportKeyword && p.arguments[0] === node)
  );
}
