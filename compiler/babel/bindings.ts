/**
 * The `origin` fact of ../rules/site.ts without types: what a callee's root identifier is bound to, read from the
 * scopes of ./scope.ts, and from an import by ../rules/origin.ts `importOrigin`. The answer is the same
 * CalleeOrigin the TypeScript front end gives, so the rules decide for both.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { globalOrigin, importOrigin, madeFrom, type CalleeOrigin } from "../rules/origin";
import { indirectParts, type IndirectForm, type IndirectParts } from "../rules/site";
import type { Binding, Scope } from "./scope";

export interface Imported {
  readonly module: string;
  /** The export taken (`default`, a name), undefined for a namespace or a whole `require()`. */
  readonly imported: string | undefined;
}

/** `a.b["c"]` → root `a`, members ["b", "c"]; undefined when the chain does not start at an identifier. */
export function rootAndMembers(e: T.Node): { root: T.Identifier; members: string[] } | undefined {
  const members: string[] = [];
  for (;;) {
    switch (e.type) {
      case "Identifier":
        return { root: e, members };
      case "MemberExpression":
      case "OptionalMemberExpression": {
        const name = memberName(e);
        if (name !== undefined) members.unshift(name);
        e = e.object;
        break;
      }
      case "CallExpression":
      case "OptionalCallExpression":
      case "NewExpression":
        e = e.callee;
        break;
      default: {
        const inner = unwrap(e);
        if (inner === e) return undefined;
        e = inner;
      }
    }
  }
}

/** The property a member expression reads when it is written down: `a.b`, `a["b"]`. */
export function memberName(e: T.MemberExpression | T.OptionalMemberExpression): string | undefined {
  const p = e.property;
  if (!e.computed) return p.type === "Identifier" ? p.name : undefined;
  if (p.type === "StringLiteral") return p.value;
  if (p.type === "TemplateLiteral" && p.expressions.length === 0) return p.quasis[0].value.cooked ?? undefined;
  return undefined;
}

/** The expression inside `await x`, `(x)`, `x!`, `x as T`, `<T>x`, `x satisfies T`. */
export function unwrap(e: T.Node): T.Node {
  for (;;) {
    const inner = e.type === "AwaitExpression" ? e.argument : skipTypeWrappers(e);
    if (inner === e) return e;
    e = inner;
  }
}

/** `(x)`, `x!`, `x as T`, `<T>x`, `x satisfies T` → `x`: wrappers that do not change which function is called. */
export function skipTypeWrappers<N extends T.Node>(e: N): N | T.Expression {
  let out: T.Node = e;
  for (;;) {
    switch (out.type) {
      case "ParenthesizedExpression":
      case "TSNonNullExpression":
      case "TSAsExpression":
      case "TSSatisfiesExpression":
      case "TSTypeAssertion":
        out = out.expression;
        break;
      default:
        return out as N | T.Expression;
    }
  }
}

/** `require("x")`, `import("x")` (awaited or not): the specifier. */
function requireOf(e: T.Node | null | undefined): string | undefined {
  if (e) e = unwrap(e);
  if (!t.isCallExpression(e) || e.arguments.length !== 1 || !t.isStringLiteral(e.arguments[0])) return undefined;
  if (t.isImport(e.callee) || t.isIdentifier(e.callee, { name: "require" })) return e.arguments[0].value;
  return undefined;
}

/** The import (or `require`) that `name`'s binding is, directly. */
export function importOf(binding: Binding | undefined, name: string): Imported | undefined {
  if (binding?.kind === "import") return binding;
  if (binding?.kind !== "variable") return undefined;
  const { id, init } = binding.declarator;
  const spec = requireOf(init);
  if (spec === undefined) return undefined;
  if (t.isIdentifier(id)) return { module: spec, imported: undefined };
  const prop = propertyBinding(id, name);
  return prop === undefined ? undefined : { module: spec, imported: prop };
}

/** In `{ a, b: c } = ...`, the property `name` is taken from (`c` → `b`). */
function propertyBinding(pattern: T.Node, name: string): string | undefined {
  if (!t.isObjectPattern(pattern)) return undefined;
  for (const p of pattern.properties) {
    if (t.isObjectProperty(p) && !p.computed && t.isIdentifier(p.key) && t.isIdentifier(unwrapDefault(p.value), { name })) return p.key.name;
  }
  return undefined;
}

/** `a = 1` in a pattern binds `a`. */
function unwrapDefault(n: T.Node): T.Node {
  return t.isAssignmentPattern(n) ? n.left : n;
}

/** How far aliases are followed (`const a = b; const b = a` must end). */
const MAX_ALIASES = 32;

