/**
 * Names bound by imports, found without the checker. Asking where an identifier was imported from
 * (resolve.importedFrom) makes the checker resolve it through its scopes, and most identifiers are not bound to
 * what a question is about (akts, an export named `env`): a name that nothing binds so is not asked about.
 * An identifier's binding is in its own file or, as a global, at the top level of one of the program's scripts
 * (files that are not modules).
 */
import type * as ts from "typescript";
import { AKTS_MODULES } from "../rules/tables";
import type { ResolveContext } from "./context";

export interface BoundNames {
  /** Bound to an akts module or one of its exports (`import { sleep } from "akts"`, `const akts = require("akts")`). */
  readonly akts: ReadonlySet<string>;
  /** Bound to an export named `env`, of any module (`import { env as e } from "process"`, `const { env } = require(…)`). */
  readonly env: ReadonlySet<string>;
  /** Bound by an import or a `require`/`import()` of any module: the names resolve.importedFrom can answer for. */
  readonly imported: ReadonlySet<string>;
}

type NameSets = { [K in keyof BoundNames]: Set<string> };

/**
 * Is this the kind of a type node (`Item[]`, the `T` of `x as T`, `typeof counter` in a type)? Types are erased:
 * they bind no values and nothing in them runs, so the walks over a file's code do not enter them.
 */
export function isTypeNodeKind(t: typeof ts, kind: ts.SyntaxKind): boolean {
  return kind >= t.SyntaxKind.FirstTypeNode && kind <= t.SyntaxKind.LastTypeNode;
}

/** `await import("x")`, `(require("x"))` → the call. */
export function skipAwait(t: typeof ts, e: ts.Expression): ts.Expression {
  while (t.isAwaitExpression(e) || t.isParenthesizedExpression(e)) e = e.expression;
  return e;
}

/** `require("x")` or `import("x")` → "x". */
export function requireSpecifier(t: typeof ts, e: ts.Expression): string | undefined {
  if (!t.isCallExpression(e) || e.arguments.length !== 1 || !t.isStringLiteral(e.arguments[0])) return undefined;
  if (e.expression.kind === t.SyntaxKind.ImportKeyword) return e.arguments[0].text;
  if (t.isIdentifier(e.expression) && e.expression.text === "require") return e.arguments[0].text;
  return undefined;
}

function addPatternNames(t: typeof ts, name: ts.BindingName, to: Set<string>): void {
  if (t.isIdentifier(name)) to.add(name.text);
  else for (const e of name.elements) if (t.isBindingElement(e)) addPatternNames(t, e.name, to);
}

/**
 * Where `words` are in a file's text, in order: a walk looking for names or strings that hold one of them need not
 * enter a subtree whose text has none. Undefined when the file has escapes that can spell a word without writing
 * it (`"\u0061kts"`, `\u0063lient`): then every subtree must be entered.
 */
export function wordPositions(text: string, words: Iterable<string>): number[] | undefined {
  if (/\\[ux0-9\r\n\u2028\u2029]/.test(text)) return undefined;
  const at: number[] = [];
  for (const word of words) {
    for (let i = text.indexOf(word); i >= 0; i = text.indexOf(word, i + 1)) at.push(i);
  }
  return at.sort((a, b) => a - b);
}

/** Is there a position in [start, end) in the sorted list? */
export function anyWithin(at: readonly number[], start: number, end: number): boolean {
  let lo = 0;
  let hi = at.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (at[mid] < start) lo = mid + 1;
    else hi = mid;
  }
  return lo < at.length && at[lo] < end;
}

