/**
 * The one walk over a Program: builds the scopes of ./scope.ts and collects what the rules look at — calls and
 * `process.env` reads in workflow code (inside a function), and the `"akts"` specifiers `aktsModule` rewrites.
 * Nothing is decided during the walk, so a name used before its declaration (hoisting) still resolves.
 */
import type * as T from "@babel/types";
import { t } from "./babel-types";
import { LOCAL, Scope, type ClassOwner, type FunctionOwner } from "./scope";

/** Where a node sits, so the rewrite replaces it in place. */
export interface Slot {
  readonly parent: T.Node;
  readonly key: string;
  readonly index: number | null;
}

export type CallNode = T.CallExpression | T.OptionalCallExpression | T.TaggedTemplateExpression | T.NewExpression;

export interface Candidate<N extends T.Node = CallNode> {
  readonly node: N;
  readonly scope: Scope;
  readonly slot: Slot;
  /** Whose `var`s hold the rewrite's temporaries: the function, or for a parameter default what encloses it. */
  readonly holder: T.Function | T.Program;
  /** For a link of an optional chain: the chain's outermost link, which the rewrite rebuilds whole. */
  readonly chain: { readonly node: T.Expression; readonly slot: Slot } | undefined;
}

export interface Walked {
  /** Calls, tagged templates and `new` in workflow code, outer before inner. */
  readonly calls: Candidate[];
  readonly envReads: Candidate<T.MemberExpression>[];
  /** `x instanceof C` in workflow code. */
  readonly instanceofs: Candidate<T.BinaryExpression>[];
  /** The `"akts"` of `import`/`export ... from "akts"`, `require("akts")`, `import("akts")`. */
  readonly aktsSpecifiers: T.StringLiteral[];
}

/** Children that hold types only: never calls. */
const TYPE_KEYS: ReadonlySet<string> = new Set(["typeAnnotation", "returnType", "typeParameters", "typeArguments", "superTypeParameters", "implements", "predicate", "mixins"]);
const TYPE_DECLARATIONS: ReadonlySet<string> = new Set(["TSInterfaceDeclaration", "TSTypeAliasDeclaration", "TSDeclareFunction", "TSDeclareMethod", "TSIndexSignature"]);
/** What the walk needs of a node type: made once per type, and looked up once per node it enters. */
interface Plan {
  /** The child keys, the type-only ones left out. */
  readonly keys: readonly string[];
  /**
   * Nothing under it (a literal): visiting it would find nothing, and such nodes and names are most of a tree, so
   * the walk does not enter them. No case of `enter` handles such a node.
   */
  readonly leaf: boolean;
  /** A declaration of types only: no code runs there. */
  readonly types: boolean;
}
const PLANS = new Map<string, Plan>();
function planOf(type: string): Plan {
  let plan = PLANS.get(type);
  if (!plan) {
    const keys = t.VISITOR_KEYS[type].filter((k) => !TYPE_KEYS.has(k));
    PLANS.set(type, (plan = { keys, leaf: keys.length === 0, types: TYPE_DECLARATIONS.has(type) }));
  }
  return plan;
}

/** Nodes that name a function through a declaration whose doc comment marks it (`export const f = () => ...`). */
const DECLARING: ReadonlySet<string> = new Set(["VariableDeclarator", "VariableDeclaration", "ExportNamedDeclaration", "ExportDefaultDeclaration"]);

class Walker {
  readonly calls: Candidate[] = [];
  readonly envReads: Candidate<T.MemberExpression>[] = [];
  readonly instanceofs: Candidate<T.BinaryExpression>[] = [];
  private readonly specifiers: { literal: T.StringLiteral; scope: Scope; viaRequire: boolean }[] = [];
  // The ancestors of the node being visited (itself last), with the key and index each sits at.
  private readonly nodes: T.Node[] = [];
  private readonly keys: string[] = [];
  private readonly indices: (number | null)[] = [];
  private scope: Scope;
  private holder: T.Function | T.Program;
  private fnDepth = 0;
  /** The class whose body is being walked, for its methods. */
  private cls: ClassOwner | undefined;

