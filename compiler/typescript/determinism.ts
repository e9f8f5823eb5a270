/**
 * Determinism findings in workflow code: what would make a replay take another path than the run it replays.
 * One check per code, each deciding about one node of workflow code (./workflow.ts), each a definition of ../rules/findings.ts.
 * docs/determinism.md lists each code, what exactly counts, and its fix.
 */
import type * as ts from "typescript";
import { COLLECTION_CLASSES, COLLECTION_MUTATORS, JOURNALED_AKTS_CALLS, RACING_COMBINATORS, TIMER_GLOBALS, TIMER_MODULES, normalizeModule } from "../rules/tables";
import { calleeOrigin, globalName, globalNameTest, importedFrom, skipOuter } from "./resolve";
import { perTypeScript } from "./context";
import { aktsExport } from "./marks";
import { mayBeBound } from "./bound-names";
import { FINDINGS } from "../rules/findings";
import { findingAt, type PassContext } from "./pass";
import { accessPath, writtenTarget } from "./writes";
import type { ActivityCall } from "./activities";
import type { Diagnostic } from "../types";

/** What the checks share about the file: its activity sites by node. */
interface Facts {
  readonly sites: ReadonlyMap<ts.Node, ActivityCall>;
}

type Check = (p: PassContext, node: ts.Node, facts: Facts) => Diagnostic | undefined;

const isTimer = globalNameTest(TIMER_GLOBALS);
const isRacing = globalNameTest(RACING_COMBINATORS);

/** AKTS1002: a global timer, or anything imported from `timers` / `timers/promises`. */
const timer: Check = (p, node) => {
  if (!p.ts.isCallExpression(node)) return undefined;
  const origin = calleeOrigin(p, node.expression);
  if (origin.kind === "lib" && isTimer(p.ts, node.expression)) {
    return findingAt(p, node, FINDINGS.timer, globalName(p.ts, node.expression));
  }
  if (origin.kind === "module" && TIMER_MODULES.has(normalizeModule(origin.module))) {
    return findingAt(p, node, FINDINGS.timer, `${origin.module}:${origin.member}`);
  }
  return undefined;
};

/** An activity call, `sleep()`/`nextEvent()` from akts, or a const holding one: a promise whose completion is journaled. */
function isJournaledPromise(p: PassContext, e: ts.Expression, facts: Facts): boolean {
  const t = p.ts;
  e = skipOuter(t, e);
  if (facts.sites.has(e)) return true;
  if (t.isCallExpression(e)) return JOURNALED_AKTS_CALLS.has(aktsExport(p, e.expression) ?? "");
  if (!t.isIdentifier(e)) return false;
  const decl = p.checker.getSymbolAtLocation(e)?.valueDeclaration;
  const isConst = decl && t.isVariableDeclaration(decl) && t.isVariableDeclarationList(decl.parent) && (decl.parent.flags & t.NodeFlags.Const) !== 0;
  return isConst && decl.initializer !== undefined && !t.isIdentifier(skipOuter(t, decl.initializer)) ? isJournaledPromise(p, decl.initializer, facts) : false;
}

/** AKTS1004: `Promise.race`/`Promise.any` over an array literal whose elements are not all journaled promises. */
const race: Check = (p, node, facts) => {
  const t = p.ts;
  if (!t.isCallExpression(node)) return undefined;
  if (!isRacing(t, node.expression) || calleeOrigin(p, node.expression).kind !== "lib") return undefined;
  const arg = node.arguments[0] && skipOuter(t, node.arguments[0]);
  if (arg && t.isArrayLiteralExpression(arg) && arg.elements.every((e) => isJournaledPromise(p, e, facts))) return undefined;
  return findingAt(p, node, FINDINGS.race, globalName(t, node.expression));
};

/**
 * The module-level variable (of any project file) that `target` writes through, as written: `x` for `x`, `x.a`,
 * `x[k].b`; `ns.x` for `ns.x.a` where `ns` is a namespace import (`import * as ns`) of the module declaring `x`.
 */
function moduleState(p: PassContext, target: ts.Expression): string | undefined {
  const t = p.ts;
  const [root, member] = accessPath(t, target);
  if (!root) return undefined;
  const sym = aliased(p, p.checker.getSymbolAtLocation(root));
  if (sym && sym.flags & t.SymbolFlags.ValueModule && member && t.isPropertyAccessExpression(member)) {
    return isModuleVariable(p, aliased(p, p.checker.getSymbolAtLocation(member.name))) ? `${(root as ts.Identifier).text}.${member.name.text}` : undefined;
  }
  return isModuleVariable(p, sym) ? (root as ts.Identifier).text : undefined;
}

function aliased(p: PassContext, sym: ts.Symbol | undefined): ts.Symbol | undefined {
  return sym && sym.flags & p.ts.SymbolFlags.Alias ? p.checker.getAliasedSymbol(sym) : sym;
}

/** Is this a variable declared at the top of a project file? */
function isModuleVariable(p: PassContext, sym: ts.Symbol | undefined): boolean {
  const t = p.ts;
  const decl = sym?.valueDeclaration;
  if (!decl || !t.isVariableDeclaration(decl)) return false;
  const statement = decl.parent.parent;
  if (!t.isVariableStatement(statement) || !t.isSourceFile(statement.parent)) return false;
  const sf = statement.parent;
  return !(sf.isDeclarationFile || p.program?.isSourceFileFromExternalLibrary(sf));
}

/** AKTS1003: a write to a module-level variable, or to a property of the object it holds. */
const moduleWrite: Check = (p, node) => {
  const target = writtenTarget(p.ts, node);
  const name = target && moduleState(p, target);
  return name ? findingAt(p, node, FINDINGS.moduleWrite, name) : undefined;
};

