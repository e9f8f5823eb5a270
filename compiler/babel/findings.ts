/**
 * The determinism findings the Babel front end can make without types, one node at a time (docs/babel.md lists
 * the rest). Codes and texts are the TypeScript path's (../determinism.ts, ../messages.ts).
 */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { CODES, type Code } from "../../errors/codes";
import { TIMER_GLOBALS, TIMER_MODULES } from "../rules";
import type { Diagnostic, SiteInfo } from "../types";
import { MESSAGES } from "../messages";
import { calleeOrigin, rootAndMembers } from "./bindings";

function at(file: string, node: t.Node, code: Code, message: string, hint?: string): Diagnostic {
  const { line, column } = node.loc!.start;
  return { code, severity: CODES[code].severity, file, line, column: column + 1, message, ...(hint ? { hint } : {}) };
}

/** AKTS1001: a nondeterministic builtin, reported where its site is. */
export function nondeterministicFinding(node: t.Node, site: SiteInfo): Diagnostic {
  return at(site.file, node, "AKTS1001", MESSAGES.nondeterministic(site.callee));
}

/** AKTS1002: `setTimeout` and friends (unbound globals) or anything imported from `timers`/`timers/promises`. */
export function timerFinding(path: NodePath<t.CallExpression | t.OptionalCallExpression>, file: string): Diagnostic | undefined {
  const callee = path.node.callee;
  const origin = calleeOrigin(path, callee);
  const chain = rootAndMembers(callee);
  const global = chain ? [chain.root.name, ...chain.members].join(".") : "";
  const name =
    origin.kind === "lib" && TIMER_GLOBALS.has(global) ? global : origin.kind === "module" && TIMER_MODULES.has(origin.module) ? `${origin.module}:${origin.member}` : undefined;
  return name === undefined ? undefined : at(file, path.node, "AKTS1002", MESSAGES.timer(name), MESSAGES.timerHint);
}

/** AKTS1005: `process.env` read through the global `process` (or one imported from `process`). */
export function processEnvFinding(path: NodePath<t.MemberExpression>, file: string): Diagnostic | undefined {
  const { object, property, computed } = path.node;
  if (computed || !t.isIdentifier(object, { name: "process" }) || !t.isIdentifier(property, { name: "env" })) return undefined;
  const origin = calleeOrigin(path, path.node);
  if (origin.kind !== "lib" && !(origin.kind === "module" && origin.module === "process")) return undefined;
  return at(file, path.node, "AKTS1005", MESSAGES.processEnv, MESSAGES.processEnvHint);
}
