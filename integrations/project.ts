/** Loads a handler project (its tsconfig) and emits it through the akts rewrite. The I/O side of the compiler. */
import type * as ts from "typescript";
import * as fs from "node:fs";
import * as path from "node:path";
// By module, not through the compiler's index: the transformer loads this file in every build (see transformer.ts).
import { createRewriteTransformer } from "../compiler/typescript/rewrite";
import { validateOptions } from "../compiler/options";
import type { AktsCompilerOptions, Diagnostic } from "../compiler/types";
import { AktsError, type Location } from "../errors";

export interface Project extends ProjectConfig {
  readonly program: ts.Program;
}

export function diagnosticLocation(tsx: typeof ts, d: ts.Diagnostic): Location | undefined {
  if (!d.file || d.start === undefined) return undefined;
  const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
  return { file: path.relative(process.cwd(), d.file.fileName) || d.file.fileName, line: line + 1, column: character + 1 };
}

function configError(tsx: typeof ts, d: ts.Diagnostic, configPath: string): AktsError {
  return new AktsError("AKTS9002", tsx.flattenDiagnosticMessageText(d.messageText, " "), {
    location: diagnosticLocation(tsx, d) ?? { file: configPath },
  });
}

/** Does a `transform` value name akts's transformer (`akts/plugin`, or a path to `integrations/transformer.js`)? */
function isAktsTransform(value: unknown): boolean {
  return typeof value === "string" && /(^|\/)akts\/plugin$|integrations\/transformer(\.js)?$/.test(value);
}

/** The akts entry of `compilerOptions.plugins` (`{ "transform": "akts/plugin", ... }`), if any. */
function pluginEntry(config: ts.ParsedCommandLine): unknown {
  const plugins = (config.options.plugins ?? []) as unknown as Record<string, unknown>[];
  return plugins.find((p) => isAktsTransform(p.transform));
}

/**
 * Finds a key of the akts plugin entry in a tsconfig's text: `key` → its line and column, for errors that point at
 * the offending option. Undefined when the entry is not in this file (it may come from an `extends` base).
 */
export function pluginKeyLocator(tsx: typeof ts, configPath: string, shownAs: string): (key: string) => Location | undefined {
  return (key) => {
    const json = tsx.readJsonConfigFile(configPath, tsx.sys.readFile);
    const root = json.statements[0]?.expression;
    const property = (obj: ts.Node | undefined, name: string) =>
      obj && tsx.isObjectLiteralExpression(obj)
        ? obj.properties.find((p): p is ts.PropertyAssignment => tsx.isPropertyAssignment(p) && tsx.isStringLiteral(p.name) && p.name.text === name)
        : undefined;
    const plugins = property(property(root, "compilerOptions")?.initializer, "plugins")?.initializer;
    if (!plugins || !tsx.isArrayLiteralExpression(plugins)) return undefined;
    const entry = plugins.elements.find((e) => {
      const transform = property(e, "transform")?.initializer;
      return transform !== undefined && tsx.isStringLiteral(transform) && isAktsTransform(transform.text);
    });
    const found = property(entry, key);
    if (!found) return undefined;
    const { line, character } = json.getLineAndCharacterOfPosition(found.getStart(json));
    return { file: shownAs, line: line + 1, column: character + 1, key: "compilerOptions.plugins" };
  };
}

export interface ProjectConfig {
  readonly projectDir: string;
  readonly configPath: string;
  readonly options: AktsCompilerOptions;
  readonly config: ts.ParsedCommandLine;
}

