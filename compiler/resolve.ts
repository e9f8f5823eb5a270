/**
 * Where a callee comes from, answered with the type checker: a project file, TypeScript's lib, a package or
 * Node builtin module, akts itself, or an external global (fetch). The answer feeds rules.activityReason.
 */
import type * as ts from "typescript";
import { AKTS_MODULES, BUILTIN_GLOBALS, CODEC_CLASSES, EXTERNAL_GLOBALS, isBareSpecifier, normalizeModule, type CalleeOrigin } from "./rules";

export interface ResolveContext {
  readonly ts: typeof ts;
  readonly checker: ts.TypeChecker;
  readonly program: ts.Program;
}

/** The symbol an expression names, through import aliases and object destructuring (`const { query } = pool`). */
export function resolvedSymbol(c: ResolveContext, node: ts.Node): ts.Symbol | undefined {
  let sym = c.checker.getSymbolAtLocation(node);
  if (sym && sym.flags & c.ts.SymbolFlags.Alias) {
    try {
      sym = c.checker.getAliasedSymbol(sym);
    } catch {
      return sym;
    }
  }
  return sym && destructuredProperty(c, sym);
}

/** For a variable bound by an object pattern, the property it was taken from (through nested patterns). */
function destructuredProperty(c: ResolveContext, sym: ts.Symbol): ts.Symbol {
  const t = c.ts;
  const decl = sym.valueDeclaration;
  if (!decl || !t.isBindingElement(decl) || !t.isObjectBindingPattern(decl.parent)) return sym;
  const key = decl.propertyName ?? decl.name;
  if (!t.isIdentifier(key) && !t.isStringLiteral(key)) return sym;
  const property = c.checker.getTypeAtLocation(decl.parent).getProperty(key.text);
  return property ?? sym;
}

/** The module specifier an identifier was imported from (`import`/`require`), when it was. */
export function importedFrom(c: ResolveContext, id: ts.Identifier): { module: string; imported: string | undefined } | undefined {
  const sym = c.checker.getSymbolAtLocation(id);
  const decl = sym?.declarations?.[0];
  if (!decl) return undefined;
  const t = c.ts;
  if (t.isImportSpecifier(decl)) {
    const spec = decl.parent.parent.parent.moduleSpecifier;
    return t.isStringLiteral(spec) ? { module: spec.text, imported: (decl.propertyName ?? decl.name).text } : undefined;
  }
  if (t.isNamespaceImport(decl)) {
    const spec = decl.parent.parent.moduleSpecifier;
    return t.isStringLiteral(spec) ? { module: spec.text, imported: undefined } : undefined;
  }
  if (t.isImportClause(decl)) {
    const spec = decl.parent.moduleSpecifier;
    return t.isStringLiteral(spec) ? { module: spec.text, imported: "default" } : undefined;
  }
  if (t.isImportEqualsDeclaration(decl) && t.isExternalModuleReference(decl.moduleReference)) {
    const expr = decl.moduleReference.expression;
    return t.isStringLiteral(expr) ? { module: expr.text, imported: undefined } : undefined;
  }
  if (t.isVariableDeclaration(decl) && decl.initializer) {
    const init = skipAwait(t, decl.initializer);
    const spec = requireSpecifier(t, init);
    if (spec === undefined) return undefined;
    if (t.isIdentifier(decl.name)) return { module: spec, imported: undefined };
    return undefined;
  }
  if (t.isBindingElement(decl)) {
    const varDecl = decl.parent.parent;
    if (t.isVariableDeclaration(varDecl) && varDecl.initializer) {
      const spec = requireSpecifier(t, skipAwait(t, varDecl.initializer));
      if (spec !== undefined) return { module: spec, imported: (decl.propertyName && t.isIdentifier(decl.propertyName) ? decl.propertyName : (decl.name as ts.Identifier)).text };
    }
  }
  return undefined;
}

function skipAwait(t: typeof ts, e: ts.Expression): ts.Expression {
  while (t.isAwaitExpression(e) || t.isParenthesizedExpression(e)) e = e.expression;
  return e;
}

