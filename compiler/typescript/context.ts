/**
 * What every question the TypeScript front end asks about a program takes, and how its answers are kept.
 */
import type * as ts from "typescript";

export interface ResolveContext {
  readonly ts: typeof ts;
  readonly checker: ts.TypeChecker;
  /** Optional: without it, TypeScript's lib files are recognized by their `no-default-lib` reference. */
  readonly program?: ts.Program;
}

/**
 * A question answered once per program (or per checker when there is none): the site search and the determinism
 * checks ask about the same callees, and calls share declarations. Keyed weakly, so a language service's old
 * programs take their answers with them.
 */
export function perProgram<K extends object, V>(answer: (c: ResolveContext, key: K) => V): (c: ResolveContext, key: K) => V {
  const known = new WeakMap<object, WeakMap<K, V>>();
  return (c, key) => {
    const owner = c.program ?? c.checker;
    let answers = known.get(owner);
    if (!answers) known.set(owner, (answers = new WeakMap()));
    if (answers.has(key)) return answers.get(key) as V;
    const value = answer(c, key);
    answers.set(key, value);
    return value;
  };
}

/**
 * A value made once per TypeScript instance: tables keyed by SyntaxKind, whose numbers differ between versions
 * (a process may load 5.x and 6.x).
 */
export function perTypeScript<V>(make: (t: typeof ts) => V): (t: typeof ts) => V {
  const made = new WeakMap<typeof ts, V>();
  return (t) => {
    if (!made.has(t)) made.set(t, make(t));
    return made.get(t) as V;
  };
}