/** AKTS1003: a mutating method of a builtin Array/Map/Set/WeakMap/WeakSet reached from a module-level variable. */
const moduleMutation: Check = (p, node) => {
  const t = p.ts;
  if (!t.isCallExpression(node) || !t.isPropertyAccessExpression(node.expression) || !COLLECTION_MUTATORS.has(node.expression.name.text)) return undefined;
  const receiver = node.expression.expression;
  const type = p.checker.getTypeAtLocation(receiver);
  if (!p.checker.isArrayType(type) && !COLLECTION_CLASSES.has(type.getSymbol()?.getName() ?? "")) return undefined;
  const name = moduleState(p, receiver);
  return name ? findingAt(p, node, FINDINGS.moduleMutation, name, node.expression.name.text) : undefined;
};

/** Is `id` Node's `process` (the global, or imported from `process`), not a variable of the same name? */
function isNodeProcessModule(p: PassContext, id: ts.Identifier): boolean {
  const imp = importedFrom(p, id);
  if (imp) return normalizeModule(imp.module) === "process";
  const decls = p.checker.getSymbolAtLocation(id)?.declarations ?? [];
  return decls.length > 0 && decls.every((d) => d.getSourceFile().isDeclarationFile);
}

/** AKTS1005: `process.env` (global or imported `process`), or `env` imported from `process`. */
const processEnv: Check = (p, node) => {
  const t = p.ts;
  if (t.isPropertyAccessExpression(node) && node.name.text === "env" && t.isIdentifier(node.expression) && node.expression.text === "process") {
    return isNodeProcessModule(p, node.expression) ? findingAt(p, node, FINDINGS.processEnv) : undefined;
  }
  if (t.isIdentifier(node) && !(t.isPropertyAccessExpression(node.parent) && node.parent.name === node) && mayBeBound(p, node, "env")) {
    const imp = importedFrom(p, node);
    if (imp && normalizeModule(imp.module) === "process" && imp.imported === "env") return findingAt(p, node, FINDINGS.processEnv);
  }
  return undefined;
};

const PROMISE_CONTINUATIONS = new Set(["then", "catch", "finally"]);

function isPromise(p: PassContext, e: ts.Expression): boolean {
  const name = p.checker.getTypeAtLocation(e).getSymbol()?.getName();
  return name === "Promise" || name === "PromiseLike";
}

/** AKTS1006: a statement that is an async activity call (or a `.then/.catch/.finally` chain on one) and nothing else. */
const floatingActivity: Check = (p, node, facts) => {
  const t = p.ts;
  if (!t.isExpressionStatement(node)) return undefined;
  let e = skipOuter(t, node.expression);
  while (t.isCallExpression(e) && t.isPropertyAccessExpression(e.expression) && PROMISE_CONTINUATIONS.has(e.expression.name.text) && isPromise(p, e.expression.expression)) {
    e = skipOuter(t, e.expression.expression);
  }
  const site = facts.sites.get(e);
  if (!site || !isPromise(p, e)) return undefined;
  return findingAt(p, e, FINDINGS.floatingActivity, site.info.callee);
};

/** Each check with the node kinds it can report on, in the order findings on one node are reported. */
const CHECKS: readonly { readonly check: Check; readonly kinds: (k: typeof ts.SyntaxKind) => ts.SyntaxKind[] }[] = [
  { check: timer, kinds: (k) => [k.CallExpression] },
  { check: race, kinds: (k) => [k.CallExpression] },
  { check: moduleWrite, kinds: (k) => [k.BinaryExpression, k.PrefixUnaryExpression, k.PostfixUnaryExpression, k.DeleteExpression] },
  { check: moduleMutation, kinds: (k) => [k.CallExpression] },
  { check: processEnv, kinds: (k) => [k.PropertyAccessExpression, k.Identifier] },
  { check: floatingActivity, kinds: (k) => [k.ExpressionStatement] },
];

/** The checks by node kind: most nodes have none. */
const checksByKind = perTypeScript((t): ReadonlyMap<ts.SyntaxKind, readonly Check[]> => {
  const map = new Map<ts.SyntaxKind, Check[]>();
  for (const { check, kinds } of CHECKS) for (const kind of kinds(t.SyntaxKind)) map.set(kind, [...(map.get(kind) ?? []), check]);
  return map;
});

/**
 * Collects, in walk order, the nodes of workflow code the checks look at: handed to the site search's walk
 * (findActivities' `alsoVisit`), since some checks need the file's sites, which are known only after it.
 */
export function determinismNodes(t: typeof ts): { readonly nodes: ts.Node[]; readonly visit: (node: ts.Node) => void } {
  const byKind = checksByKind(t);
  const nodes: ts.Node[] = [];
  return { nodes, visit: (node) => void (byKind.has(node.kind) && nodes.push(node)) };
}

/** The findings on `nodes` (determinismNodes), in their order, after AKTS1001 for each nondeterministic site. */
export function determinismPass(p: PassContext, nodes: readonly ts.Node[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  // AKTS1001: nondeterministic builtins are sites (findActivities); each is also reported.
  for (const s of p.sites) {
    if (s.info.reason === "nondeterministic") out.push(findingAt(p, s.node, FINDINGS.nondeterministic, s.info.callee));
  }
  const facts: Facts = { sites: new Map(p.sites.map((s) => [s.node, s])) };
  const byKind = checksByKind(p.ts);
  for (const node of nodes) {
    for (const check of byKind.get(node.kind) as readonly Check[]) {
      const d = check(p, node, facts);
      if (d) out.push(d);
    }
  }
  return out;
}
