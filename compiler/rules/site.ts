/**
 * The site decision: is a call, as its own unit, an activity, and why? Each front end gathers the facts of a call
 * (compiler/typescript/ with the type checker, compiler/babel/ from its scopes) and `siteReason` decides, by these
 * rules in order:
 *
 * 1. `super(...)` constructs: not a site.
 * 2. `new`: only `new Date()` without arguments, of the builtin `Date`, is a site (nondeterministic); any other
 *    `new` constructs.
 * 3. An indirect call (`fn.call(...)`, `fn.apply(...)`, `Reflect.apply(fn, ...)`, see `indirectParts`) is decided
 *    by `fn`: the front end hands over `fn`'s facts.
 * 4. A marked function (`activity(fn)`, `@activity`, `/** @activity *\/`) is a site, "marked"; an opted-out one
 *    (`noActivity`) is not.
 * 5. A builtin (origin `lib`) is a site only when nondeterministic (NONDETERMINISTIC_CALLS: `Date.now`...).
 * 6. Else the callee's origin decides (./origin.ts `activityReason`): a package or Node builtin call that is not
 *    pure is "external", `fetch` is "fetch". When a front end cannot tell where the callee is declared, the origin
 *    is the root's import (./origin.ts `importOrigin`).
 * 7. Not a call: awaiting a property of a package object whose declared type is a Promise (`await issue.assignee`,
 *    Linear's SDK) is a site, decided by its origin as in rule 6: its getter does I/O with no call in sight
 *    (`propertyReason`; it needs types).
 */
import type { SiteReason } from "../../stub-contract";
import { activityReason, type CalleeOrigin } from "./origin";
import { NONDETERMINISTIC_CALLS, NONDETERMINISTIC_NEW, type RuleOptions } from "./tables";

export type Mark = "activity" | "noActivity";

/** What a front end knows of a call. The facts are asked lazily, in the rules' order: some cost a type question. */
export interface CallFacts {
  readonly shape: "call" | "new" | "super";
  /** For `new`: how many arguments it has. */
  readonly argumentCount: number;
  /** The mark of the function called (after rule 3). */
  mark(): Mark | undefined;
  origin(): CalleeOrigin;
  /** Whether the callee's dotted name (`Date.now`, `Date` for `new Date`) is one of `names` (see `dottedNameTest`). */
  named(names: DottedNames): boolean;
}

export function siteReason(f: CallFacts, rules: RuleOptions): SiteReason | undefined {
  if (f.shape === "super") return undefined;
  if (f.shape === "new") return f.argumentCount === 0 && f.named(NONDETERMINISTIC_NEW_NAMES) && f.origin().kind === "lib" ? "nondeterministic" : undefined;
  const mark = f.mark();
  if (mark === "activity") return "marked";
  if (mark === "noActivity") return undefined;
  const origin = f.origin();
  if (origin.kind === "lib") return f.named(NONDETERMINISTIC_NAMES) ? "nondeterministic" : undefined;
  return activityReason(origin, rules);
}

/** Rule 7: an awaited property read. */
export function propertyReason(f: { promiseTyped(): boolean; origin(): CalleeOrigin }, rules: RuleOptions): SiteReason | undefined {
  if (!f.promiseTyped()) return undefined;
  const origin = f.origin();
  return origin.kind === "module" ? activityReason(origin, rules) : undefined;
}

/**
 * A set of dotted names (`Date.now`, `crypto.randomUUID`), tested against a callee's root name first: most calls
 * are not rooted at any of them, and need no dotted name built.
 */
export interface DottedNames {
  readonly roots: ReadonlySet<string>;
  readonly names: ReadonlySet<string>;
}

export function dottedNames(names: Iterable<string>): DottedNames {
  const all = new Set(names);
  return { roots: new Set([...all].map((n) => n.split(".")[0])), names: all };
}

/** Is the dotted name of `root` and its `members` (asked only when the root matches) in `set`? */
export function isDottedName(set: DottedNames, root: string | undefined, members: () => readonly string[]): boolean {
  return root !== undefined && set.roots.has(root) && set.names.has([root, ...members()].join("."));
}

const NONDETERMINISTIC_NAMES = dottedNames(NONDETERMINISTIC_CALLS);
const NONDETERMINISTIC_NEW_NAMES = dottedNames(NONDETERMINISTIC_NEW);

/** Where the parts of an indirect call are: the function really called, `this`, and the arguments. */
export interface IndirectParts<E> {
  readonly fn: E;
  readonly thisArg: E | undefined;
  /** `call`: the arguments one by one; `apply`: one array-like expression (or none). */
  readonly args: { readonly kind: "list"; readonly list: readonly E[] } | { readonly kind: "array"; readonly array: E | undefined };
}

export type IndirectForm = "call" | "apply" | "reflect";

/**
 * Rule 3's shapes: `<object>.<method>(...args)` is `Reflect.apply(fn, thisArg, args)`, `fn.call(thisArg, ...args)`
 * or `fn.apply(thisArg, args)`; undefined for any other call. Whether `call`/`apply`/`Reflect` are the builtins is
 * the front end's question.
 */
export function indirectParts<E>(objectName: string | undefined, object: E, method: string | undefined, args: readonly E[]): (IndirectParts<E> & { form: IndirectForm }) | undefined {
  const [first, second, third] = args;
  if (objectName === "Reflect" && method === "apply") return first === undefined ? undefined : { form: "reflect", fn: first, thisArg: second, args: { kind: "array", array: third } };
  if (method === "call") return { form: "call", fn: object, thisArg: first, args: { kind: "list", list: args.slice(1) } };
  if (method === "apply") return { form: "apply", fn: object, thisArg: first, args: { kind: "array", array: second } };
  return undefined;
}

/**
 * A merged chain: a call made by name directly on another call's result (`statSync(p).isFile()`), with no `?.`
 * between, joins that call's activity when the receiver call is external (the front ends walk the chain).
 */
export function isChainLink(f: { readonly byName: boolean; readonly optional: boolean; readonly receiverIsCall: boolean }): boolean {
  return f.byName && !f.optional && f.receiverIsCall;
}

/**
 * The classes `instanceof` tests register with the runtime are references rooted at a name bound at module level:
 * an import, or a variable, function or class declared at the top of the file. At the end of the module, where the
 * registration runs, all of them are initialized.
 */
export function isModuleLevelBinding(kind: "import" | "variable" | "function" | "class" | "other", topLevel: boolean): boolean {
  return kind === "import" || (kind !== "other" && topLevel);
}