/** `require("x")` or `import("x")` → "x". */
function requireSpecifier(t: typeof ts, e: ts.Expression): string | undefined {
  if (!t.isCallExpression(e) || e.arguments.length !== 1 || !t.isStringLiteral(e.arguments[0])) return undefined;
  if (e.expression.kind === t.SyntaxKind.ImportKeyword) return e.arguments[0].text;
  if (t.isIdentifier(e.expression) && e.expression.text === "require") return e.arguments[0].text;
  return undefined;
}

/** The package name of a file under node_modules (`@scope/pkg` or `pkg`, `@types/x` → `x`). */
export function packageOfFile(fileName: string): string | undefined {
  const idx = fileName.lastIndexOf("/node_modules/");
  if (idx < 0) return undefined;
  const parts = fileName.slice(idx + "/node_modules/".length).split("/");
  const name = parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
  if (name.startsWith("@types/")) {
    const inner = name.slice("@types/".length);
    return inner.includes("__") ? `@${inner.replace("__", "/")}` : inner;
  }
  return name;
}

/** Where a declaration lives: an ambient or file module (with its name), the global scope, or the project. */
function declarationHome(c: ResolveContext, decl: ts.Declaration): { kind: "module"; module: string } | { kind: "global" } | { kind: "lib" } | { kind: "project" } {
  const t = c.ts;
  const sf = decl.getSourceFile();
  if (c.program.isSourceFileDefaultLibrary(sf)) return { kind: "lib" };
  for (let n: ts.Node | undefined = decl.parent; n; n = n.parent) {
    if (t.isModuleDeclaration(n)) {
      if (t.isStringLiteral(n.name)) return { kind: "module", module: n.name.text };
      if (n.flags & t.NodeFlags.GlobalAugmentation) return { kind: "global" };
    }
  }
  const pkg = packageOfFile(sf.fileName);
  if (pkg !== undefined) {
    return t.isExternalModule(sf) || sf.isDeclarationFile && hasTopLevelExport(t, sf) ? { kind: "module", module: pkg } : { kind: "global" };
  }
  return { kind: "project" };
}

function hasTopLevelExport(t: typeof ts, sf: ts.SourceFile): boolean {
  return sf.statements.some((s) => t.isExportDeclaration(s) || t.isExportAssignment(s));
}

/** The root identifier of `a.b.c`, `a?.b()`, `a[0].b`: `a`. */
export function rootIdentifier(t: typeof ts, e: ts.Expression): ts.Identifier | undefined {
  for (;;) {
    if (t.isIdentifier(e)) return e;
    if (t.isPropertyAccessExpression(e) || t.isElementAccessExpression(e) || t.isCallExpression(e) || t.isNonNullExpression(e) || t.isParenthesizedExpression(e) || t.isAwaitExpression(e)) {
      e = e.expression;
      continue;
    }
    if (t.isNewExpression(e)) {
      e = e.expression;
      continue;
    }
    return undefined;
  }
}

/** `a.b.c` → ["b", "c"] after the root. */
export function memberPath(t: typeof ts, e: ts.Expression): string[] {
  const out: string[] = [];
  for (;;) {
    if (t.isPropertyAccessExpression(e)) {
      out.unshift(e.name.text);
      e = e.expression;
    } else if (t.isNonNullExpression(e) || t.isParenthesizedExpression(e)) {
      e = e.expression;
    } else {
      return out;
    }
  }
}

/**
 * Where the function a call invokes is declared. Uses the method's own declaration for member calls, falls back
 * to rule 4 (the root identifier's import) when the callee has no declaration (any-typed).
 */
