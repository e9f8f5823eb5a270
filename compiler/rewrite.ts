/**
 * The rewrite: each activity site becomes a call into the stub module (docs/stub-contract.md). Receivers go
 * into hoisted temporaries, so `this` and the order of evaluation stay the source's; an optional chain keeps
 * its short-circuit; a merged chain (`statSync(p).isFile()`) runs whole inside one activity.
 */
import type * as ts from "typescript";
import { findActivities, type ActivityCall } from "./activities";
import type { AktsCompilerOptions } from "./types";
import { AKTS_MODULES } from "./rules";

export const STUB_NAMESPACE = "__akts";
export const DEFAULT_RUNTIME = "akts/stub";

export interface RewriteOptions extends AktsCompilerOptions {
  readonly projectDir: string;
}

export function createRewriteTransformer(tsx: typeof ts, program: ts.Program, opts: RewriteOptions): ts.TransformerFactory<ts.SourceFile> {
  const checker = program.getTypeChecker();
  return (context) => (sf) => {
    if (sf.isDeclarationFile) return sf;
    const sites = findActivities(tsx, checker, sf, opts, program);
    if (sites.length === 0 && !opts.aktsModule) return sf;
    return rewriteSourceFile(tsx, context, sf, sites, opts);
  };
}

export function rewriteSourceFile(
  t: typeof ts,
  context: ts.TransformationContext,
  sf: ts.SourceFile,
  sites: readonly ActivityCall[],
  opts: AktsCompilerOptions,
): ts.SourceFile {
  const f = context.factory;
  const bySite = new Map<ts.Node, { call: ActivityCall; id: ts.Identifier }>();
  const siteDecls: ts.Statement[] = [];
  const ns = f.createIdentifier(STUB_NAMESPACE);
  sites.forEach((call, i) => {
    const id = f.createIdentifier(`${STUB_NAMESPACE}_s${i}`);
    bySite.set(call.node, { call, id });
    const { file, line, column, callee, reason } = call.info;
    siteDecls.push(
      f.createVariableStatement(
        undefined,
        f.createVariableDeclarationList(
          [
            f.createVariableDeclaration(
              id,
              undefined,
              undefined,
              f.createCallExpression(f.createPropertyAccessExpression(ns, "site"), undefined, [
                f.createStringLiteral(file),
                f.createNumericLiteral(line),
                f.createNumericLiteral(column),
                f.createStringLiteral(callee),
                f.createStringLiteral(reason),
              ]),
            ),
          ],
          t.NodeFlags.Const,
        ),
      ),
    );
  });

  const stub = (fn: "call" | "nondet", args: ts.Expression[]) => f.createCallExpression(f.createPropertyAccessExpression(ns, fn), undefined, args);
  const temp = () => f.createTempVariable(context.hoistVariableDeclaration);
  const argsArray = (args: readonly ts.Expression[]) => f.createArrayLiteralExpression(args as ts.Expression[], false);
  const voidZero = () => f.createVoidZero();

  /** `__akts.call(site, this, fn, args)` for a call whose callee was already visited. */
  const stubCall = (site: ts.Identifier, callee: ts.Expression, args: ts.Expression): ts.Expression => {
    // `super.m()`: `super.m` reads the method, `this` is the receiver.
    if ((t.isPropertyAccessExpression(callee) || t.isElementAccessExpression(callee)) && callee.expression.kind === t.SyntaxKind.SuperKeyword) {
      return stub("call", [site, f.createThis(), callee, args]);
    }
    if (t.isPropertyAccessExpression(callee) || t.isElementAccessExpression(callee)) {
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
   * `a?.b.c(x)` → `(_t = a) === null || _t === void 0 ? void 0 : __akts.call(s, (_r = _t.b), _r.c, [x])`.
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
          ? stub("call", [site.id, recv, fn, argsArray(args)])
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
      return site ? stubCall(site.id, acc, argsArray(args)) : f.createCallExpression(acc, undefined, args);
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

  const visitor = (node: ts.Node): ts.Node => {
    if (opts.aktsModule && (t.isImportDeclaration(node) || t.isExportDeclaration(node)) && node.moduleSpecifier && t.isStringLiteral(node.moduleSpecifier) && AKTS_MODULES.has(node.moduleSpecifier.text) && node.moduleSpecifier.text === "akts") {
      const spec = f.createStringLiteral(opts.aktsModule);
      return t.isImportDeclaration(node)
        ? f.updateImportDeclaration(node, node.modifiers, node.importClause, spec, node.attributes)
        : f.updateExportDeclaration(node, node.modifiers, node.isTypeOnly, node.exportClause, spec, node.attributes);
    }
    const entry = bySite.get(node);
    if (!entry) {
      // The outermost node of an optional chain that contains a site is rebuilt as a whole.
      if (t.isOptionalChain(node) && !rewritten.has(node) && chainHasSite(node)) {
        rewritten.add(node);
        return t.setTextRange(rebuildChain(node as ts.Expression), node);
      }
      return t.visitEachChild(node, visitor, context);
    }
    const { call, id } = entry;
    let out: ts.Expression;
    if (call.info.reason === "nondeterministic" || call.chain) {
      const body = t.visitEachChild(node, visitor, context) as ts.Expression;
      const thunk = f.createArrowFunction(undefined, undefined, [], undefined, f.createToken(t.SyntaxKind.EqualsGreaterThanToken), body);
      out = call.chain ? stub("call", [id, voidZero(), thunk, f.createArrayLiteralExpression([])]) : stub("nondet", [id, thunk]);
    } else if (t.isTaggedTemplateExpression(node)) {
      const tag = visitExpr(node.tag);
      const template = t.visitNode(node.template, visitor) as ts.TemplateLiteral;
      out = stubCall(id, tag, f.createTaggedTemplateExpression(f.createPropertyAccessExpression(ns, "tpl"), undefined, template));
    } else if (t.isCallExpression(node) && t.isOptionalChain(node) && !rewritten.has(chainOuter(node))) {
      const outer = chainOuter(node);
      rewritten.add(outer);
      out = rebuildChain(outer);
    } else {
      const c = node as ts.CallExpression;
      const callee = t.isPropertyAccessExpression(c.expression) || t.isElementAccessExpression(c.expression)
        ? (t.visitEachChild(c.expression, visitor, context) as ts.Expression)
        : visitExpr(c.expression);
      out = stubCall(id, callee, argsArray(c.arguments.map(visitExpr)));
    }
    return t.setOriginalNode(t.setTextRange(out, node), node);
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
  if (sites.length === 0) return visited;
  const runtime = opts.runtime ?? "akts/stub";
  const importStub = f.createImportDeclaration(
    undefined,
    f.createImportClause(false, undefined, f.createNamespaceImport(ns)),
    f.createStringLiteral(runtime),
  );
  const [prologue, rest] = splitPrologue(t, visited.statements);
  return f.updateSourceFile(visited, [...prologue, importStub, ...siteDecls, ...rest]);
}

function splitPrologue(t: typeof ts, statements: readonly ts.Statement[]): [ts.Statement[], ts.Statement[]] {
  let i = 0;
  while (i < statements.length && t.isExpressionStatement(statements[i]) && t.isStringLiteral((statements[i] as ts.ExpressionStatement).expression)) i++;
  return [statements.slice(0, i), statements.slice(i)];
}
