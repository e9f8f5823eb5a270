/**
 * The findings the Babel front end can make without types (those of ../rules/findings.ts whose `needsTypes` is
 * false), one node at a time. Codes and texts are the definitions', as on the TypeScript path.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { TIMER_GLOBALS, TIMER_MODULES } from "../rules/tables";
import type { CalleeOrigin } from "../rules/origin";
import { FINDINGS, finding, type FindingDefinition } from "../rules/findings";
import type { Diagnostic, SiteInfo } from "../types";
import { calleeOrigin } from "./bindings";
import type { Scope } from "./scope";

function at<A extends readonly unknown[]>(file: string, node: T.Node, definition: FindingDefinition<A>, ...args: A): Diagnostic {
  const { line, column } = node.loc!.start;
  return finding(definition, { file, line, column: column + 1 }, ...args);
}

/** AKTS1001: a nondeterministic builtin, reported where its site is. */
export function nondeterministicFinding(node: T.Node, site: SiteInfo): Diagnostic {
  return at(site.file, node, FINDINGS.nondeterministic, site.callee);
}

/** AKTS1002: `setTimeout` and friends (unbound globals) or anything imported from `timers`/`timers/promises`. */
export function timerFinding(node: T.CallExpression | T.OptionalCallExpression, origin: CalleeOrigin, file: string): Diagnostic | undefined {
  if (origin.kind === "module") return TIMER_MODULES.has(origin.module) ? at(file, node, FINDINGS.timer, `${origin.module}:${origin.member}`) : undefined;
  if (origin.kind !== "lib" || !t.isIdentifier(node.callee) || !TIMER_GLOBALS.has(node.callee.name)) return undefined;
  return at(file, node, FINDINGS.timer, node.callee.name);
}

/** AKTS1005: `process.env` read through the global `process` (or one imported from `process`). */
export function processEnvFinding(node: T.MemberExpression, scope: Scope, file: string): Diagnostic | undefined {
  const origin = calleeOrigin(scope, node);
  if (origin.kind !== "lib" && !(origin.kind === "module" && origin.module === "process")) return undefined;
  return at(file, node, FINDINGS.processEnv);
}
