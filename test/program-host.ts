/**
 * A compiler host for tests that build many small TypeScript programs in one process: the declaration files they
 * all load (TypeScript's lib files, @types/node, the packages' types) are parsed once per process and shared, as an
 * editor's language service shares them, instead of once per program. The test's own files are read each time.
 */
import * as path from "node:path";
import ts from "typescript";
import { aktsInProcess, captureOutput, ROOT, type CliResult } from "./helpers";

const parsed = new Map<string, ts.SourceFile>();

/** Declaration files that do not change while tests run: TypeScript's libs and anything under node_modules. */
const shared = (fileName: string) => fileName.includes("/node_modules/") && fileName.endsWith(".d.ts");

export function programHost(options: ts.CompilerOptions, jsDocParsingMode?: ts.JSDocParsingMode): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  host.jsDocParsingMode = jsDocParsingMode;
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError, shouldCreate) => {
    if (!shared(fileName)) return read(fileName, languageVersion, onError, shouldCreate);
    const settings: ts.CreateSourceFileOptions = typeof languageVersion === "object" ? languageVersion : { languageVersion };
    const key = [fileName, settings.languageVersion, settings.impliedNodeFormat, settings.jsDocParsingMode ?? host.jsDocParsingMode].join("\0");
    let sf = parsed.get(key);
    if (!sf) {
      sf = read(fileName, languageVersion, onError, shouldCreate);
      if (sf) parsed.set(key, sf);
    }
    return sf;
  };
  return host;
}

/**
 * `akts check <args>` as the built CLI runs it, in this process and on `programHost`: for tests that check many
 * projects, where a process of its own per check would load TypeScript and parse its libs and the type packages
 * each time (most of a check's CPU).
 */
export function checkInProcess(args: string[]): Promise<CliResult> {
  const check = require(path.join(ROOT, "dist", "cli", "commands", "check.js")) as typeof import("../cli/commands/check");
  return captureOutput(() => check.run(args, programHost));
}

/**
 * `akts <args>` by the built CLI in this process, its compiles on `programHost`: for a test that compiles many
 * versions of a project (`akts diff` of each change), where a process of its own per command would load
 * TypeScript and parse its libs and the type packages each time.
 */
export function aktsOnProgramHost(args: string[]): Promise<CliResult> {
  return onProgramHost(() => aktsInProcess(args));
}

/**
 * Compiles a project into its `.akts/cache/` as `akts run` does, in this process on `programHost`: the run or
 * server the test starts next finds it there rather than loading TypeScript and parsing its libs for it.
 */
export function precompile(projectDir: string): Promise<void> {
  return onProgramHost(async () => {
    compileCache().compileProject(projectDir);
  });
}

const compileCache = () => require(path.join(ROOT, "dist", "cli", "compile-cache.js")) as typeof import("../cli/compile-cache");

async function onProgramHost<T>(fn: () => Promise<T>): Promise<T> {
  compileCache().useCompilerHost(programHost);
  try {
    return await fn();
  } finally {
    compileCache().useCompilerHost(undefined);
  }
}