export function calleeOrigin(c: ResolveContext, callee: ts.Expression): CalleeOrigin {
  const t = c.ts;
  const target = t.isPropertyAccessExpression(callee) ? callee.name : callee;
  const root = rootIdentifier(t, callee);
  if (root) {
    const imp = importedFrom(c, root);
    if (imp && AKTS_MODULES.has(imp.module)) return { kind: "akts" };
  }
  const sym = resolvedSymbol(c, target);
  const decl = sym?.declarations?.[0] ?? sym?.valueDeclaration;
  if (!decl) return untypedOrigin(c, callee);
  const home = declarationHome(c, decl);
  switch (home.kind) {
    case "project":
      return { kind: "project" };
    case "lib":
    case "global": {
      const name = globalName(t, callee);
      if (EXTERNAL_GLOBALS.has(name)) return { kind: "global-external", name };
      return { kind: "lib" };
    }
    case "module": {
      if (AKTS_MODULES.has(home.module)) return { kind: "akts" };
      if (receiverIsCodecValue(c, callee)) return { kind: "lib" };
      return { kind: "module", module: normalizeModule(home.module), member: moduleMember(c, callee, decl) };
    }
  }
}

/** `Date.now`, `crypto.randomUUID`: the dotted name of a callee rooted at a global. */
export function globalName(t: typeof ts, callee: ts.Expression): string {
  const root = rootIdentifier(t, callee);
  return root ? [root.text, ...memberPath(t, callee)].join(".") : "";
}

/** Methods of values the codec restores (Response.json, Map.get, URL.toString...) are data access, not I/O. */
function receiverIsCodecValue(c: ResolveContext, callee: ts.Expression): boolean {
  const t = c.ts;
  if (!t.isPropertyAccessExpression(callee) && !t.isElementAccessExpression(callee)) return false;
  const type = c.checker.getTypeAtLocation(callee.expression);
  const name = (type.getSymbol() ?? type.aliasSymbol)?.getName();
  return name !== undefined && CODEC_CLASSES.has(name) && !BUILTIN_GLOBALS.has(rootIdentifier(t, callee)?.text ?? "");
}

/** The export path inside the module, for the pure-function list: `join`, `Buffer.from`, `Stats.isFile`. */
function moduleMember(c: ResolveContext, callee: ts.Expression, decl: ts.Declaration): string {
  const t = c.ts;
  const root = rootIdentifier(t, callee);
  const imp = root ? importedFrom(c, root) : undefined;
  if (imp) return [imp.imported, ...memberPath(t, callee)].filter((x): x is string => x !== undefined && x !== "").join(".") || "default";
  const owner = decl.parent && (t.isClassDeclaration(decl.parent) || t.isInterfaceDeclaration(decl.parent)) ? decl.parent.name?.text : undefined;
  const name = (decl as ts.NamedDeclaration).name;
  const own = name && t.isIdentifier(name) ? name.text : "";
  return owner ? `${owner}.${own}` : own;
}

/** Rule 4 without types: the callee's root is bound to a bare import, or to `new X()`/a call rooted at one. */
function untypedOrigin(c: ResolveContext, callee: ts.Expression): CalleeOrigin {
  const t = c.ts;
  const root = rootIdentifier(t, callee);
  if (!root) return { kind: "lib" };
  if (t.isIdentifier(callee) && EXTERNAL_GLOBALS.has(root.text) && !c.checker.getSymbolAtLocation(root)?.declarations?.length) {
    return { kind: "global-external", name: root.text };
  }
  const seen = new Set<ts.Node>();
  let id: ts.Identifier | undefined = root;
  while (id && !seen.has(id)) {
    seen.add(id);
    const imp = importedFrom(c, id);
    if (imp) {
      if (AKTS_MODULES.has(imp.module)) return { kind: "akts" };
      if (!isBareSpecifier(imp.module)) return { kind: "project" };
      return { kind: "module", module: normalizeModule(imp.module), member: [imp.imported, ...memberPath(t, callee)].filter(Boolean).join(".") || "default" };
    }
    const decl = c.checker.getSymbolAtLocation(id)?.declarations?.[0];
    if (!decl || !t.isVariableDeclaration(decl) || !decl.initializer) return { kind: "project" };
    const init = skipAwait(t, decl.initializer);
    id = t.isNewExpression(init) || t.isCallExpression(init) || t.isIdentifier(init) || t.isPropertyAccessExpression(init) ? rootIdentifier(t, init) : undefined;
  }
  return { kind: "project" };
}
