/**
 * The determinism findings the Babel front end can make without types, one node at a time (docs/babel.md lists
 * the rest). Codes and texts are the TypeScript path's (../determinism.ts, ../messages.ts).
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { CODES, type Code } from "../../errors/codes";
import { TIMER_GLOBALS, TIMER_MODULES, type CalleeOrigin } from "../rules";
import type { Diagnostic, SiteInfo } from "../types";
import { MESSAGES } from "../messages";
import { calleeOrigin } from "./bindings";
import type { Scope } from "./scope";

function at(file: string, node: T.Node, code: Code, message: string, hint?: string): Diagnostic {
  const { line, column } = node.loc!.start;
  return { code, severity: CODES[code].severity, file, line, column: column + 1, message, ...(hint ? { hint } : {}) };
}

/** AKTS1001: a nondeterministic builtin, reported where its site is. */
export function nondeterministicFinding(node: T.Node, site: SiteInfo): Diagnostic {
  return at(site.file, node, "AKTS1001", MESSAGES.nondeterministic(site.callee));
}

/** AKTS1002: `setTimeout` and friends (unbound globals) or anything imported from `timers`/`timers/promises`. */
export function timerFinding(node: T.CallExpression | T.OptionalCallExpression, origin: CalleeOrigin, file: string): Diagnostic | undefined {
  if (origin.kind === "module") return TIMER_MODULES.has(origin.module) ? at(file, node, "AKTS1002", MESSAGES.timer(`${origin.module}:${origin.member}`), MESSAGES.timerHint) : undefined;
  if (origin.kind !== "lib" || !t.isIdentifier(node.callee) || !TIMER_GLOBALS.has(node.callee.name)) return undefined;
  return at(file, node, "AKTS1002", MESSAGES.timer(node.callee.name), MESSAGES.timerHint);
}

/** AKTS1005: `process.env` read through the global `process` (or one imported from `process`). */
export function processEnvFinding(node: T.MemberExpression, scope: Scope, file: string): Diagnostic | undefined {
  const origin = calleeOrigin(scope, node);
  if (origin.kind !== "lib" && !(origin.kind === "module" && origin.module === "process")) return undefined;
  return at(file, node, "AKTS1005", MESSAGES.processEnv, MESSAGES.processEnvHint);
}
