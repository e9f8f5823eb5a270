/**
 * Where a callee comes from, answered with the type checker: a project file, TypeScript's lib, a package or
 * Node builtin module, akts itself, or an external global (fetch): the `origin` fact of ../rules/site.ts.
 */
import type * as ts from "typescript";
import { mayBeBound, requireSpecifier, skipAwait } from "./bound-names";
import { perProgram, type ResolveContext } from "./context";
import { AKTS_MODULES, BUILTIN_GLOBALS, CODEC_CLASSES, EXTERNAL_GLOBALS, normalizeModule } from "../rules/tables";
import { globalOrigin, importOrigin, madeFrom, type CalleeOrigin } from "../rules/origin";
import { dottedNames, indirectParts, isDottedName, type DottedNames, type IndirectParts } from "../rules/site";

/** `(e)`, `e!`, `e as T`, `<T>e`, `e satisfies T` → `e`: wrappers that do not change which function is called. */
export function skipOuter(t: typeof ts, e: ts.Expression): ts.Expression {
  while (t.isParenthesizedExpression(e) || t.isNonNullExpression(e) || t.isAsExpression(e) || t.isTypeAssertionExpression(e) || t.isSatisfiesExpression(e)) {
    e = e.expression;
  }
  return e;
}

/** Is `sf` one of TypeScript's own `lib.*.d.ts` files? */
export function isDefaultLib(c: ResolveContext, sf: ts.SourceFile): boolean {
  return sf.hasNoDefaultLib || (c.program?.isSourceFileDefaultLibrary(sf) ?? false);
}

/**
 * The function a call really invokes, for the indirect forms of ../rules/site.ts rule 3 (`fn.call(thisArg, ...args)`,
 * `fn.apply(thisArg, args)`, `Reflect.apply(fn, thisArg, args)`): `fn`, with the expressions that supply `this` and
 * the arguments. Undefined for a direct call (or when `call`/`apply` are not the builtins).
 */
export type IndirectCall = IndirectParts<ts.Expression>;

export function indirectCall(c: ResolveContext, call: ts.CallExpression): IndirectCall | undefined {
  const t = c.ts;
  const callee = skipOuter(t, call.expression);
  if (!t.isPropertyAccessExpression(callee)) return undefined;
  const method = callee.name.text;
  // Asked about every call: the name test first, then the spread test.
  if ((method !== "call" && method !== "apply") || call.arguments.some((a) => t.isSpreadElement(a))) return undefined;
  const object = callee.expression;
  const parts = indirectParts(t.isIdentifier(object) ? object.text : undefined, object, method, call.arguments);
  return parts && isLibDeclared(c, callee.name) ? parts : undefined;
}

function isLibDeclared(c: ResolveContext, name: ts.MemberName): boolean {
  const decl = c.checker.getSymbolAtLocation(name)?.declarations?.[0];
  return decl !== undefined && isDefaultLib(c, decl.getSourceFile());
}

/**
 * The symbol an expression names, through import aliases and object destructuring (`const { query } = pool`).
 * Asked for a callee by its mark and by its origin.
 */
export const resolvedSymbol: (c: ResolveContext, node: ts.Node) => ts.Symbol | undefined = perProgram((c, node) => findSymbol(c, node));

function findSymbol(c: ResolveContext, node: ts.Node): ts.Symbol | undefined {
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
  if (!mayBeBound(c, id, "imported")) return undefined;
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

type Home = { kind: "module"; module: string } | { kind: "global" } | { kind: "lib" } | { kind: "project" };

/** Where a declaration lives: an ambient or file module (with its name), the global scope, or the project. Many calls share one. */
const declarationHome: (c: ResolveContext, decl: ts.Declaration) => Home = perProgram((c, decl) => findHome(c, decl));

function findHome(c: ResolveContext, decl: ts.Declaration): Home {
  const t = c.ts;
  const sf = decl.getSourceFile();
  if (isDefaultLib(c, sf)) return { kind: "lib" };
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
    if (t.isPropertyAccessExpression(e) || t.isElementAccessExpression(e) || t.isCallExpression(e) || t.isNewExpression(e) || t.isAwaitExpression(e)) {
      e = e.expression;
      continue;
    }
    const inner = skipOuter(t, e);
    if (inner === e) return undefined;
    e = inner;
  }
}

/** `a.b["c"]` → ["b", "c"] after the root. */
export function memberPath(t: typeof ts, e: ts.Expression): string[] {
  const out: string[] = [];
  for (;;) {
    if (t.isPropertyAccessExpression(e)) {
      out.unshift(e.name.text);
      e = e.expression;
    } else if (t.isElementAccessExpression(e) && t.isStringLiteralLike(e.argumentExpression)) {
      out.unshift(e.argumentExpression.text);
      e = e.expression;
    } else if (skipOuter(t, e) !== e) {
      e = skipOuter(t, e);
    } else {
      return out;
    }
  }
}

