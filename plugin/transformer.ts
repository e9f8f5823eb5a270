/**
 * The ts-patch entry: `{ "transform": "akts/plugin" }` in compilerOptions.plugins, built with `tspc`.
 * ts-patch hands over its own TypeScript instance, which the compiler uses throughout.
 */
import type * as ts from "typescript";
import * as path from "node:path";
import { createRewriteTransformer, validateOptions } from "../compiler";

interface TransformerExtras {
  readonly ts: typeof ts;
}

function aktsTransformer(program: ts.Program, config: Record<string, unknown> | undefined, extras: TransformerExtras): ts.TransformerFactory<ts.SourceFile> {
  const configFile = program.getCompilerOptions().configFilePath as string | undefined;
  const options = validateOptions(config, { file: configFile ?? "tsconfig.json", key: "compilerOptions.plugins" });
  const projectDir = options.projectDir ?? (configFile ? path.dirname(configFile) : program.getCurrentDirectory());
  return createRewriteTransformer(extras.ts, program, { ...options, projectDir });
}

export = aktsTransformer;
