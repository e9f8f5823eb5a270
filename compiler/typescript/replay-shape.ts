/**
 * The replay shape of a TypeScript program (../replay-shape.ts): each function of workflow code walked for the
 * steps a session journals, the calls into project functions that make them, and the control flow around them.
 */
import type * as ts from "typescript";
import { findActivities, type FindOptions } from "./activities";
import { aktsExport, functionKinds, functionMark, type FunctionLike } from "./marks";
import { isTypeNodeKind } from "./bound-names";
import { isProjectFile, relativeFile } from "../project-files";
import { REPLAY_AKTS_CALLS } from "../rules/tables";
import type { FunctionShape, ReplayShape, Step } from "../replay-shape";
import type { ResolveContext } from "./context";

/** Steps that journal something; the rest (control flow, exits) matter only around them. */
const JOURNALING = new Set(["site", ...REPLAY_AKTS_CALLS]);

export function replayShape(tsx: typeof ts, program: ts.Program, opts: FindOptions): ReplayShape {
  const c: ResolveContext = { ts: tsx, checker: program.getTypeChecker(), program };
  const found = new Map<string, FunctionShape>();
  const keys = new Map<ts.Node, string>();
  for (const sf of program.getSourceFiles()) {
    if (sf.isDeclarationFile || program.isSourceFileFromExternalLibrary(sf) || !isProjectFile(sf.fileName, opts.projectDir)) continue;
    new FileWalk(c, sf, opts, found, keys).run();
  }
  // A call step stays when its function journals something, directly or through the functions it calls.
  const live = new Set<string>();
  for (let grew = true; grew; ) {
    grew = false;
    for (const fn of found.values()) {
      if (!live.has(fn.key) && fn.steps.some((s) => journals(s, live))) {
        live.add(fn.key);
        grew = true;
      }
    }
  }
  const functions = [...found.values()].filter((fn) => live.has(fn.key)).map((fn) => ({ ...fn, steps: prune(fn.steps, live) }));
  return { version: 1, functions };
}

function journals(step: Step, live: ReadonlySet<string>): boolean {
  if (JOURNALING.has(step.k) || (step.k === "call" && live.has(step.text!))) return true;
  return (step.blocks ?? []).some((b) => b.some((s) => journals(s, live)));
}

/** Drops calls of functions that journal nothing, then control flow left with nothing inside. */
function prune(steps: readonly Step[], live: ReadonlySet<string>): Step[] {
  return steps.flatMap((s): Step[] => {
    if (s.k === "call") return live.has(s.text!) ? [s] : [];
    if (!s.blocks) return [s];
    const blocks = s.blocks.map((b) => prune(b, live));
    const kept = s.k === "fn" ? blocks.some((b) => b.some((x) => journals(x, live))) : blocks.some((b) => b.length > 0);
    return kept ? [{ ...s, blocks }] : [];
  });
}

class FileWalk {
  private readonly t: typeof ts;
  private readonly file: string;
  private readonly sites = new Map<ts.Node, string>();
  private readonly printer: ts.Printer;
  private anonymous = 0;

  constructor(
    private readonly c: ResolveContext,
    private readonly sf: ts.SourceFile,
    private readonly opts: FindOptions,
    private readonly found: Map<string, FunctionShape>,
    private readonly keys: Map<ts.Node, string>,
  ) {
    this.t = c.ts;
    this.file = relativeFile(sf.fileName, opts.projectDir);
    this.printer = c.ts.createPrinter({ removeComments: true });
  }

  run(): void {
    for (const a of findActivities(this.t, this.c.checker, this.sf, this.opts, this.c.program)) this.sites.set(a.node, a.info.callee);
    const roots = (node: ts.Node): void => {
      if (this.isFunction(node)) this.define(node as FunctionLike, undefined);
      else this.t.forEachChild(node, roots);
    };
    roots(this.sf);
  }

  private isFunction(node: ts.Node): boolean {
    return functionKinds(this.t).has(node.kind);
  }

  private at(node: ts.Node): string {
    const { line, character } = this.sf.getLineAndCharacterOfPosition(node.getStart(this.sf));
    return `${this.file}:${line + 1}:${character + 1}`;
  }

  private print(node: ts.Node | undefined): string {
    return node ? this.printer.printNode(this.t.EmitHint.Unspecified, node, this.sf) : "";
  }