/**
 * Where the function a call invokes is declared. Uses the method's own declaration for member calls, falls back
 * to the origin by the root's import (../rules/origin.ts `importOrigin`) when the callee has no declaration
 * (any-typed).
 */
export const calleeOrigin: (c: ResolveContext, written: ts.Expression) => CalleeOrigin = perProgram((c, written) => findOrigin(c, written));

function findOrigin(c: ResolveContext, written: ts.Expression): CalleeOrigin {
  const t = c.ts;
  const callee = skipOuter(t, written);
  const root = rootIdentifier(t, callee);
  if (root && mayBeBound(c, root, "akts")) {
    const imp = importedFrom(c, root);
    if (imp && AKTS_MODULES.has(imp.module)) return { kind: "akts" };
  }
  const decl = calleeDeclaration(c, callee);
  if (!decl) return untypedOrigin(c, callee);
  const home = declarationHome(c, decl);
  switch (home.kind) {
    case "project":
      return madeFunctionOrigin(c, decl) ?? { kind: "project" };
    case "lib":
    case "global": {
      if (isExternalGlobal(t, callee)) return { kind: "global-external", name: globalName(t, callee) };
      return { kind: "lib" };
    }
    case "module": {
      if (AKTS_MODULES.has(home.module)) return { kind: "akts" };
      if (receiverIsCodecValue(c, callee, decl)) return { kind: "lib" };
      return { kind: "module", module: normalizeModule(home.module), member: moduleMember(c, callee, decl) };
    }
  }
}

/** Declarations whose made function is being followed: a cycle of them (`const a = b.bind(x), b = a.bind(y)`) ends. */
const following = new Set<ts.Declaration>();

/**
 * `const execFileP = promisify(execFile)`, `const get = redis.get.bind(redis)`: a constant holding a function made
 * from another has that function's origin (../rules/origin.ts `madeFrom`); `const { send } = client`, a member
 * taken from an untyped client, has the member's.
 */
function madeFunctionOrigin(c: ResolveContext, decl: ts.Declaration): CalleeOrigin | undefined {
  const t = c.ts;
  if (t.isBindingElement(decl)) return takenMemberOrigin(c, decl);
  if (!t.isVariableDeclaration(decl) || !decl.initializer || !t.isVariableDeclarationList(decl.parent) || !(decl.parent.flags & t.NodeFlags.Const)) return undefined;
  const init = skipOuter(t, decl.initializer);
  if (!t.isCallExpression(init) || following.has(decl)) return undefined;
  following.add(decl);
  try {
    const maker = skipOuter(t, init.expression);
    const bind = t.isPropertyAccessExpression(maker) && maker.name.text === "bind" && isLibDeclared(c, maker.name);
    const index = bind ? madeFrom({ kind: "lib" }, "bind") : madeFrom(calleeOrigin(c, maker), undefined);
    const source = index === -1 ? (maker as ts.PropertyAccessExpression).expression : index !== undefined ? init.arguments[index] : undefined;
    return source && !t.isSpreadElement(source) ? calleeOrigin(c, source) : undefined;
  } finally {
    following.delete(decl);
  }
}

/** `const { send } = client` (not from a call's result, which is data): `client.send`'s origin. */
function takenMemberOrigin(c: ResolveContext, decl: ts.BindingElement): CalleeOrigin | undefined {
  const t = c.ts;
  const key = decl.propertyName ?? decl.name;
  const holder = decl.parent.parent;
  if (!t.isObjectBindingPattern(decl.parent) || !t.isIdentifier(key) || !t.isVariableDeclaration(holder) || !holder.initializer) return undefined;
  const init = skipOuter(t, holder.initializer);
  if (!t.isIdentifier(init) && !t.isPropertyAccessExpression(init)) return undefined;
  const origin = calleeOrigin(c, init);
  return origin.kind === "module" ? { ...origin, member: `${origin.member}.${key.text}` } : undefined;
}

/**
 * The declaration of the function `callee` names: of the method for `a.b.m` and `a["m"]`, of the binding
 * otherwise; for a callee that names nothing (`f()()`, `a[k]`), of the signature the call resolves to.
 */
function calleeDeclaration(c: ResolveContext, callee: ts.Expression): ts.Declaration | undefined {
  const t = c.ts;
  const target = t.isPropertyAccessExpression(callee)
    ? callee.name
    : t.isElementAccessExpression(callee) && t.isStringLiteralLike(callee.argumentExpression)
      ? callee.argumentExpression
      : callee;
  const sym = resolvedSymbol(c, target);
  const decl = sym?.declarations?.[0] ?? sym?.valueDeclaration;
  if (decl) return decl;
  let call: ts.Node = callee;
  while (call.parent && (t.isParenthesizedExpression(call.parent) || t.isNonNullExpression(call.parent))) call = call.parent;
  const parent = call.parent;
  if (parent && (t.isCallExpression(parent) || t.isTaggedTemplateExpression(parent)) && (t.isCallExpression(parent) ? parent.expression : parent.tag) === call) {
    return c.checker.getResolvedSignature(parent)?.getDeclaration() ?? undefined;
  }
  return undefined;
}

