/**
 * Finds the activity sites of one source file: a visitor over workflow code (function bodies that are not
 * marked activities), deciding each call with rules.ts through resolve.ts and marks.ts.
 */
import type * as ts from "typescript";
import { activityReason, NONDETERMINISTIC_CALLS, NONDETERMINISTIC_NEW, type RuleOptions } from "./rules";
import { calleeOrigin, globalNameTest, indirectCall, type IndirectCall, type ResolveContext } from "./resolve";
import { calleeMark } from "./marks";
import { forEachWorkflowNode } from "./workflow";
import type { AktsCompilerOptions, SiteInfo, SiteReason } from "./types";

export type SiteNode = ts.CallExpression | ts.TaggedTemplateExpression | ts.NewExpression;

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

export function relativeFile(fileName: string, projectDir: string): string {
  const dir = projectDir.replace(/\\/g, "/").replace(/\/$/, "");
  const file = fileName.replace(/\\/g, "/");
  return file.startsWith(`${dir}/`) ? file.slice(dir.length + 1) : file;
}

/** Only the project's own modules are user code; anything else a program reaches (packages, lib files) is left alone. */
export function isProjectFile(fileName: string, projectDir: string): boolean {
  const file = relativeFile(fileName, projectDir);
  return file !== fileName.replace(/\\/g, "/") && !file.includes("node_modules/");
}

const isNondeterministicCall = globalNameTest(NONDETERMINISTIC_CALLS);

/**
 * Is this call, as its own unit, an activity, and why? The cases, in order:
 * `new Date()` (nondeterministic; any other `new` constructs, it is not a call), `super(...)` (constructs),
 * indirect calls (`fn.call(...)`, `fn.apply(...)`, `Reflect.apply(fn, ...)`: decided by `fn`), marked and opted-out
 * functions, nondeterministic builtins, then where the callee is declared (rules.activityReason).
 */
function reasonFor(c: ResolveContext, node: SiteNode, rules: RuleOptions): SiteReason | undefined {
  const t = c.ts;
  if (t.isNewExpression(node)) {
    const noArgs = !node.arguments || node.arguments.length === 0;
    return noArgs && t.isIdentifier(node.expression) && NONDETERMINISTIC_NEW.has(node.expression.text) && calleeOrigin(c, node.expression).kind === "lib"
      ? "nondeterministic"
      : undefined;
  }
  const written = t.isCallExpression(node) ? node.expression : node.tag;
  if (written.kind === t.SyntaxKind.SuperKeyword) return undefined;
  const callee = (t.isCallExpression(node) && indirectCall(c, node)?.fn) || written;
  const mark = calleeMark(c, callee);
  if (mark === "activity") return "marked";
  if (mark === "noActivity") return undefined;
  const origin = calleeOrigin(c, callee);
  if (origin.kind === "lib" && isNondeterministicCall(t, callee)) return "nondeterministic";
  return activityReason(origin, rules);
}

/** `statSync(p).isFile()`: the call whose result this call is a method of, with nothing (no await, no `?.`) between. */
function chainedReceiver(t: typeof ts, node: SiteNode): ts.CallExpression | undefined {
  if (!t.isCallExpression(node)) return undefined;
  const callee = node.expression;
  if (!t.isPropertyAccessExpression(callee) || callee.questionDotToken) return undefined;
  return t.isCallExpression(callee.expression) && !t.isOptionalChain(callee.expression) ? callee.expression : undefined;
}

/** Source text without layout whitespace: `slack . chat\n.postMessage` → `slack.chat.postMessage`, `new  X` → `new X`. */
export function compactText(text: string): string {
  // Most callees are written without layout: then there is nothing to take out.
  if (!/\s/.test(text)) return text;
  return text.replace(/\s+/g, " ").replace(/ ?([^\w$ ]) ?/g, "$1");
}

/** The callee as written; for a chain, its innermost callee and then each link: `createHash().update().digest`. */
function calleeLabel(t: typeof ts, node: SiteNode, sf: ts.SourceFile, links: readonly ts.CallExpression[]): string {
  if (t.isNewExpression(node)) return `new ${compactText(node.expression.getText(sf))}`;
  if (links.length === 0) return compactText((t.isCallExpression(node) ? node.expression : node.tag).getText(sf));
  const outer = links.slice(1).map((l) => `().${(l.expression as ts.PropertyAccessExpression).name.text}`);
  return compactText(links[0].expression.getText(sf)) + outer.join("");
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
  const decide = (n: SiteNode) => {
    if (!decided.has(n)) decided.set(n, reasonFor(c, n, opts));
    return decided.get(n);
  };

  const add = (node: SiteNode, reason: SiteReason, links: readonly ts.CallExpression[]) => {
    const { line, character } = sf.getLineAndCharacterOfPosition(node.getStart(sf));
    const info = { file, line: line + 1, column: character + 1, callee: calleeLabel(t, node, sf, links), reason };
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
    if ((node.kind !== k.CallExpression && node.kind !== k.TaggedTemplateExpression && node.kind !== k.NewExpression) || skipped.has(node)) return;
    const reason = decide(node as SiteNode);
    if (reason === undefined) return;
    const links = reason === "external" ? chainOf(node as SiteNode) : [];
    add(node as SiteNode, reason, links);
    for (const link of links.slice(0, -1)) skipped.add(link);
  }, alsoVisit !== undefined);
  found.sort((a, b) => a.info.line - b.info.line || a.info.column - b.info.column);
  return found;
}
