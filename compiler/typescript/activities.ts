/**
 * Finds the activity sites of one source file: a visitor over workflow code (function bodies that are not
 * marked activities), gathering each call's facts (resolve.ts, marks.ts) for the decision of ../rules/site.ts.
 */
import type * as ts from "typescript";
import type { RuleOptions } from "../rules/tables";
import { isChainLink, isDottedName, propertyReason, siteReason, type CallFacts } from "../rules/site";
import { calleeLabel } from "../rules/label";
import { calleeOrigin, indirectCall, memberPath, rootIdentifier, type IndirectCall } from "./resolve";
import type { ResolveContext } from "./context";
import { calleeMark } from "./marks";
import { forEachWorkflowNode } from "./workflow";
import type { AktsCompilerOptions, SiteInfo, SiteReason } from "../types";
import { isProjectFile, relativeFile } from "../project-files";

type CallNode = ts.CallExpression | ts.TaggedTemplateExpression | ts.NewExpression;
/** A call, or an awaited property read (../rules/site.ts rule 7). */
export type SiteNode = CallNode | ts.PropertyAccessExpression;

export interface ActivityCall {
  readonly node: SiteNode;
  readonly info: SiteInfo;
  /** Set when the site is an immediate chain run as one activity (`statSync(p).isFile()`). */
  readonly chain: boolean;
  /** For a chain: its calls, innermost first, ending with `node` (`statSync(p)`, `statSync(p).isFile()`). Else empty. */
  readonly links: readonly ts.CallExpression[];
  /** For `fn.call(...)`, `fn.apply(...)`, `Reflect.apply(fn, ...)`: the function really called, `this` and arguments. */
  readonly indirect?: IndirectCall;
}

export interface FindOptions extends AktsCompilerOptions {
  readonly projectDir: string;
}

/** The facts of a call, for ../rules/site.ts. An indirect call's are those of the function it really calls. */
function callFacts(c: ResolveContext, node: CallNode): CallFacts {
  const t = c.ts;
  if (t.isNewExpression(node)) {
    const callee = node.expression;
    return {
      shape: "new",
      argumentCount: node.arguments?.length ?? 0,
      mark: () => undefined,
      origin: () => calleeOrigin(c, callee),
      named: (set) => t.isIdentifier(callee) && isDottedName(set, callee.text, () => []),
    };
  }
  const written = t.isCallExpression(node) ? node.expression : node.tag;
  const callee = (t.isCallExpression(node) && indirectCall(c, node)?.fn) || written;
  return {
    shape: written.kind === t.SyntaxKind.SuperKeyword ? "super" : "call",
    argumentCount: 0,
    mark: () => calleeMark(c, callee),
    origin: () => calleeOrigin(c, callee),
    named: (set) => isDottedName(set, rootIdentifier(t, callee)?.text, () => memberPath(t, callee)),
  };
}

/** Rule 7's facts: `await client.viewer`, a property (not a method) whose declared type is a Promise. */
function awaitedPropertyReason(c: ResolveContext, node: ts.PropertyAccessExpression, rules: RuleOptions): SiteReason | undefined {
  const t = c.ts;
  let outer: ts.Node = node;
  while (t.isParenthesizedExpression(outer.parent)) outer = outer.parent;
  if (!t.isAwaitExpression(outer.parent) || t.isOptionalChain(node) || node.expression.kind === t.SyntaxKind.SuperKeyword) return undefined;
  const promiseTyped = () => {
    const decl = c.checker.getSymbolAtLocation(node.name)?.declarations?.[0];
    if (!decl || !(t.isPropertySignature(decl) || t.isPropertyDeclaration(decl) || t.isGetAccessorDeclaration(decl))) return false;
    const name = c.checker.getTypeAtLocation(node).getSymbol()?.getName();
    return name === "Promise" || name === "PromiseLike";
  };
  return propertyReason({ promiseTyped, origin: () => calleeOrigin(c, node) }, rules);
}

