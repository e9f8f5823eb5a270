/**
 * Lexical scopes over the raw Babel tree: what a name is bound to, and nothing else. Built by the one walk of
 * ./walk.ts instead of @babel/traverse's scopes, whose NodePath per node costs several times a parse.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";

/** A function, with what deciding its mark needs (./marks.ts). */
export interface FunctionOwner {
  readonly node: T.Function;
  /** The node the function is written in (`activity(fn)` is a call holding it). */
  readonly parent: T.Node;
  /** The scope the function is written in. */
  readonly scope: Scope;
  /** Doc comments before the function or the declaration naming it, undefined when there are none. */
  readonly comments: readonly T.Comment[] | undefined;
  /** The class of a class method. */
  readonly cls: ClassOwner | undefined;
}

export interface ClassOwner {
  readonly node: T.Class;
  /** The scope the class is written in. */
  readonly scope: Scope;
}

export type Binding =
  | { readonly kind: "import"; readonly module: string; readonly imported: string | undefined }
  | { readonly kind: "variable"; readonly declarator: T.VariableDeclarator; readonly scope: Scope; readonly comments: readonly T.Comment[] | undefined }
  | { readonly kind: "function"; readonly fn: FunctionOwner }
  | { readonly kind: "class"; readonly cls: ClassOwner }
  | { readonly kind: "local" };

export const LOCAL: Binding = { kind: "local" };

export class Scope {
  // Made on the first declaration: most block scopes declare nothing.
  private names: Map<string, Binding> | undefined;

  /** `fn` is set on a function's scope; `isVar` on scopes that take `var` declarations. */
  constructor(
    readonly parent: Scope | null,
    readonly fn: FunctionOwner | null,
    readonly isVar: boolean,
  ) {}

  lookup(name: string): Binding | undefined {
    for (let s: Scope | null = this; s; s = s.parent) {
      const b = s.names?.get(name);
      if (b) return b;
    }
    return undefined;
  }

  declare(name: string, binding: Binding): void {
    (this.names ??= new Map()).set(name, binding);
  }

  /** Every name a pattern binds (`{ a, b: [c, ...d] = x }`). */
  declarePattern(pattern: T.Node, binding: Binding): void {
    switch (pattern.type) {
      case "Identifier":
        this.declare(pattern.name, binding);
        return;
      case "ObjectPattern":
        for (const p of pattern.properties) this.declarePattern(t.isRestElement(p) ? p.argument : p.value, binding);
        return;
      case "ArrayPattern":
        for (const e of pattern.elements) if (e) this.declarePattern(e, binding);
        return;
      case "AssignmentPattern":
        this.declarePattern(pattern.left, binding);
        return;
      case "RestElement":
        this.declarePattern(pattern.argument, binding);
        return;
      case "TSParameterProperty":
        this.declarePattern(pattern.parameter, binding);
        return;
    }
  }

  /** The scope a `var` in this one belongs to. */
  varScope(): Scope {
    let s: Scope = this;
    while (!s.isVar && s.parent) s = s.parent;
    return s;
  }
}