function collect(t: typeof ts, sf: ts.SourceFile, names: NameSets): void {
  const k = t.SyntaxKind;
  // A binding collected here has one of these words in its source (`import`, `require`, the `env` name).
  const words = wordPositions(sf.text, ["import", "require", "env"]);
  const isAkts = (spec: ts.Expression | undefined) => spec !== undefined && t.isStringLiteral(spec) && AKTS_MODULES.has(spec.text);
  // Every node of the file may pass here: one test of its kind, and types (which bind no values) are not entered.
  const visit = (n: ts.Node): undefined => {
    if (words && !anyWithin(words, n.pos, n.end)) return undefined;
    switch (n.kind) {
      case k.ImportDeclaration:
        importNames(n as ts.ImportDeclaration);
        return undefined;
      case k.ImportEqualsDeclaration: {
        const decl = n as ts.ImportEqualsDeclaration;
        if (t.isExternalModuleReference(decl.moduleReference)) {
          names.imported.add(decl.name.text);
          if (isAkts(decl.moduleReference.expression)) names.akts.add(decl.name.text);
        }
        return undefined;
      }
      case k.VariableDeclaration: {
        const decl = n as ts.VariableDeclaration;
        const spec = decl.initializer && requireSpecifier(t, skipAwait(t, decl.initializer));
        if (spec !== undefined) addPatternNames(t, decl.name, names.imported);
        if (spec !== undefined && AKTS_MODULES.has(spec)) addPatternNames(t, decl.name, names.akts);
        break;
      }
      case k.BindingElement: {
        const e = n as ts.BindingElement;
        if (t.isIdentifier(e.name) && (e.propertyName && t.isIdentifier(e.propertyName) ? e.propertyName : e.name).text === "env") names.env.add(e.name.text);
        break;
      }
      case k.InterfaceDeclaration:
      case k.TypeAliasDeclaration:
        return undefined;
      default:
        if (isTypeNodeKind(t, n.kind)) return undefined;
    }
    t.forEachChild(n, visit);
    return undefined;
  };
  const importNames = (n: ts.ImportDeclaration) => {
    const clause = n.importClause;
    const akts = isAkts(n.moduleSpecifier);
    const bind = (name: ts.Identifier) => {
      names.imported.add(name.text);
      if (akts) names.akts.add(name.text);
    };
    if (clause?.name) bind(clause.name);
    const bindings = clause?.namedBindings;
    if (bindings && t.isNamespaceImport(bindings)) bind(bindings.name);
    if (bindings && t.isNamedImports(bindings)) {
      for (const s of bindings.elements) {
        bind(s.name);
        if ((s.propertyName ?? s.name).text === "env") names.env.add(s.name.text);
      }
    }
  };
  visit(sf);
}

function namesIn(t: typeof ts, files: Iterable<ts.SourceFile>): BoundNames {
  const names: NameSets = { akts: new Set(), env: new Set(), imported: new Set() };
  for (const sf of files) collect(t, sf, names);
  return names;
}

/** A file's own names depend on its text only: kept per file, so a language service's next program reuses them. */
const FILE_NAMES = new WeakMap<ts.SourceFile, BoundNames | undefined>();
const SCRIPT_NAMES = new WeakMap<ts.Program, BoundNames>();

/**
 * Undefined when the file cannot be indexed by its syntax: a JSDoc `@import` binds names that the syntax walk does
 * not see.
 */
function fileNames(t: typeof ts, sf: ts.SourceFile): BoundNames | undefined {
  if (!FILE_NAMES.has(sf)) FILE_NAMES.set(sf, sf.text.includes("@import") ? undefined : namesIn(t, [sf]));
  return FILE_NAMES.get(sf);
}

function scriptNames(t: typeof ts, program: ts.Program): BoundNames {
  let names = SCRIPT_NAMES.get(program);
  if (!names) {
    // Declaration files are left out: an ambient declaration has no initializer, so it binds nothing from require().
    const scripts = program.getSourceFiles().filter((sf) => !sf.isDeclarationFile && !t.isExternalModule(sf));
    SCRIPT_NAMES.set(program, (names = namesIn(t, scripts)));
  }
  return names;
}

/**
 * Can the name `id` be bound to `what` (which importedFrom would answer)? False only when it certainly is not;
 * without a program the scripts are unknown, so always true.
 */
export function mayBeBound(c: ResolveContext, id: ts.Identifier, what: keyof BoundNames): boolean {
  if (!c.program) return true;
  const own = fileNames(c.ts, id.getSourceFile());
  return own === undefined || own[what].has(id.text) || scriptNames(c.ts, c.program)[what].has(id.text);
}
