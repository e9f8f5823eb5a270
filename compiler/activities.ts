/**
 * Finds the activity sites of one source file: a visitor over workflow code (function bodies that are not
 * marked activities), deciding each call with rules.ts through resolve.ts and marks.ts.
 */
import type * as ts from "typescript";
import { activityReason, NONDETERMINISTIC_CALLS, NONDETERMINISTIC_NEW, type RuleOptions } from "./rules";
import { calleeOrigin, globalName, type ResolveContext } from "./resolve";
import { calleeMark, isFunctionLike } from "./marks";
import { forEachWorkflowNode } from "./workflow";
import type { AktsCompilerOptions, SiteInfo, SiteReason } from "./types";

export type SiteNode = ts.CallExpression | ts.TaggedTemplateExpression | ts.NewExpression;

export interface ActivityCall {
  readonly node: SiteNode;
  readonly info: SiteInfo;
  /** Set when the site is an immediate chain run as one activity (`statSync(p).isFile()`). */
  readonly chain: boolean;
}

export interface FindOptions extends AktsCompilerOptions {
  readonly projectDir: string;
}

export function relativeFile(fileName: string, projectDir: string): string {
  const dir = projectDir.replace(/\\/g, "/").replace(/\/$/, "");
  const file = fileName.replace(/\\/g, "/");
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Is this call, as its own unit, an activity, and why? */
function reasonFor(c: ResolveContext, node: SiteNode, rules: RuleOptions): SiteReason | undefined {
  const t = c.ts;
  if (t.isNewExpression(node)) {
    const noArgs = !node.arguments || node.arguments.length === 0;
    return noArgs && t.isIdentifier(node.expression) && NONDETERMINISTIC_NEW.has(node.expression.text) && calleeOrigin(c, node.expression).kind === "lib"
      ? "nondeterministic"
      : undefined;
  }
  const callee = t.isCallExpression(node) ? node.expression : node.tag;
  // `super(...)` constructs, like `new`.
  if (callee.kind === t.SyntaxKind.SuperKeyword) return undefined;
  const mark = calleeMark(c, callee);
  if (mark === "activity") return "marked";
  if (mark === "noActivity") return undefined;
  const origin = calleeOrigin(c, callee);
  if (origin.kind === "lib" && NONDETERMINISTIC_CALLS.has(globalName(t, callee))) return "nondeterministic";
  return activityReason(origin, rules);
}

/** `statSync(p).isFile()`: the receiver is itself an external call, with nothing (no await) in between. */
function chainedReceiver(t: typeof ts, node: SiteNode): ts.CallExpression | undefined {
  if (!t.isCallExpression(node)) return undefined;
  let e = node.expression;
  if (!t.isPropertyAccessExpression(e) || e.questionDotToken) return undefined;
  e = e.expression;
  return t.isCallExpression(e) && !t.isOptionalChain(e) ? e : undefined;
}

function containsSuspension(t: typeof ts, node: ts.Node): boolean {
  if (t.isAwaitExpression(node) || t.isYieldExpression(node)) return true;
  if (isFunctionLike(t, node)) return false;
  return t.forEachChild(node, (child) => containsSuspension(t, child)) ?? false;
}

/** Source text without layout whitespace: `slack . chat\n.postMessage` → `slack.chat.postMessage`, `new  X` → `new X`. */
export function compactText(text: string): string {
  return text.replace(/\s+/g, " ").replace(/ ?([^\w$ ]) ?/g, "$1");
}

function calleeLabel(t: typeof ts, node: SiteNode, sf: ts.SourceFile, chain: boolean): string {
  if (t.isNewExpression(node)) return `new ${compactText(node.expression.getText(sf))}`;
  const callee = t.isCallExpression(node) ? node.expression : node.tag;
  if (!chain || !t.isPropertyAccessExpression(callee)) return compactText(callee.getText(sf));
  const inner = callee.expression as SiteNode;
  return `${calleeLabel(t, inner, sf, chainedReceiver(t, inner) !== undefined)}().${callee.name.text}`;
}

export function findActivities(tsx: typeof ts, checker: ts.TypeChecker, sf: ts.SourceFile, opts: FindOptions, program?: ts.Program): ActivityCall[] {
  const c: ResolveContext = { ts: tsx, checker, program: program ?? ({ isSourceFileDefaultLibrary: () => false } as unknown as ts.Program) };
  const t = tsx;
  const file = relativeFile(sf.fileName, opts.projectDir);
  const found: ActivityCall[] = [];
  // Only the project's own modules are user code; anything else reached by the program is left alone.
  if (file === sf.fileName.replace(/\\/g, "/") || file.includes("node_modules/")) return found;
  const decided = new Map<ts.Node, SiteReason | undefined>();
  const decide = (n: SiteNode) => {
    if (!decided.has(n)) decided.set(n, reasonFor(c, n, opts));
    return decided.get(n);
  };

  const add = (node: SiteNode, reason: SiteReason, chain: boolean) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    found.push({ node, chain, info: { file, line: line + 1, column: character + 1, callee: calleeLabel(t, node, sf, chain), reason } });
  };

  /** A merged chain runs inside one activity: its inner calls are not sites; its arguments are still visited. */
  const skipped = new Set<ts.Node>();
  const markChain = (node: ts.Node): void => {
    let e: ts.Node = node;
    while (t.isCallExpression(e) || t.isPropertyAccessExpression(e)) {
      if (e !== node) skipped.add(e);
      e = e.expression;
    }
  };

  forEachWorkflowNode(c, sf, (node) => {
    if (skipped.has(node) || !(t.isCallExpression(node) || t.isTaggedTemplateExpression(node) || t.isNewExpression(node))) return;
    const reason = decide(node);
    if (reason === undefined) return;
    const inner = reason === "external" ? chainedReceiver(t, node) : undefined;
    const merge = inner !== undefined && decide(inner) === "external" && !containsSuspension(t, node);
    add(node, reason, merge);
    if (merge) markChain(node);
  });
  found.sort((a, b) => a.info.line - b.info.line || a.info.column - b.info.column);
  return found;
}
