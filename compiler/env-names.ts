/**
 * AKTS1005 asks the checker where each identifier of workflow code was imported from, looking for `env` of Node's
 * `process` module. Only a name bound to an export named `env` can be that (`import { env as e } from "process"`,
 * `const { env } = require("process")`), so the names bound so are collected first, without the checker, and the
 * other identifiers are not asked about. A name is bound in the file itself or, as a global, by a project script.
 */
import type * as ts from "typescript";
import type { ResolveContext } from "./resolve";

const SCRIPT_NAMES = new WeakMap<ts.Program, ReadonlySet<string>>();

/** Adds the local names of `{ env }`, `{ env: e }` and `import { env as e }` anywhere under `node`. */
function collect(t: typeof ts, node: ts.Node, names: Set<string>): void {
  const visit = (n: ts.Node): undefined => {
    if (t.isImportSpecifier(n) && (n.propertyName ?? n.name).text === "env") names.add(n.name.text);
    if (t.isBindingElement(n) && t.isIdentifier(n.name) && (n.propertyName && t.isIdentifier(n.propertyName) ? n.propertyName : n.name).text === "env") {
      names.add(n.name.text);
    }
    t.forEachChild(n, visit);
    return undefined;
  };
  visit(node);
}

/**
 * Bindings of the program's scripts (files that are not modules), whose top level is global. Declaration files
 * are left out: an ambient declaration has no initializer, so none of its names comes from `require("process")`.
 */
function scriptNames(c: ResolveContext, program: ts.Program): ReadonlySet<string> {
  let names = SCRIPT_NAMES.get(program);
  if (!names) {
    const found = new Set<string>();
    for (const sf of program.getSourceFiles()) {
      if (!sf.isDeclarationFile && !c.ts.isExternalModule(sf)) collect(c.ts, sf, found);
    }
    SCRIPT_NAMES.set(program, (names = found));
  }
  return names;
}

/** The names in `sf` that may be bound to an `env` export; undefined (every name may) without a program. */
export function envBindingNames(c: ResolveContext, sf: ts.SourceFile): ReadonlySet<string> | undefined {
  if (!c.program) return undefined;
  const names = new Set(scriptNames(c, c.program));
  collect(c.ts, sf, names);
  return names;
}
