/**
 * Explicit marking: `activity(fn)`, `@activity` on class methods, `/** @activity *\/` on a function; and the
 * opt-out `noActivity(fn)` / `/** @noActivity *\/`. A marked function's calls are one activity each; the body of a
 * marked or opted-out function is not workflow code and is never rewritten.
 */
import type * as ts from "typescript";
import { JSDOC_ACTIVITY, JSDOC_NO_ACTIVITY, MARK_ACTIVITY, MARK_NO_ACTIVITY, AKTS_MODULES } from "./rules";
import { mayBeBound } from "./bound-names";
import { importedFrom, perProgram, perTypeScript, resolvedSymbol, type ResolveContext } from "./resolve";

export type Mark = "activity" | "noActivity";

export type FunctionLike =
  | ts.FunctionDeclaration
  | ts.FunctionExpression
  | ts.ArrowFunction
  | ts.MethodDeclaration
  | ts.GetAccessorDeclaration
  | ts.SetAccessorDeclaration
  | ts.ConstructorDeclaration;

/** The name of the akts export `e` refers to (`sleep`, `akts.sleep`, a renamed import), if it refers to one. */
export function aktsExport(c: ResolveContext, e: ts.Expression): string | undefined {
  const t = c.ts;
  const id = t.isIdentifier(e) ? e : t.isPropertyAccessExpression(e) && t.isIdentifier(e.expression) ? e.expression : undefined;
  if (!id || !mayBeBound(c, id, "akts")) return undefined;
  const imp = importedFrom(c, id);
  if (!imp || !AKTS_MODULES.has(imp.module)) return undefined;
  return t.isPropertyAccessExpression(e) ? e.name.text : imp.imported;
}

/** Is `e` the akts `activity` / `noActivity` function (`activity`, `akts.activity`, renamed imports)? */
export function aktsMarker(c: ResolveContext, e: ts.Expression): Mark | undefined {
  const name = aktsExport(c, e);
  return name === MARK_ACTIVITY ? "activity" : name === MARK_NO_ACTIVITY ? "noActivity" : undefined;
}

/**
 * Can this file's JSDoc hold a mark at all? TypeScript parses a comment's tags when they are first asked for; most
 * callees are declared in packages' .d.ts files, whose documentation comments then were parsed for nothing.
 */
const mayHoldJsDocMark = (() => {
  const known = new WeakMap<ts.SourceFile, boolean>();
  return (sf: ts.SourceFile): boolean => {
    let answer = known.get(sf);
    if (answer === undefined) known.set(sf, (answer = sf.text.includes(`@${JSDOC_ACTIVITY}`) || sf.text.includes(`@${JSDOC_NO_ACTIVITY}`)));
    return answer;
  };
})();

function jsDocMark(t: typeof ts, node: ts.Node): Mark | undefined {
  const sf = node.getSourceFile();
  if (!mayHoldJsDocMark(sf)) return undefined;
  const full = fullyParsed(t, sf);
  const documented = full === sf ? node : twin(t, full, node);
  if (!documented) return undefined;
  for (const tag of t.getJSDocTags(documented)) {
    if (tag.tagName.text === JSDOC_ACTIVITY) return "activity";
    if (tag.tagName.text === JSDOC_NO_ACTIVITY) return "noActivity";
  }
  return undefined;
}

/**
 * `sf`, or the same text parsed again with all its JSDoc. `tsc` (and so `tspc`) parses a TypeScript file's JSDoc only
 * where a type error needs it (its host's `jsDocParsingMode`), so the nodes of its files carry no `@activity` tag.
 * Only files whose text can hold a mark are parsed again, once each.
 */
