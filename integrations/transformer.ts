/**
 * The ts-patch entry: `{ "transform": "akts/plugin" }` in compilerOptions.plugins, built with `tspc`.
 * ts-patch hands over its own TypeScript instance, which the compiler uses throughout. The module's export is the
 * factory itself (`module.exports = fn`), which ts-patch accepts like a `default` export.
 */
import type * as ts from "typescript";
import * as path from "node:path";
// The rewrite and the options by their own modules: the compiler's index also loads the analysis, which a build never runs.
import { createRewriteTransformer } from "../compiler/typescript/rewrite";
import { validateOptions } from "../compiler/options";
import { AktsError, formatError } from "../errors";
import { pluginKeyLocator } from "./project";

interface TransformerExtras {
  readonly ts: typeof ts;
  /** ts-patch: reports a diagnostic with the program's own (tspc prints it and exits non-zero). */
  readonly addDiagnostic?: (diagnostic: ts.Diagnostic) => number;
}

function aktsTransformer(program: ts.Program, config: Record<string, unknown> | undefined, extras: TransformerExtras): ts.TransformerFactory<ts.SourceFile> {
  const configFile = program.getCompilerOptions().configFilePath as string | undefined;
  const shownAs = configFile ? path.relative(process.cwd(), configFile) || configFile : "tsconfig.json";
  let options;
  try {
    options = validateOptions(config, { file: shownAs, key: "compilerOptions.plugins" }, configFile ? pluginKeyLocator(extras.ts, configFile, shownAs) : undefined);
  } catch (err) {
    if (!(err instanceof AktsError) || !extras.addDiagnostic) throw err;
    // A user mistake: one line among the compiler's errors instead of a stack trace. Like any TypeScript error,
    // it fails the build; the files are emitted without the rewrite.
    const code = Number(err.code.slice(4));
    extras.addDiagnostic({ category: extras.ts.DiagnosticCategory.Error, code, file: undefined, start: undefined, length: undefined, messageText: formatError(err) });
    return () => (sf) => sf;
  }
  const configDir = configFile ? path.dirname(configFile) : program.getCurrentDirectory();
  // A relative projectDir is relative to the tsconfig, as paths in a tsconfig are.
  const projectDir = options.projectDir ? path.resolve(configDir, options.projectDir) : configDir;
  return createRewriteTransformer(extras.ts, program, { ...options, projectDir });
}

export = aktsTransformer;
