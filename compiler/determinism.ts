/**
 * Determinism findings in workflow code: what would make a replay take another path than the run it replays.
 * docs/determinism.md lists each code with its fix.
 */
import type * as ts from "typescript";
import { CODES, type Code } from "../errors/codes";
import { RACING_COMBINATORS, TIMER_GLOBALS, TIMER_MODULES, normalizeModule } from "./rules";
import { calleeOrigin, globalName, importedFrom, rootIdentifier, type ResolveContext } from "./resolve";
import type { ActivityCall } from "./activities";
import { forEachWorkflowNode } from "./workflow";
import type { Diagnostic } from "./types";
import { MESSAGES } from "./messages";

export interface PassContext extends ResolveContext {
  readonly sf: ts.SourceFile;
  readonly file: string;
  readonly sites: readonly ActivityCall[];
}

export function diagnostic(p: PassContext, node: ts.Node, code: Code, message: string, hint?: string): Diagnostic {
  const { line, character } = p.sf.getLineAndCharacterOfPosition(node.getStart(p.sf));
  return { code, severity: CODES[code].severity, file: p.file, line: line + 1, column: character + 1, message, ...(hint ? { hint } : {}) };
}

function isTimerCall(p: PassContext, call: ts.CallExpression): string | undefined {
  const t = p.ts;
  const origin = calleeOrigin(p, call.expression);
  const name = globalName(t, call.expression);
  if (origin.kind === "lib" && TIMER_GLOBALS.has(name)) return name;
  if (origin.kind === "module" && TIMER_MODULES.has(normalizeModule(origin.module))) return `${origin.module}:${origin.member}`;
  return undefined;
}

/** A module-level `let`/`var` (or a module-level collection being mutated) that workflow code writes. */
function moduleVariable(p: PassContext, target: ts.Expression): ts.Identifier | undefined {
  const t = p.ts;
  const id = rootIdentifier(t, target);
  if (!id) return undefined;
  const decl = p.checker.getSymbolAtLocation(id)?.valueDeclaration;
  if (!decl || !t.isVariableDeclaration(decl) || decl.getSourceFile() !== p.sf) return undefined;
  const statement = decl.parent?.parent;
  return statement && t.isVariableStatement(statement) && t.isSourceFile(statement.parent) ? id : undefined;
}

const COLLECTIONS = new Set(["Array", "Map", "Set", "WeakMap", "WeakSet"]);

/** Arrays, Maps and Sets: the module-level state that mutator methods change. */
function isCollection(p: PassContext, e: ts.Expression): boolean {
  const type = p.checker.getTypeAtLocation(e);
  return p.checker.isArrayType(type) || COLLECTIONS.has(type.getSymbol()?.getName() ?? "");
}

const MUTATORS = new Set(["push", "pop", "shift", "unshift", "splice", "sort", "reverse", "fill", "set", "delete", "clear", "add"]);

const ASSIGNMENTS = new Set<number>();

function isAssignmentOperator(t: typeof ts, kind: ts.SyntaxKind): boolean {
  if (ASSIGNMENTS.size === 0) for (let k = t.SyntaxKind.FirstAssignment; k <= t.SyntaxKind.LastAssignment; k++) ASSIGNMENTS.add(k);
  return ASSIGNMENTS.has(kind);
}

export function determinismPass(p: PassContext): Diagnostic[] {
  const t = p.ts;
  const out: Diagnostic[] = [];
  const siteNodes = new Set<ts.Node>(p.sites.map((s) => s.node));
  for (const s of p.sites) {
    if (s.info.reason === "nondeterministic") {
      out.push(diagnostic(p, s.node, "AKTS1001", MESSAGES.nondeterministic(s.info.callee)));
    }
  }
  forEachWorkflowNode(p, p.sf, (node) => {
    if (t.isCallExpression(node)) {
      const timer = isTimerCall(p, node);
      if (timer) out.push(diagnostic(p, node, "AKTS1002", MESSAGES.timer(timer), MESSAGES.timerHint));
      const name = globalName(t, node.expression);
      if (RACING_COMBINATORS.has(name) && calleeOrigin(p, node.expression).kind === "lib") {
        const arg = node.arguments[0];
        const elements = arg && t.isArrayLiteralExpression(arg) ? arg.elements : undefined;
        const allActivities = elements !== undefined && elements.every((e) => siteNodes.has(e));
        if (!allActivities) {
          out.push(diagnostic(p, node, "AKTS1004", `${name} over promises that are not all activities: the winner can differ on replay`, "race only activity calls, whose completion order is journaled"));
        }
      }
      const callee = node.expression;
      if (t.isPropertyAccessExpression(callee) && MUTATORS.has(callee.name.text) && isCollection(p, callee.expression)) {
        const id = moduleVariable(p, callee.expression);
        if (id) out.push(diagnostic(p, node, "AKTS1003", `workflow code mutates module-level '${id.text}' (${callee.name.text})`, "module state is not journaled: a replay starts from a fresh module; keep state in local variables"));
      }
    }
    if (t.isBinaryExpression(node) && isAssignmentOperator(t, node.operatorToken.kind)) {
      const id = moduleVariable(p, node.left);
      if (id) out.push(diagnostic(p, node, "AKTS1003", `workflow code writes module-level '${id.text}'`, "module state is not journaled: a replay starts from a fresh module; keep state in local variables"));
    }
    if ((t.isPrefixUnaryExpression(node) || t.isPostfixUnaryExpression(node)) && (node.operator === t.SyntaxKind.PlusPlusToken || node.operator === t.SyntaxKind.MinusMinusToken)) {
      const id = moduleVariable(p, node.operand);
      if (id) out.push(diagnostic(p, node, "AKTS1003", `workflow code writes module-level '${id.text}'`, "module state is not journaled: a replay starts from a fresh module; keep state in local variables"));
    }
    if (t.isPropertyAccessExpression(node) && node.name.text === "env" && t.isIdentifier(node.expression) && node.expression.text === "process") {
      const imp = importedFrom(p, node.expression);
      if (!imp || normalizeModule(imp.module) === "process") {
        out.push(diagnostic(p, node, "AKTS1005", MESSAGES.processEnv, MESSAGES.processEnvHint));
      }
    }
    if (t.isExpressionStatement(node)) {
      let e = node.expression;
      while (t.isParenthesizedExpression(e)) e = e.expression;
      if (siteNodes.has(e) && isPromise(p, e)) {
        out.push(diagnostic(p, e, "AKTS1006", "activity promise is neither awaited nor used: the session can end before it is journaled", "await it, return it, or collect it in Promise.all"));
      }
    }
  });
  return out;
}

function isPromise(p: PassContext, e: ts.Expression): boolean {
  const type = p.checker.getTypeAtLocation(e);
  const name = type.getSymbol()?.getName();
  return name === "Promise" || name === "PromiseLike";
}