/** `Date.now`, `crypto.randomUUID`: the dotted name of a callee rooted at a global. */
export function globalName(t: typeof ts, callee: ts.Expression): string {
  const root = rootIdentifier(t, callee);
  return root ? [root.text, ...memberPath(t, callee)].join(".") : "";
}

/** A test of whether a callee's dotted name is one of `names` (../rules/site.ts `isDottedName`). */
export function globalNameTest(names: ReadonlySet<string> | ReadonlyMap<string, unknown> | DottedNames): (t: typeof ts, callee: ts.Expression) => boolean {
  const set = "roots" in names ? names : dottedNames(names.keys());
  return (t, callee) => isDottedName(set, rootIdentifier(t, callee)?.text, () => memberPath(t, callee));
}

const isExternalGlobal = globalNameTest(EXTERNAL_GLOBALS);

/**
 * Methods of values the codec restores (Response.json, Headers.get, URL.toString...) are data access, not I/O. The
 * codec restores the global classes: a method that none of them has is not one, whatever its receiver is called, and
 * the receiver's type (a question that makes the checker follow the code's narrowing) is asked only for the others.
 */
function receiverIsCodecValue(c: ResolveContext, callee: ts.Expression, decl: ts.Declaration): boolean {
  const t = c.ts;
  if (!t.isPropertyAccessExpression(callee) && !t.isElementAccessExpression(callee)) return false;
  if (!codecMembers(c, CODEC_CLASSES).has(decl)) return false;
  const type = c.checker.getTypeAtLocation(callee.expression);
  const name = (type.getSymbol() ?? type.aliasSymbol)?.getName();
  return name !== undefined && CODEC_CLASSES.has(name) && !BUILTIN_GLOBALS.has(rootIdentifier(t, callee)?.text ?? "");
}

/**
 * Is this one of the global classes the codec restores (CODEC_CLASSES), by declaration: a package's own class named
 * `Response`, `Date` or `Map` is not one.
 */
export const isCodecClass: (c: ResolveContext, sym: ts.Symbol) => boolean = perProgram((c, sym) => {
  const name = sym.getName();
  if (!CODEC_CLASSES.has(name)) return false;
  const global = c.checker.resolveName(name, undefined, c.ts.SymbolFlags.Type, false);
  return global !== undefined && (global === sym || (sym.declarations ?? []).some((d) => global.declarations?.includes(d)));
});

/** The declarations of the members of the named global classes (the codec's), as this program declares them. */
export const codecMembers: (c: ResolveContext, classes: ReadonlySet<string>) => ReadonlySet<ts.Node> = perProgram((c, classes) => {
  const members = new Set<ts.Node>();
  for (const name of classes) {
    const sym = c.checker.resolveName(name, undefined, c.ts.SymbolFlags.Type, false);
    if (!sym) continue;
    for (const property of c.checker.getPropertiesOfType(c.checker.getDeclaredTypeOfSymbol(sym))) {
      for (const d of property.declarations ?? []) members.add(d);
    }
  }
  return members;
});

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

/**
 * The origin by the root's import (../rules/origin.ts), for a callee without a declaration: its root is bound to an
 * import, or to `new X()`/a call rooted at one, followed through variables.
 */
function untypedOrigin(c: ResolveContext, callee: ts.Expression): CalleeOrigin {
  const t = c.ts;
  const root = rootIdentifier(t, callee);
  if (!root) return { kind: "lib" };
  if (t.isIdentifier(callee) && EXTERNAL_GLOBALS.has(root.text) && !c.checker.getSymbolAtLocation(root)?.declarations?.length) {
    return globalOrigin(root.text);
  }
  const seen = new Set<ts.Node>();
  let id: ts.Identifier | undefined = root;
  while (id && !seen.has(id)) {
    seen.add(id);
    const imp = importedFrom(c, id);
    if (imp) return importOrigin(imp.module, imp.imported, memberPath(t, callee));
    const decl = c.checker.getSymbolAtLocation(id)?.declarations?.[0];
    if (!decl || !t.isVariableDeclaration(decl) || !decl.initializer) return { kind: "project" };
    const init = skipAwait(t, decl.initializer);
    id = t.isNewExpression(init) || t.isCallExpression(init) || t.isIdentifier(init) || t.isPropertyAccessExpression(init) ? rootIdentifier(t, init) : undefined;
  }
  return { kind: "project" };
}