  constructor(program: T.Program) {
    this.scope = new Scope(null, null, true);
    this.holder = program;
    this.nodes.push(program);
    this.keys.push("program");
    this.indices.push(null);
    this.children(program, planOf(program.type));
  }

  aktsSpecifiers(): T.StringLiteral[] {
    return this.specifiers.filter((s) => !s.viaRequire || s.scope.lookup("require") === undefined).map((s) => s.literal);
  }

  private visit(node: T.Node, key: string, index: number | null, plan = planOf(node.type)): void {
    if (plan.types || (node as { declare?: boolean }).declare === true) return;
    this.nodes.push(node);
    this.keys.push(key);
    this.indices.push(index);
    this.enter(node, plan);
    this.nodes.pop();
    this.keys.pop();
    this.indices.pop();
  }

  private children(node: T.Node, plan: Plan): void {
    for (const key of plan.keys) {
      const child = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(child)) this.each(child, key);
      else if (child && typeof (child as T.Node).type === "string") this.child(child as T.Node, key, null);
    }
  }

  /** The child at `key`, a node or nothing. */
  private one(child: T.Node | null | undefined, key: string): void {
    if (child) this.child(child, key, null);
  }

  /** The children at `key`, a list. */
  private each(list: readonly (T.Node | null | undefined)[], key: string): void {
    for (let i = 0; i < list.length; i++) {
      const child = list[i];
      if (child) this.child(child, key, i);
    }
  }

  /** A child, unless it is a leaf (a name is one unless it has decorators). */
  private child(child: T.Node, key: string, index: number | null): void {
    if (child.type === "Identifier") {
      if (child.decorators) this.visit(child, key, index);
      return;
    }
    const plan = planOf(child.type);
    if (!plan.leaf) this.visit(child, key, index, plan);
  }

  /** Children in a scope of their own. */
  private scoped(node: T.Node, plan: Plan, scope: Scope): void {
    const outer = this.scope;
    this.scope = scope;
    this.children(node, plan);
    this.scope = outer;
  }

  private enter(node: T.Node, plan: Plan): void {
    switch (node.type) {
      // The commonest types with nothing of their own to do, tested first: a switch on strings tests its cases in order.
      case "ObjectProperty":
      case "VariableDeclarator":
      case "AwaitExpression":
      case "ObjectExpression":
      case "ExpressionStatement":
      case "ReturnStatement":
        return this.children(node, plan);
      // Calls and member reads are most of the nodes walked: their children are read by name (VISITOR_KEYS's
      // order, type arguments left out) rather than through the generic loop's keyed reads.
      case "CallExpression":
        this.requireOrImport(node);
        if (this.fnDepth > 0) this.calls.push(this.candidate(node));
        this.one(node.callee, "callee");
        return this.each(node.arguments, "arguments");
      case "OptionalCallExpression":
      case "TaggedTemplateExpression":
      case "NewExpression":
        if (this.fnDepth > 0) this.calls.push(this.candidate(node));
        return this.children(node, plan);
      case "MemberExpression":
        if (this.fnDepth > 0 && isName(node.property, "env") && !node.computed && isName(node.object, "process")) this.envReads.push(this.candidate(node));
        this.one(node.object, "object");
        return this.one(node.property, "property");
      case "BinaryExpression":
        if (this.fnDepth > 0 && node.operator === "instanceof") this.instanceofs.push(this.candidate(node));
        return this.children(node, plan);
      case "FunctionDeclaration":
      case "FunctionExpression":
      case "ArrowFunctionExpression":
      case "ObjectMethod":
      case "ClassMethod":
      case "ClassPrivateMethod":
        return this.function(node);
      case "ClassDeclaration":
      case "ClassExpression":
        return this.class(node);
      case "ClassProperty":
      case "ClassPrivateProperty":
      case "ClassAccessorProperty":
        return this.field(node, plan);
      case "BlockStatement":
      case "ForStatement":
      case "ForInStatement":
      case "ForOfStatement":
      case "SwitchStatement":
        return this.scoped(node, plan, new Scope(this.scope, null, false));
      case "StaticBlock":
        return this.scoped(node, plan, new Scope(this.scope, null, true));
      case "CatchClause": {
        const scope = new Scope(this.scope, null, false);
        if (node.param) scope.declarePattern(node.param, LOCAL);
        return this.scoped(node, plan, scope);
      }
      case "VariableDeclaration": {
        const target = node.kind === "var" ? this.scope.varScope() : this.scope;
        for (const d of node.declarations) target.declarePattern(d.id, { kind: "variable", declarator: d, scope: this.scope, comments: this.declarationComments(node.leadingComments, d.leadingComments) });
        return this.children(node, plan);
      }
      case "ImportDeclaration":
        if (node.importKind === "type" || node.importKind === "typeof") return;
        for (const s of node.specifiers) {
          if (t.isImportSpecifier(s) && (s.importKind === "type" || s.importKind === "typeof")) continue;
          const imported = t.isImportDefaultSpecifier(s) ? "default" : t.isImportNamespaceSpecifier(s) ? undefined : t.isIdentifier(s.imported) ? s.imported.name : s.imported.value;
          this.scope.declare(s.local.name, { kind: "import", module: node.source.value, imported });
        }
        return this.specifier(node.source, false);
      case "ExportNamedDeclaration":
      case "ExportAllDeclaration":
        if (node.source) this.specifier(node.source, false);
        return this.children(node, plan);
      case "TSImportEqualsDeclaration":
        if (node.importKind === "type") return;
        if (t.isTSExternalModuleReference(node.moduleReference)) {
          this.scope.declare(node.id.name, { kind: "import", module: node.moduleReference.expression.value, imported: undefined });
          this.specifier(node.moduleReference.expression, false);
        } else {
          this.scope.declare(node.id.name, LOCAL);
        }
        return;
      case "TSEnumDeclaration":
        this.scope.declare(node.id.name, LOCAL);
        return;
      case "TSModuleDeclaration":
        if (t.isIdentifier(node.id)) this.scope.declare(node.id.name, LOCAL);
        return this.scoped(node, plan, new Scope(this.scope, null, true));
      default:
        return this.children(node, plan);
    }
  }

  private function(node: T.Function): void {
    const outer = this.scope;
    const outerHolder = this.holder;
    const cls = t.isClassMethod(node) || t.isClassPrivateMethod(node) ? this.cls : undefined;
    // Decorators and a computed key run where the method is defined, not in its body.
    if (t.isClassMethod(node) || t.isClassPrivateMethod(node) || t.isObjectMethod(node)) {
      node.decorators?.forEach((d, i) => this.visit(d, "decorators", i));
      if (node.computed) this.visit(node.key, "key", null);
    }
    const parent = this.nodes[this.nodes.length - 2];
    const owner: FunctionOwner = { node, parent, scope: outer, comments: this.functionComments(node), cls };
    if (t.isFunctionDeclaration(node) && node.id) outer.declare(node.id.name, { kind: "function", fn: owner });
    const scope = new Scope(outer, owner, true);
    if (t.isFunctionExpression(node) && node.id) scope.declare(node.id.name, LOCAL);
    for (const p of node.params) scope.declarePattern(p, LOCAL);
    this.scope = scope;
    this.cls = undefined;
    this.fnDepth++;
    node.params.forEach((p, i) => this.visit(p, "params", i));
    this.holder = node;
    this.visit(node.body, "body", null);
    this.fnDepth--;
    this.holder = outerHolder;
    this.cls = undefined;
    this.scope = outer;
  }

  private class(node: T.Class): void {
    const owner: ClassOwner = { node, scope: this.scope };
    if (t.isClassDeclaration(node) && node.id) this.scope.declare(node.id.name, { kind: "class", cls: owner });
    node.decorators?.forEach((d, i) => this.visit(d, "decorators", i));
    if (node.superClass) this.visit(node.superClass, "superClass", null);
    const outer = this.scope;
    if (t.isClassExpression(node) && node.id) {
      this.scope = new Scope(outer, null, false);
      this.scope.declare(node.id.name, { kind: "class", cls: owner });
    }
    this.nodes.push(node.body);
    this.keys.push("body");
    this.indices.push(null);
    node.body.body.forEach((member, i) => {
      this.cls = owner;
      this.visit(member, "body", i);
    });
    this.cls = undefined;
    this.nodes.pop();
    this.keys.pop();
    this.indices.pop();
    this.scope = outer;
  }

  /** An instance field's initializer runs in the constructor: workflow code. Its key and decorators run with the class. */
  private field(node: T.ClassProperty | T.ClassPrivateProperty | T.ClassAccessorProperty, plan: Plan): void {
    if (node.static || !node.value) return this.children(node, plan);
    node.decorators?.forEach((d, i) => this.visit(d, "decorators", i));
    if (!t.isClassPrivateProperty(node) && node.computed) this.visit(node.key, "key", null);
    this.fnDepth++;
    this.visit(node.value, "value", null);
    this.fnDepth--;
  }

  /** Doc comments of a function: its own, and those of the declaration naming it. */
  private functionComments(node: T.Function): T.Comment[] | undefined {
    let out: T.Comment[] | undefined = node.leadingComments ? [...node.leadingComments] : undefined;
    for (let i = this.nodes.length - 2; i > 0 && DECLARING.has(this.nodes[i].type); i--) {
      const c = this.nodes[i].leadingComments;
      if (c) (out ??= []).push(...c);
    }
    return out;
  }

  /** Doc comments of a variable: its declarator's, its declaration's and an `export`'s around it. */
  private declarationComments(declaration: readonly T.Comment[] | null | undefined, declarator: readonly T.Comment[] | null | undefined): T.Comment[] | undefined {
    const parent = this.nodes[this.nodes.length - 2];
    const exported = t.isExportNamedDeclaration(parent) ? parent.leadingComments : undefined;
    if (!declaration && !declarator && !exported) return undefined;
    return [...(declarator ?? []), ...(declaration ?? []), ...(exported ?? [])];
  }

  private candidate<N extends T.Node>(node: N): Candidate<N> {
    const top = this.nodes.length - 1;
    let chain: Candidate["chain"];
    if (node.type === "OptionalCallExpression") {
      let i = top;
      for (; i > 1; i--) {
        const parent = this.nodes[i - 1];
        if (!(t.isOptionalMemberExpression(parent) && this.keys[i] === "object") && !(t.isOptionalCallExpression(parent) && this.keys[i] === "callee")) break;
      }
      chain = { node: this.nodes[i] as T.Expression, slot: this.slotAt(i) };
    }
    return { node, scope: this.scope, slot: this.slotAt(top), holder: this.holder, chain };
  }

  private slotAt(i: number): Slot {
    return { parent: this.nodes[i - 1], key: this.keys[i], index: this.indices[i] };
  }

  private specifier(literal: T.StringLiteral, viaRequire: boolean): void {
    if (literal.value === "akts") this.specifiers.push({ literal, scope: this.scope, viaRequire });
  }

  /** `require("akts")`, `import("akts")`. */
  private requireOrImport(node: T.CallExpression): void {
    const arg = node.arguments[0];
    if (node.arguments.length !== 1 || arg.type !== "StringLiteral") return;
    if (node.callee.type === "Import") this.specifier(arg, false);
    else if (isName(node.callee, "require")) this.specifier(arg, true);
  }
}

function isName(n: T.Node, name: string): boolean {
  return n.type === "Identifier" && n.name === name;
}

export function walkProgram(program: T.Program): Walked {
  const w = new Walker(program);
  return { calls: w.calls, envReads: w.envReads, instanceofs: w.instanceofs, aktsSpecifiers: w.aktsSpecifiers() };
}