/** Where the function a callee names comes from: an import, a client made from one, a global, or the project. */
export function calleeOrigin(scope: Scope, written: T.Node, depth = 0): CalleeOrigin {
  if (depth > MAX_ALIASES) return { kind: "project" };
  const callee = skipTypeWrappers(written);
  // A method of a call's result (`execFileSync(...).trim()`) needs the result's type: not decided here.
  if ((t.isMemberExpression(callee) || t.isOptionalMemberExpression(callee)) && !t.isNewExpression(unwrap(callee.object)) && containsCall(callee.object)) return { kind: "lib" };
  const chain = rootAndMembers(callee);
  if (!chain) return { kind: "project" };
  let { root, members } = chain;
  for (let hops = 0; hops < MAX_ALIASES; hops++) {
    const binding = scope.lookup(root.name);
    if (!binding) {
      return members.length === 0 ? globalOrigin(root.name) : { kind: "lib" };
    }
    const imp = importOf(binding, root.name);
    if (imp) return importOrigin(imp.module, imp.imported, members);
    if (binding.kind !== "variable") return { kind: "project" };
    const { id } = binding.declarator;
    const init = binding.declarator.init && unwrap(binding.declarator.init);
    // `const { rows } = await pool.query(...)`: a part of a call's result is data, not a client.
    if (!t.isIdentifier(id) && (t.isCallExpression(init) || t.isOptionalCallExpression(init))) return { kind: "project" };
    // `const { chat } = slack`: the member taken continues the chain.
    const taken = propertyBinding(id, root.name);
    if (taken !== undefined) members = [taken, ...members];
    const next = init && (t.isNewExpression(init) || t.isCallExpression(init) || t.isIdentifier(init) || t.isMemberExpression(init)) ? rootAndMembers(init) : undefined;
    if (!next) return { kind: "project" };
    // A client made by `new X()` or a factory from a package: its methods are reached through the instance.
    // Anything else made by a call (a fetch Response, a project object) is data or project code here.
    // `const execFileP = promisify(execFile)`, `const get = redis.get.bind(redis)`: calls of the function made from.
    const made = t.isCallExpression(init) && members.length === 0 ? madeFunction(binding.scope, init, depth) : undefined;
    if (made) return calleeOrigin(binding.scope, made, depth + 1);
    if (t.isNewExpression(init) || t.isCallExpression(init)) {
      const origin = calleeOrigin(binding.scope, init.callee, depth + 1);
      if (origin.kind === "module") return { kind: "module", module: origin.module, member: [origin.member, ...members].join(".") };
      return { kind: origin.kind === "lib" || origin.kind === "global-external" ? "lib" : "project" };
    }
    scope = binding.scope;
    root = next.root;
    members = [...next.members, ...members];
  }
  return { kind: "project" };
}

/** `promisify(f)`, `f.bind(x)`: the function a made value calls (../rules/origin.ts `madeFrom`). */
function madeFunction(scope: Scope, init: T.CallExpression, depth: number): T.Node | undefined {
  const maker = skipTypeWrappers(init.callee);
  const bind = t.isMemberExpression(maker) && memberName(maker) === "bind";
  const index = bind ? madeFrom({ kind: "lib" }, "bind") : madeFrom(calleeOrigin(scope, maker, depth + 1), undefined);
  if (index === -1) return (maker as T.MemberExpression).object;
  const arg = index === undefined ? undefined : init.arguments[index];
  return arg && t.isExpression(arg) ? arg : undefined;
}

function containsCall(e: T.Node): boolean {
  for (let n: T.Node = unwrap(e); ; ) {
    if (t.isCallExpression(n) || t.isOptionalCallExpression(n)) return true;
    if (t.isMemberExpression(n) || t.isOptionalMemberExpression(n)) n = unwrap(n.object);
    else return false;
  }
}

/**
 * The function a call really invokes, for the indirect forms of ../rules/site.ts rule 3, read off the call's
 * current shape: the rewrite asks again after nested sites were replaced. Whether `.call` is Function's is the
 * caller's question.
 */
export interface IndirectCall extends IndirectParts<T.Expression> {
  readonly method: IndirectForm;
}

export function indirectShape(call: T.CallExpression): IndirectCall | undefined {
  const callee = skipTypeWrappers(call.callee);
  if (!t.isMemberExpression(callee)) return undefined;
  const method = memberName(callee);
  // Asked about every call: the name test first (each indirect form calls `call` or `apply`), then the arguments.
  if ((method !== "call" && method !== "apply") || !call.arguments.every((a): a is T.Expression => t.isExpression(a))) return undefined;
  const object = callee.object as T.Expression;
  const parts = indirectParts(t.isIdentifier(object) ? object.name : undefined, object, method, call.arguments as T.Expression[]);
  return parts && { ...parts, method: parts.form };
}
