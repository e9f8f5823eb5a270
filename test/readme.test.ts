/**
 * Every example in the README holds: TypeScript blocks compile under `strict` against akts's types, YAML blocks
 * load as manifests, tsconfig blocks parse, and each `akts` command line uses a real command and only options its
 * `--help` lists.
 */
import { describe, expect, test } from "vitest";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { parseManifest } from "../runtime/manifest";
import { akts, ROOT, repoTempDir } from "./helpers";
import { programHost } from "./program-host";

const README = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
const blocks = [...README.matchAll(/^```(\w+)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1], text: m[2], line: README.slice(0, m.index).split("\n").length }));
const of = (...langs: string[]) => blocks.filter((b) => langs.includes(b.lang)).map((b) => [`README.md:${b.line}`, b.text] as const);

test("the README has examples of each kind", () => {
  expect(new Set(blocks.map((b) => b.lang))).toEqual(new Set(["sh", "ts", "jsonc", "yaml"]));
});

describe.each(of("ts"))("%s (TypeScript)", (_where, text) => {
  test("compiles under strict against akts's types", () => {
    const dir = repoTempDir("readme");
    const file = path.join(dir, "example.ts");
    fs.writeFileSync(file, text);
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      types: ["node"],
      skipLibCheck: true,
      paths: { akts: [path.join(ROOT, "dist/runtime/index.d.ts")] },
    };
    const program = ts.createProgram([file], options, programHost(options));
    const errors = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, " "));
    expect(errors).toEqual([]);
  });
});

describe.each(of("yaml"))("%s (manifest)", (where, text) => {
  test("loads", () => {
    expect(parseManifest(text, where).triggers.length).toBeGreaterThan(0);
  });
});

describe.each(of("jsonc"))("%s (tsconfig)", (where, text) => {
  test("parses, and names akts's plugins by their package paths", () => {
    const { config, error } = ts.parseConfigFileTextToJson(where, text);
    expect(error).toBeUndefined();
    for (const plugin of config.compilerOptions.plugins) expect(["akts/plugin", "akts/language-service"]).toContain(plugin.transform ?? plugin.name);
  });
});

/** Each `akts ...` line of the shell examples (`npx akts` and `npx --package=... akts` too). */
const commandLines = of("sh").flatMap(([where, text]) =>
  text
    .split("\n")
    .map((line) => /(?:^|&& |npx (?:--package=\S+ )?)akts (\w+)(.*?)(?:#|&&|$)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [where, m[1], m[2].trim()] as const),
);

test("the shell examples run akts", () => {
  expect(commandLines.map(([, command]) => command)).toEqual(expect.arrayContaining(["init", "event"]));
});

describe.each(commandLines)("%s: akts %s %s", (_where, command, rest) => {
  test("is a command, with options its --help lists", () => {
    const help = akts([command, "--help"]);
    expect(help.code, help.stderr).toBe(0);
    for (const option of rest.match(/(?<=^|\s)--?[a-z][\w-]*/g) ?? []) expect(help.stdout).toMatch(new RegExp(`(^|[ ,])${option}[ =,\\n]`, "m"));
  });
});