/** `statSync(p).isFile()`: the call whose result this call is a method of, with nothing (no await, no `?.`) between. */
function chainedReceiver(t: typeof ts, node: SiteNode): ts.CallExpression | undefined {
  if (!t.isCallExpression(node)) return undefined;
  const callee = node.expression;
  if (!t.isPropertyAccessExpression(callee)) return undefined;
  const receiver = callee.expression;
  const receiverIsCall = t.isCallExpression(receiver) && !t.isOptionalChain(receiver);
  return isChainLink({ byName: true, optional: callee.questionDotToken !== undefined, receiverIsCall }) ? (receiver as ts.CallExpression) : undefined;
}

/** The label of ../rules/label.ts: the callee as written; for a chain, its innermost callee and then each link. */
function labelOf(t: typeof ts, node: SiteNode, sf: ts.SourceFile, links: readonly ts.CallExpression[]): string {
  if (t.isNewExpression(node)) return calleeLabel("new", node.expression.getText(sf));
  if (t.isPropertyAccessExpression(node)) return calleeLabel("call", node.getText(sf));
  if (links.length === 0) return calleeLabel("call", (t.isCallExpression(node) ? node.expression : node.tag).getText(sf));
  return calleeLabel("call", links[0].expression.getText(sf), links.slice(1).map((l) => (l.expression as ts.PropertyAccessExpression).name.text));
}

/**
 * The activity sites of a file, in source order. `alsoVisit` is shown every node of workflow code on the way, so a
 * pass that looks at the same code (the determinism checks) needs no walk of its own.
 */
export function findActivities(
  tsx: typeof ts,
  checker: ts.TypeChecker,
  sf: ts.SourceFile,
  opts: FindOptions,
  program?: ts.Program,
  alsoVisit?: (node: ts.Node) => void,
): ActivityCall[] {
  const c: ResolveContext = { ts: tsx, checker, program };
  const t = tsx;
  const file = relativeFile(sf.fileName, opts.projectDir);
  const found: ActivityCall[] = [];
  if (!isProjectFile(sf.fileName, opts.projectDir)) return found;
  const decided = new Map<ts.Node, SiteReason | undefined>();
  const decide = (n: CallNode) => {
    if (!decided.has(n)) decided.set(n, siteReason(callFacts(c, n), opts));
    return decided.get(n);
  };

  const add = (node: SiteNode, reason: SiteReason, links: readonly ts.CallExpression[]) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    const info = { file, line: line + 1, column: character + 1, callee: labelOf(t, node, sf, links), reason };
    const indirect = t.isCallExpression(node) && !t.isOptionalChain(node) && links.length === 0 ? indirectCall(c, node) : undefined;
    found.push({ node, info, chain: links.length > 0, links, ...(indirect ? { indirect } : {}) });
  };

  /** The external calls an external call is immediately chained on, innermost first (empty if none). */
  const chainOf = (node: SiteNode): ts.CallExpression[] => {
    const links: ts.CallExpression[] = [];
    for (let inner = chainedReceiver(t, node); inner && decide(inner) === "external"; inner = chainedReceiver(t, inner)) links.unshift(inner);
    return links.length > 0 ? [...links, node as ts.CallExpression] : [];
  };

  /** A merged chain runs inside one activity: its inner calls are not sites (their arguments still are). */
  const skipped = new Set<ts.Node>();

  const k = t.SyntaxKind;
  forEachWorkflowNode(c, sf, (node) => {
    alsoVisit?.(node);
    if (node.kind === k.PropertyAccessExpression) {
      const reason = awaitedPropertyReason(c, node as ts.PropertyAccessExpression, opts);
      if (reason) add(node as SiteNode, reason, []);
      return;
    }
    if ((node.kind !== k.CallExpression && node.kind !== k.TaggedTemplateExpression && node.kind !== k.NewExpression) || skipped.has(node)) return;
    const reason = decide(node as CallNode);
    if (reason === undefined) return;
    const links = reason === "external" ? chainOf(node as SiteNode) : [];
    add(node as SiteNode, reason, links);
    for (const link of links.slice(0, -1)) skipped.add(link);
  }, alsoVisit !== undefined);
  found.sort((a, b) => a.info.line - b.info.line || a.info.column - b.info.column);
  return found;
}
