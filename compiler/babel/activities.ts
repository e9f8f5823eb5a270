/**
 * The Babel front end's one pass: the same decisions as ../activities.ts, from scope bindings instead of types,
 * and the syntactic findings of ./findings.ts on the way. What needs types is listed in docs/babel.md.
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { activityReason, NONDETERMINISTIC_CALLS, NONDETERMINISTIC_NEW, type RuleOptions } from "../rules";
import { compactText } from "../activities";
import type { Diagnostic, SiteInfo, SiteReason } from "../types";
import { calleeOrigin, rootAndMembers } from "./bindings";
import { calleeMark, functionMark } from "./marks";
import { nondeterministicFinding, processEnvFinding, timerFinding } from "./findings";

export type SitePath = NodePath<t.CallExpression | t.OptionalCallExpression | t.TaggedTemplateExpression | t.NewExpression>;

export interface BabelSite {
  readonly path: SitePath;
  readonly info: SiteInfo;
  /** Set when the site is an immediate chain run as one activity (`statSync(p).isFile()`). */
  readonly chain: boolean;
}

export interface BabelAnalysis {
  /** In source order. */
  readonly sites: BabelSite[];
  /** Sorted by line, column. */
  readonly diagnostics: Diagnostic[];
}

/** Is this call, as its own unit, an activity, and why? */
function reasonFor(path: SitePath, rules: RuleOptions): SiteReason | undefined {
  const node = path.node;
  if (t.isNewExpression(node)) {
    const nondet = node.arguments.length === 0 && t.isIdentifier(node.callee) && NONDETERMINISTIC_NEW.has(node.callee.name) && !path.scope.getBinding(node.callee.name);
    return nondet ? "nondeterministic" : undefined;
  }
  const callee = t.isTaggedTemplateExpression(node) ? node.tag : node.callee;
  // `super(...)` constructs, like `new`.
  if (t.isSuper(callee)) return undefined;
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

/** `statSync(p).isFile()`: the receiver is itself a call, not optional on either side. */
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

/** The source text of a node, with the parentheses Babel's tree drops (`(c.m)` stays `(c.m)`). */
function sourceText(code: string, n: t.Node): string {
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

/** The callee label of ../activities.ts: as written, a merged chain as `statSync().isFile`. */
function label(code: string, node: t.Node, chain: boolean): string {
  if (t.isNewExpression(node)) return `new ${sourceText(code, node.callee)}`;
  const callee = t.isTaggedTemplateExpression(node) ? node.tag : (node as t.CallExpression).callee;
  if (!chain || !t.isMemberExpression(callee) || !t.isIdentifier(callee.property)) return sourceText(code, callee);
  const inner = callee.object;
  return `${label(code, inner, chainedReceiver(inner) !== undefined)}().${callee.property.name}`;
}

export function analyzeProgram(program: NodePath<t.Program>, code: string, file: string, rules: RuleOptions): BabelAnalysis {
  const sites: BabelSite[] = [];
  const diagnostics: Diagnostic[] = [];
  const decided = new Map<t.Node, SiteReason | undefined>();
  const decide = (p: SitePath) => {
    if (!decided.has(p.node)) decided.set(p.node, reasonFor(p, rules));
    return decided.get(p.node);
  };
  /** `createHash(...)`, `createHash(...).update(...)`: a call that is, or is chained on, an external call. */
  const startsExternal = (p: SitePath): boolean => decide(p) === "external" || (chainedReceiver(p.node) !== undefined && startsExternal(p.get("callee.object") as SitePath));
  /** A merged chain runs inside one activity: its inner calls are not sites; its arguments are still visited. */
  const merged = new Set<t.Node>();
  // Module-level code is not workflow code; marked functions are skipped whole, so inside a function is enough.
  const inWorkflow = (p: NodePath) => p.getFunctionParent() !== null;

  const visitSite = (p: SitePath) => {
    if (merged.has(p.node) || !inWorkflow(p)) return;
    if (p.isCallExpression() || p.isOptionalCallExpression()) {
      const timer = timerFinding(p, file);
      if (timer) diagnostics.push(timer);
    }
    // Without types a method of an external call's result is unknown, so the chain runs whole inside one
    // activity: always faithful (the journal holds the chain's final value), sometimes coarser than with types.
    const inner = chainedReceiver(p.node) && (p.get("callee.object") as SitePath);
    const merge = inner !== undefined && startsExternal(inner) && !containsSuspension(p.node);
    const reason = merge ? "external" : decide(p);
    if (reason === undefined) return;
    if (merge) for (let e: t.Node = p.node; t.isCallExpression(e) || t.isMemberExpression(e); e = t.isCallExpression(e) ? e.callee : e.object) if (e !== p.node) merged.add(e);
    const { line, column } = p.node.loc!.start;
    const info: SiteInfo = { file, line, column: column + 1, callee: label(code, p.node, merge), reason };
    sites.push({ path: p, chain: merge, info });
    if (reason === "nondeterministic") diagnostics.push(nondeterministicFinding(p.node, info));
  };

  program.traverse({
    Function(p) {
      if (functionMark(p)) p.skip();
    },
    CallExpression: visitSite,
    OptionalCallExpression: visitSite,
    TaggedTemplateExpression: visitSite,
    NewExpression: visitSite,
    MemberExpression(p) {
      const env = processEnvFinding(p, file);
      if (env && inWorkflow(p)) diagnostics.push(env);
    },
  });
  const byPosition = (a: { line: number; column: number }, b: { line: number; column: number }) => a.line - b.line || a.column - b.column;
  sites.sort((a, b) => byPosition(a.info, b.info));
  diagnostics.sort(byPosition);
  return { sites, diagnostics };
}