  /**
   * A condition or loop header, with what it reads that the shape would not show otherwise: the initializers of
   * the variables it names (`i < max` depends on `max`) and the bodies of the project functions it calls
   * (`if (shouldRetry(e))`), followed transitively. Initializers holding an activity are left out: replay answers
   * the activity from the journal, whatever its arguments.
   */
  private condition(node: ts.Node | undefined): string {
    if (!node) return "";
    const t = this.t;
    const reads = new Map<ts.Node, string>();
    const visit = (n: ts.Node): void => {
      if (t.isIdentifier(n)) {
        const decl = this.c.checker.getSymbolAtLocation(n)?.valueDeclaration;
        const init = decl && t.isVariableDeclaration(decl) ? decl.initializer : undefined;
        if (init && !reads.has(init) && decl!.getSourceFile() === this.sf && !this.holdsSite(init)) {
          reads.set(init, `${n.text}=${this.print(init)}`);
          visit(init);
        }
      }
      if (t.isCallExpression(n)) {
        const fn = this.target(n);
        if (fn?.body && !reads.has(fn) && !this.holdsSite(fn.body)) {
          reads.set(fn, `${this.keyOf(fn) ?? "function"}=${this.print(fn.body)}`);
          visit(fn.body);
        }
      }
      t.forEachChild(n, visit);
    };
    visit(node);
    return [this.print(node), ...reads.values()].join("; ");
  }

  private holdsSite(node: ts.Node): boolean {
    return this.sites.has(node) || this.t.forEachChild(node, (n) => (this.holdsSite(n) ? true : undefined)) === true;
  }

  /** The name a function is called by, if it has one. */
  private nameOf(fn: FunctionLike): string | undefined {
    const t = this.t;
    if (t.isConstructorDeclaration(fn)) return "constructor";
    if (fn.name && (t.isIdentifier(fn.name) || t.isStringLiteral(fn.name) || t.isPrivateIdentifier(fn.name))) return fn.name.text;
    let parent = fn.parent;
    while (t.isParenthesizedExpression(parent) || t.isAsExpression(parent) || t.isSatisfiesExpression(parent)) parent = parent.parent;
    if ((t.isVariableDeclaration(parent) || t.isPropertyAssignment(parent) || t.isPropertyDeclaration(parent)) && t.isIdentifier(parent.name)) return parent.name.text;
    if (t.isExportAssignment(parent)) return "default";
    return undefined;
  }

  /** The key of a named function: its file, the names it is declared inside, and its own. */
  private keyOf(fn: FunctionLike): string | undefined {
    const known = this.keys.get(fn);
    if (known) return known;
    const own = this.nameOf(fn);
    if (own === undefined) return undefined;
    const path = [own];
    for (let p = fn.parent; p && !this.t.isSourceFile(p); p = p.parent) {
      const name = this.isFunction(p) ? this.nameOf(p as FunctionLike) : this.t.isClassLike(p) ? p.name?.text : undefined;
      if (name) path.unshift(name);
    }
    const key = `${relativeFile(fn.getSourceFile().fileName, this.opts.projectDir)}#${path.join(".")}`;
    this.keys.set(fn, key);
    return key;
  }

  /** Records a function of workflow code under its key (an anonymous one at module level by its order). */
  private define(fn: FunctionLike, key: string | undefined): void {
    if (functionMark(this.c, fn)) return;
    const name = key ?? this.keyOf(fn) ?? `${this.file}#<anonymous ${++this.anonymous}>`;
    if (this.found.has(name)) return;
    this.found.set(name, { key: name, at: this.at(fn), steps: this.body(fn) });
  }

  private body(fn: FunctionLike): Step[] {
    const out: Step[] = [];
    for (const p of fn.parameters) this.visit(p, out);
    if (fn.body) this.visit(fn.body, out);
    return out;
  }

  private seq(node: ts.Node | undefined): Step[] {
    const out: Step[] = [];
    if (node) this.visit(node, out);
    return out;
  }

  /** The project function a call reaches, if its callee resolves to one. */
  private target(call: ts.CallExpression): FunctionLike | undefined {
    const t = this.t;
    const callee = t.isPropertyAccessExpression(call.expression) ? call.expression.name : call.expression;
    let sym = this.c.checker.getSymbolAtLocation(callee);
    if (sym && sym.flags & t.SymbolFlags.Alias) sym = this.c.checker.getAliasedSymbol(sym);
    let decl: ts.Node | undefined = sym?.valueDeclaration;
    if (decl && (t.isVariableDeclaration(decl) || t.isPropertyAssignment(decl) || t.isPropertyDeclaration(decl)) && decl.initializer) decl = decl.initializer;
    while (decl && (t.isParenthesizedExpression(decl) || t.isAsExpression(decl))) decl = decl.expression;
    if (!decl || !this.isFunction(decl)) return undefined;
    const sf = decl.getSourceFile();
    return sf.isDeclarationFile || !isProjectFile(sf.fileName, this.opts.projectDir) ? undefined : (decl as FunctionLike);
  }

