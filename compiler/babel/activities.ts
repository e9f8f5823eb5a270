/**
 * The Babel front end's sites: the facts of each call the one walk (./walk.ts) collected, from scope bindings
 * instead of types, for the decision of ../rules/site.ts, with the syntactic findings of ./findings.ts on the way.
 * What needs types is listed in docs/babel.md.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import type { RuleOptions } from "../rules/tables";
import type { CalleeOrigin } from "../rules/origin";
import { isChainLink, isDottedName, isModuleLevelBinding, siteReason, type CallFacts } from "../rules/site";
import { calleeLabel, compactText } from "../rules/label";
import type { Diagnostic, SiteInfo, SiteReason } from "../types";
import { calleeOrigin, indirectShape, rootAndMembers, skipTypeWrappers, type IndirectCall } from "./bindings";
import { Marks } from "./marks";
import { callbackWriteFinding, nondeterministicFinding, processEnvFinding, timerFinding } from "./findings";
import type { Scope } from "./scope";
import { walkProgram, type Candidate, type CallNode } from "./walk";

export interface BabelSite {
  readonly candidate: Candidate;
  readonly info: SiteInfo;
  /** For an immediate chain run as one activity (`statSync(p).isFile()`): its calls, innermost first. Else empty. */
  readonly links: readonly T.CallExpression[];
  /** Set for `fn.call(...)`, `fn.apply(...)`, `Reflect.apply(fn, ...)`: the call is `fn`'s. */
  readonly indirect: IndirectCall["method"] | undefined;
}

export interface BabelAnalysis {
  /** In source order. */
  readonly sites: BabelSite[];
  /** Sorted by line, column. */
  readonly diagnostics: Diagnostic[];
  /** The `"akts"` specifiers `aktsModule` rewrites. */
  readonly aktsSpecifiers: T.StringLiteral[];
  /** The classes workflow code tests errors against, to register with the runtime (../typescript/error-classes.ts). */
  readonly errorClasses: T.Expression[];
}

interface Decision {
  /** Where the callee comes from; undefined for `new` and `super(...)`. */
  readonly origin?: CalleeOrigin;
  readonly reason?: SiteReason;
  readonly indirect?: IndirectCall["method"];
}

/** The facts of a call for ../rules/site.ts (an indirect call's are the function's it really calls), and its decision. */
function decide(node: CallNode, scope: Scope, marks: Marks, rules: RuleOptions): Decision {
  if (t.isNewExpression(node)) {
    const callee = node.callee;
    const facts: CallFacts = {
      shape: "new",
      argumentCount: node.arguments.length,
      mark: () => undefined,
      origin: () => (t.isIdentifier(callee) && !scope.lookup(callee.name) ? { kind: "lib" } : { kind: "project" }),
      named: (set) => t.isIdentifier(callee) && isDottedName(set, callee.name, () => []),
    };
    return { reason: siteReason(facts, rules) };
  }
  const written = skipTypeWrappers(t.isTaggedTemplateExpression(node) ? node.tag : node.callee);
  if (t.isSuper(written)) return {};
  const indirect = t.isCallExpression(node) ? indirectCall(node, scope, marks) : undefined;
  const callee = indirect?.fn ?? written;
  const origin = calleeOrigin(scope, callee);
  const facts: CallFacts = {
    shape: "call",
    argumentCount: 0,
    mark: () => marks.ofCallee(scope, callee),
    origin: () => origin,
    named: (set) => {
      const chain = rootAndMembers(callee);
      return isDottedName(set, chain?.root.name, () => chain?.members ?? []);
    },
  };
  const reason = siteReason(facts, rules);
  return { origin, reason, indirect: reason === "marked" || reason === "external" || reason === "fetch" ? indirect?.method : undefined };
}

/**
 * `Reflect.apply(fn, ...)` (the global `Reflect`), and `fn.call(...)`/`fn.apply(...)` where `fn` is a function this
 * file marks: without types any other `x.call(...)` may be a method named `call`, so it stays a method call.
 */
function indirectCall(node: T.CallExpression, scope: Scope, marks: Marks): IndirectCall | undefined {
  const shape = indirectShape(node);
  if (!shape) return undefined;
  if (shape.method === "reflect") return scope.lookup("Reflect") ? undefined : shape;
  return marks.ofCallee(scope, skipTypeWrappers(shape.fn)) ? shape : undefined;
}

/** `statSync(p).isFile()`: the call whose result this call is a method of, with nothing (no `?.`) between. */
function chainedReceiver(node: T.Node): T.CallExpression | undefined {
  if (!t.isCallExpression(node) || !t.isMemberExpression(node.callee)) return undefined;
  const { callee } = node;
  const byName = !callee.computed && t.isIdentifier(callee.property);
  return isChainLink({ byName, optional: false, receiverIsCall: t.isCallExpression(callee.object) }) ? (callee.object as T.CallExpression) : undefined;
}

