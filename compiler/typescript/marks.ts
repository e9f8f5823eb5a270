/**
 * Explicit marking: `activity(fn)`, `@activity` on class methods, `/** @activity *\/` on a function; and the
 * opt-out `noActivity(fn)` / `/** @noActivity *\/`. A marked function's calls are one activity each; the body of a
 * marked or opted-out function is not workflow code and is never rewritten.
 */
import type * as ts from "typescript";
import { JSDOC_ACTIVITY, JSDOC_NO_ACTIVITY, MARK_ACTIVITY, MARK_NO_ACTIVITY, AKTS_MODULES } from "../rules/tables";
import { mayBeBound } from "./bound-names";
import { importedFrom, resolvedSymbol } from "./resolve";
import { perProgram, perTypeScript, type ResolveContext } from "./context";
import type { Mark } from "../rules/site";

export type { Mark } from "../rules/site";

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

function jsDocMark(c: ResolveContext, node: ts.Node): Mark | undefined {
  const sf = node.getSourceFile();
  const source = markSource(c, sf);
  const documented = source === sf ? node : source && twin(c.ts, source, node);
  if (!documented) return undefined;
  for (const tag of c.ts.getJSDocTags(documented)) {
    if (tag.tagName.text === JSDOC_ACTIVITY) return "activity";
    if (tag.tagName.text === JSDOC_NO_ACTIVITY) return "noActivity";
  }
  return undefined;
}

/**
 * Where to read a file's JSDoc marks from. None when its text holds no mark: TypeScript parses a comment's tags
 * when they are first asked for, and most callees are declared in packages' .d.ts files, whose documentation
 * comments would be parsed for nothing. The file itself when its JSDoc was parsed; else the same text parsed again
 * with all its JSDoc, once: `tsc` (and so `tspc`) parses a TypeScript file's JSDoc only where a type error needs it
 * (its host's `jsDocParsingMode`), so the nodes of its files carry no `@activity` tag.
 */
const markSource: (c: ResolveContext, sf: ts.SourceFile) => ts.SourceFile | undefined = perProgram((c, sf) => {
  const t = c.ts;
  if (!sf.text.includes(`@${JSDOC_ACTIVITY}`) && !sf.text.includes(`@${JSDOC_NO_ACTIVITY}`)) return undefined;
  const mode = (sf as { jsDocParsingMode?: ts.JSDocParsingMode }).jsDocParsingMode;
  if (mode === undefined || mode === t.JSDocParsingMode.ParseAll) return sf;
  return t.createSourceFile(sf.fileName, sf.text, { languageVersion: sf.languageVersion, jsDocParsingMode: t.JSDocParsingMode.ParseAll }, true);
});

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
  const own = jsDocMark(c, fn) ?? decoratorMark(c, fn);
  if (own) return own;
  let parent = fn.parent;
  while (t.isParenthesizedExpression(parent)) parent = parent.parent;
  if (t.isCallExpression(parent) && parent.arguments[0] === fn) return aktsMarker(c, parent.expression);
  if (t.isVariableDeclaration(parent)) return jsDocMark(c, parent);
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
      const own = jsDocMark(c, decl);
      if (own) return own;
      let init = decl.initializer;
      while (init && t.isParenthesizedExpression(init)) init = init.expression;
      if (init && t.isCallExpression(init)) {
        const m = aktsMarker(c, init.expression);
        if (m) return m;
      }
      if (init && (t.isFunctionExpression(init) || t.isArrowFunction(init))) {
        const m = jsDocMark(c, init);
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
