/** The syntactic findings the Babel front end can make without types (docs/babel.md lists the rest). */
import type { NodePath } from "@babel/traverse";
import * as t from "@babel/types";
import { CODES, type Code } from "../../errors/codes";
import { normalizeModule, TIMER_GLOBALS, TIMER_MODULES } from "../rules";
import type { Diagnostic } from "../types";
import type { BabelSite } from "./activities";
import { inWorkflow } from "./activities";
import { importOf } from "./bindings";
import { MESSAGES } from "../messages";

function at(file: string, node: t.Node, code: Code, message: string, hint?: string): Diagnostic {
  const { line, column } = node.loc!.start;
  return { code, severity: CODES[code].severity, file, line, column: column + 1, message, ...(hint ? { hint } : {}) };
}

export function syntacticFindings(program: NodePath<t.Program>, file: string, sites: readonly BabelSite[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  for (const s of sites) if (s.info.reason === "nondeterministic") out.push(at(file, s.path.node, "AKTS1001", MESSAGES.nondeterministic(s.info.callee)));
  program.traverse({
    CallExpression(path) {
      const callee = path.node.callee;
      if (!t.isIdentifier(callee) || !inWorkflow(path)) return;
      const binding = path.scope.getBinding(callee.name);
      const imp = binding && importOf(binding.scope, callee.name);
      const name = !binding && TIMER_GLOBALS.has(callee.name) ? callee.name : imp && TIMER_MODULES.has(normalizeModule(imp.module)) ? `${imp.module}:${imp.imported}` : undefined;
      if (name) out.push(at(file, path.node, "AKTS1002", MESSAGES.timer(name), MESSAGES.timerHint));
    },
    MemberExpression(path) {
      const { object, property } = path.node;
      if (t.isIdentifier(object, { name: "process" }) && t.isIdentifier(property, { name: "env" }) && !path.scope.getBinding("process") && inWorkflow(path)) {
        out.push(at(file, path.node, "AKTS1005", MESSAGES.processEnv, MESSAGES.processEnvHint));
      }
    },
  });
  return out.sort((a, b) => a.line - b.line || a.column - b.column);
}
