/**
 * The compiler's module graph: no module imports a module that imports it back (directly or through others), the
 * two front ends do not import each other, and nothing in compiler/ imports the runtime.
 */
import { expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import ts from "typescript";
import { ROOT } from "./helpers";

const COMPILER = path.join(ROOT, "compiler");

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []));
}

/** Every relative import and re-export of a file (type-only ones too: they are edges a reader follows), resolved. */
function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const out: string[] = [];
  for (const s of sf.statements) {
    const spec = (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier) ? s.moduleSpecifier.text : undefined;
    if (!spec?.startsWith(".")) continue;
    const base = path.resolve(path.dirname(file), spec);
    out.push([`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f)) ?? base);
  }
  return out;
}

const graph = new Map(sources(COMPILER).map((f) => [f, importsOf(f)]));
const rel = (f: string) => path.relative(ROOT, f);

/** The cycles of the graph, one per strongly connected component of more than one module (or a self-import). */
function cycles(): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (v: string) => {
    index.set(v, index.size);
    low.set(v, index.get(v)!);
    stack.push(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (stack.includes(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        component.push(rel(w));
        if (w === v) break;
      }
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

test("no module of compiler/ imports a module that imports it back", () => {
  expect(graph.size).toBeGreaterThan(20);
  expect(cycles()).toEqual([]);
});

test("the front ends are siblings: compiler/typescript and compiler/babel do not import each other", () => {
  const crossing = [...graph].flatMap(([from, tos]) =>
    tos
      .filter((to) => (rel(from).startsWith("compiler/typescript/") && rel(to).startsWith("compiler/babel/")) || (rel(from).startsWith("compiler/babel/") && rel(to).startsWith("compiler/typescript/")))
      .map((to) => `${rel(from)} -> ${rel(to)}`),
  );
  expect(crossing).toEqual([]);
});

test("compiler/ imports neither the runtime nor the CLI", () => {
  const outside = [...graph].flatMap(([from, tos]) => tos.filter((to) => /^(runtime|cli|integrations)\//.test(rel(to))).map((to) => `${rel(from)} -> ${rel(to)}`));
  expect(outside).toEqual([]);
});