/** The source text of a node, with the parentheses Babel's tree drops (`(c.m)` stays `(c.m)`). */
function sourceText(code: string, n: T.Node): string {
  const parenStart = (n.extra as { parenStart?: number } | undefined)?.parenStart;
  if (parenStart === undefined) return compactText(code.slice(n.start!, n.end!));
  let depth = 0;
  let end = parenStart;
  for (; end < code.length; end++) {
    if (code[end] === "(") depth++;
    else if (code[end] === ")" && --depth === 0 && end >= n.end!) break;
  }
  return compactText(code.slice(parenStart, end + 1));
}

/** The callee label of ../rules/label.ts. */
function label(code: string, node: CallNode, links: readonly T.CallExpression[]): string {
  if (t.isNewExpression(node)) return calleeLabel("new", sourceText(code, node.callee));
  if (links.length === 0) return calleeLabel("call", sourceText(code, t.isTaggedTemplateExpression(node) ? node.tag : node.callee));
  return calleeLabel("call", sourceText(code, links[0].callee), links.slice(1).map((l) => ((l.callee as T.MemberExpression).property as T.Identifier).name));
}

/** `A`, `ns.B` rooted at a name bound at module level (../rules/site.ts `isModuleLevelBinding`). */
function isModuleLevel(scope: Scope, e: T.Node): boolean {
  while (t.isMemberExpression(e) && !e.computed) e = e.object;
  if (!t.isIdentifier(e)) return false;
  const b = scope.lookup(e.name);
  switch (b?.kind) {
    case "import":
      return isModuleLevelBinding("import", true);
    case "variable":
      return isModuleLevelBinding("variable", b.scope.varScope().parent === null);
    case "function":
      return isModuleLevelBinding("function", b.fn.scope.parent === null);
    case "class":
      return isModuleLevelBinding("class", b.cls.scope.parent === null);
    default:
      return isModuleLevelBinding("other", false);
  }
}

export function analyzeProgram(program: T.Program, code: string, file: string, rules: RuleOptions): BabelAnalysis {
  const walked = walkProgram(program);
  const marks = new Marks();
  const sites: BabelSite[] = [];
  const diagnostics: Diagnostic[] = [];
  const decisions = new Map<T.Node, Decision>();
  const decision = (node: CallNode, scope: Scope): Decision => {
    let d = decisions.get(node);
    if (!d) decisions.set(node, (d = decide(node, scope, marks, rules)));
    return d;
  };
  /**
   * The calls of an immediate chain on an external call, innermost first (empty if none). Without types a method
   * of an external call's result is unknown, so the chain runs whole inside one activity: always faithful (the
   * journal holds the chain's final value), sometimes coarser than with types.
   */
  const chainOf = (node: CallNode, scope: Scope): T.CallExpression[] => {
    const links: T.CallExpression[] = [];
    for (let e = chainedReceiver(node); e; e = chainedReceiver(e)) links.unshift(e);
    return links.length > 0 && decision(links[0], scope).reason === "external" ? [...links, node as T.CallExpression] : [];
  };
  /** A merged chain runs inside one activity: its inner calls are not sites (their arguments still are). */
  const merged = new Set<T.Node>();

  // Outer calls come before the calls they contain, so a merged chain is known before its inner links.
  for (const c of walked.calls) {
    const { node, scope } = c;
    if (merged.has(node) || marks.insideMarked(scope)) continue;
    const { origin, reason: own, indirect } = decision(node, scope);
    if (origin && (t.isCallExpression(node) || t.isOptionalCallExpression(node))) {
      const timer = timerFinding(node, origin, file);
      if (timer) diagnostics.push(timer);
    }
    const links = own === "nondeterministic" || own === "marked" ? [] : chainOf(node, scope);
    const reason = links.length > 0 ? "external" : own;
    if (reason === undefined) continue;
    for (const link of links.slice(0, -1)) merged.add(link);
    const { line, column } = node.loc!.start;
    const info: SiteInfo = { file, line, column: column + 1, callee: label(code, node, links), reason };
    sites.push({ candidate: c, links, indirect: links.length > 0 ? undefined : indirect, info });
    if (reason === "nondeterministic") diagnostics.push(nondeterministicFinding(node, info));
    if (reason === "external" || reason === "fetch") {
      for (const call of links.length > 0 ? links : t.isCallExpression(node) || t.isOptionalCallExpression(node) ? [node] : []) diagnostics.push(...callbackWriteFinding(call, scope, info));
    }
  }
  for (const c of walked.envReads) {
    const env = marks.insideMarked(c.scope) ? undefined : processEnvFinding(c.node, c.scope, file);
    if (env) diagnostics.push(env);
  }
  const errorClasses = new Map<string, T.Expression>();
  for (const c of walked.instanceofs) {
    const right = c.node.right;
    if (!marks.insideMarked(c.scope) && isModuleLevel(c.scope, right)) errorClasses.set(sourceText(code, right), right);
  }
  const byPosition = (a: { line: number; column: number }, b: { line: number; column: number }) => a.line - b.line || a.column - b.column;
  sites.sort((a, b) => byPosition(a.info, b.info));
  diagnostics.sort(byPosition);
  return { sites, diagnostics, aktsSpecifiers: walked.aktsSpecifiers, errorClasses: [...errorClasses.values()] };
}