  private visit(node: ts.Node, out: Step[]): void {
    const t = this.t;
    const k = t.SyntaxKind;
    if (node.kind <= k.LastToken || isTypeNodeKind(t, node.kind)) return;
    const each = (n: ts.Node) => this.visit(n, out);
    if (this.isFunction(node)) {
      const fn = node as FunctionLike;
      // A named function runs where it is called (a `call` step); an anonymous one (a callback) where it is written.
      const key = this.keyOf(fn);
      if (key !== undefined) this.define(fn, key);
      else if (!functionMark(this.c, fn)) out.push({ k: "fn", at: this.at(fn), blocks: [this.body(fn)] });
      return;
    }
    const callee = this.sites.get(node);
    if (callee !== undefined) {
      t.forEachChild(node, each);
      out.push({ k: "site", text: callee, at: this.at(node) });
      return;
    }
    if (t.isCallExpression(node)) {
      t.forEachChild(node, each);
      const api = aktsExport(this.c, node.expression);
      if (api && REPLAY_AKTS_CALLS.includes(api)) {
        out.push({ k: api, ...(api === "sleep" ? {} : { text: node.arguments.map((a) => this.print(a)).join(", ") }), at: this.at(node) });
        return;
      }
      const fn = this.target(node);
      const key = fn && this.keyOf(fn);
      if (key) out.push({ k: "call", text: key, at: this.at(node) });
      return;
    }
    if (t.isIfStatement(node) || t.isConditionalExpression(node)) {
      const cond = t.isIfStatement(node) ? node.expression : node.condition;
      this.visit(cond, out);
      const [yes, no] = t.isIfStatement(node) ? [node.thenStatement, node.elseStatement] : [node.whenTrue, node.whenFalse];
      out.push({ k: "if", text: this.condition(cond), at: this.at(node), blocks: [this.seq(yes), this.seq(no)] });
      return;
    }
    if (t.isBinaryExpression(node) && [k.AmpersandAmpersandToken, k.BarBarToken, k.QuestionQuestionToken].includes(node.operatorToken.kind)) {
      this.visit(node.left, out);
      out.push({ k: t.tokenToString(node.operatorToken.kind)!, text: this.condition(node.left), at: this.at(node), blocks: [this.seq(node.right)] });
      return;
    }
    if (t.isIterationStatement(node, false)) {
      this.loop(node, out);
      return;
    }
    if (t.isSwitchStatement(node)) {
      this.visit(node.expression, out);
      const blocks = node.caseBlock.clauses.map((clause) => [
        { k: "case", text: t.isCaseClause(clause) ? this.print(clause.expression) : "default", at: this.at(clause) },
        ...clause.statements.flatMap((s) => this.seq(s)),
      ]);
      out.push({ k: "switch", text: this.condition(node.expression), at: this.at(node), blocks });
      return;
    }
    if (t.isTryStatement(node)) {
      out.push({ k: "try", at: this.at(node), blocks: [this.seq(node.tryBlock), this.seq(node.catchClause?.block), this.seq(node.finallyBlock)] });
      return;
    }
    if (t.isReturnStatement(node) || t.isThrowStatement(node)) {
      t.forEachChild(node, each);
      out.push({ k: t.isReturnStatement(node) ? "return" : "throw", at: this.at(node) });
      return;
    }
    if (t.isBreakOrContinueStatement(node)) {
      out.push({ k: t.isBreakStatement(node) ? "break" : "continue", ...(node.label ? { text: node.label.text } : {}), at: this.at(node) });
      return;
    }
    t.forEachChild(node, each);
  }

  /** A loop: what its header evaluates once before it, and per iteration its test, body and update. */
  private loop(node: ts.IterationStatement, out: Step[]): void {
    const t = this.t;
    const body = this.seq(node.statement);
    if (t.isForStatement(node)) {
      if (node.initializer) this.visit(node.initializer, out);
      const head = [node.initializer, node.condition, node.incrementor].map((n) => this.condition(n)).join(" | ");
      out.push({ k: "loop", text: `for ${head}`, at: this.at(node), blocks: [[...this.seq(node.condition), ...body, ...this.seq(node.incrementor)]] });
    } else if (t.isForOfStatement(node) || t.isForInStatement(node)) {
      this.visit(node.expression, out);
      const kind = t.isForInStatement(node) ? "for in" : node.awaitModifier ? "for await" : "for of";
      out.push({ k: "loop", text: `${kind} ${this.condition(node.expression)}`, at: this.at(node), blocks: [body] });
    } else {
      const test = (node as ts.WhileStatement | ts.DoStatement).expression;
      const kind = t.isDoStatement(node) ? "do" : "while";
      out.push({ k: "loop", text: `${kind} ${this.condition(test)}`, at: this.at(node), blocks: [[...this.seq(test), ...body]] });
    }
  }
}