const fullyParsed = (() => {
  const known = new WeakMap<ts.SourceFile, ts.SourceFile>();
  return (t: typeof ts, sf: ts.SourceFile): ts.SourceFile => {
    let full = known.get(sf);
    if (!full) {
      const mode = (sf as { jsDocParsingMode?: ts.JSDocParsingMode }).jsDocParsingMode;
      full =
        mode === undefined || mode === t.JSDocParsingMode.ParseAll
          ? sf
          : t.createSourceFile(sf.fileName, sf.text, { languageVersion: sf.languageVersion, jsDocParsingMode: t.JSDocParsingMode.ParseAll }, true);
      known.set(sf, full);
    }
    return full;
  };
})();

/** The node of `other` (the same text parsed again) at `node`'s place: same kind, same range. */
function twin(t: typeof ts, other: ts.SourceFile, node: ts.Node): ts.Node | undefined {
  let found: ts.Node | undefined;
  const visit = (n: ts.Node): true | undefined => {
    if (n.pos > node.pos || n.end < node.end) return undefined;
    if (n.pos === node.pos && n.end === node.end && n.kind === node.kind) {
      found = n;
      return true;
    }
    return t.forEachChild(n, visit);
  };
  t.forEachChild(other, visit);
  return found;
}

function decoratorMark(c: ResolveContext, node: ts.Node): Mark | undefined {
  const t = c.ts;
  if (!t.canHaveDecorators(node)) return undefined;
  for (const d of t.getDecorators(node) ?? []) {
    const m = aktsMarker(c, t.isCallExpression(d.expression) ? d.expression.expression : d.expression);
    if (m) return m;
  }
  return undefined;
}

/** The mark of a function body's owner: its JSDoc, its decorator, or the `activity(...)` call it is passed to. */
export function functionMark(c: ResolveContext, fn: FunctionLike): Mark | undefined {
  const t = c.ts;
  const own = jsDocMark(t, fn) ?? decoratorMark(c, fn);
  if (own) return own;
  let parent = fn.parent;
  while (t.isParenthesizedExpression(parent)) parent = parent.parent;
  if (t.isCallExpression(parent) && parent.arguments[0] === fn) return aktsMarker(c, parent.expression);
  if (t.isVariableDeclaration(parent)) return jsDocMark(t, parent);
  return undefined;
}

/** The mark of whatever a call invokes: a marked declaration, a variable holding `activity(fn)`, a decorated method. */
export function calleeMark(c: ResolveContext, callee: ts.Expression): Mark | undefined {
  const t = c.ts;
  const sym = resolvedSymbol(c, t.isPropertyAccessExpression(callee) ? callee.name : callee);
  const declared = sym && symbolMark(c, sym);
  if (declared) return declared;
  if (t.isCallExpression(callee)) return aktsMarker(c, callee.expression);
  return undefined;
}

/** The mark its declarations give a symbol. Many calls share a callee (and a package's method has many overloads). */
const symbolMark: (c: ResolveContext, sym: ts.Symbol) => Mark | undefined = perProgram((c, sym) => {
  const t = c.ts;
  for (const decl of sym.declarations ?? []) {
    if (t.isFunctionDeclaration(decl) || t.isMethodDeclaration(decl)) {
      const m = functionMark(c, decl);
      if (m) return m;
    }
    if (t.isVariableDeclaration(decl)) {
      const own = jsDocMark(t, decl);
      if (own) return own;
      let init = decl.initializer;
      while (init && t.isParenthesizedExpression(init)) init = init.expression;
      if (init && t.isCallExpression(init)) {
        const m = aktsMarker(c, init.expression);
        if (m) return m;
      }
      if (init && (t.isFunctionExpression(init) || t.isArrowFunction(init))) {
        const m = jsDocMark(t, init);
        if (m) return m;
      }
    }
  }
  return undefined;
});

/** The kinds of FunctionLike: asked for every node walked. */
export const functionKinds = perTypeScript((t): ReadonlySet<ts.SyntaxKind> => {
  const k = t.SyntaxKind;
  return new Set([k.FunctionDeclaration, k.FunctionExpression, k.ArrowFunction, k.MethodDeclaration, k.GetAccessor, k.SetAccessor, k.Constructor]);
});