/** Reads and validates a tsconfig (and its akts plugin options) without building a program. */
export function readProjectConfig(tsx: typeof ts, tsconfigPath: string): ProjectConfig {
  const configPath = path.resolve(tsconfigPath);
  if (!fs.existsSync(configPath)) {
    throw new AktsError("AKTS9004", `tsconfig not found: ${tsconfigPath}`, { location: { file: tsconfigPath } });
  }
  const read = tsx.readConfigFile(configPath, tsx.sys.readFile);
  if (read.error) throw configError(tsx, read.error, configPath);
  const config = tsx.parseJsonConfigFileContent(read.config, tsx.sys, path.dirname(configPath), undefined, configPath);
  const fatal = config.errors.find((d) => d.category === tsx.DiagnosticCategory.Error && d.code !== 18003);
  if (fatal) throw configError(tsx, fatal, configPath);
  const shownAs = path.relative(process.cwd(), configPath) || configPath;
  const options = validateOptions(stripHostKeys(pluginEntry(config)), { file: shownAs, key: "compilerOptions.plugins" }, pluginKeyLocator(tsx, configPath, shownAs));
  const projectDir = options.projectDir ? path.resolve(path.dirname(configPath), options.projectDir) : path.dirname(configPath);
  return { projectDir, configPath, options, config };
}

/** `createHost`: a compiler host of the caller's (tests share parsed declaration files across programs). */
export function loadProject(tsx: typeof ts, tsconfigPath: string, overrides: ts.CompilerOptions = {}, createHost: (options: ts.CompilerOptions) => ts.CompilerHost = tsx.createCompilerHost): Project {
  const base = readProjectConfig(tsx, tsconfigPath);
  const { config } = base;
  const options = { ...config.options, ...overrides };
  const host = createHost(options);
  // As tsc does: a TypeScript file's JSDoc is parsed only where a type error needs it (the marks are read apart,
  // compiler/marks.ts), which spares parsing every package's documentation.
  host.jsDocParsingMode = tsx.JSDocParsingMode.ParseForTypeErrors;
  const program = tsx.createProgram({ rootNames: config.fileNames, options, projectReferences: config.projectReferences, host });
  return { ...base, program };
}

function stripHostKeys(entry: unknown): unknown {
  if (!entry || typeof entry !== "object") return entry;
  const { transform: _transform, ...rest } = entry as Record<string, unknown>;
  return rest;
}

export interface EmitResult {
  /** Absolute output path → text, JavaScript and source maps. */
  readonly files: Map<string, string>;
  readonly diagnostics: readonly ts.Diagnostic[];
}

/** Emits the project with the rewrite; nothing is written to disk unless `write` is set. */
export function emitProject(tsx: typeof ts, project: Project, opts: { outDir?: string; overrides?: Partial<AktsCompilerOptions>; write?: boolean } = {}): EmitResult {
  const files = new Map<string, string>();
  const { program } = project;
  const options = { ...project.options, ...opts.overrides, projectDir: project.projectDir };
  const outDir = opts.outDir ?? program.getCompilerOptions().outDir;
  const rootDir = program.getCompilerOptions().rootDir ?? project.projectDir;
  const writeFile: ts.WriteFileCallback = (fileName, text) => {
    const target = outDir && opts.outDir ? path.join(opts.outDir, path.relative(program.getCompilerOptions().outDir ?? rootDir, fileName)) : fileName;
    files.set(target, text);
    if (opts.write) {
      fs.mkdirSync(path.dirname(target), { recursive: true });
      fs.writeFileSync(target, text);
    }
  };
  const emit = program.emit(undefined, writeFile, undefined, false, { before: [createRewriteTransformer(tsx, program, options)] });
  const diagnostics = [...tsx.getPreEmitDiagnostics(program), ...emit.diagnostics];
  return { files, diagnostics };
}

/** TypeScript's own errors in the project, as AKTS9003 findings (paths relative to `projectDir`). */
export function typescriptErrors(tsx: typeof ts, program: ts.Program, projectDir: string): Diagnostic[] {
  return tsx
    .getPreEmitDiagnostics(program)
    .filter((d) => d.category === tsx.DiagnosticCategory.Error)
    .map((d) => {
      const pos = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start) : { line: 0, character: 0 };
      return {
        code: "AKTS9003",
        severity: "error",
        file: d.file ? path.relative(projectDir, d.file.fileName).replace(/\\/g, "/") : "tsconfig.json",
        line: pos.line + 1,
        column: pos.character + 1,
        message: `TS${d.code}: ${tsx.flattenDiagnosticMessageText(d.messageText, " ")}`,
      } satisfies Diagnostic;
    });
}
