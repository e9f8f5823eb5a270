/**
 * The editor plugin: `{ "name": "akts/language-service" }` in compilerOptions.plugins. It adds the findings of
 * `akts check` to the editor's diagnostics, from the same analyzeFile with the same options (the tsconfig's
 * `akts/plugin` entry) and the same text (formatFinding): errors and warnings as semantic diagnostics, infos as
 * suggestions. tsserver loads it as CommonJS and calls the module itself: `module.exports = init`.
 */
import type * as ts from "typescript";
import * as path from "node:path";
import { analyzeFile, validateOptions, type Diagnostic, type FindOptions } from "../compiler";
import { AktsError, formatError, formatFinding } from "../errors";
import { readProjectConfig } from "./project";

const SOURCE = "akts";

function toTs(tsx: typeof ts, sf: ts.SourceFile, d: Diagnostic): ts.DiagnosticWithLocation {
  const start = sf.getPositionOfLineAndCharacter(d.line - 1, d.column - 1);
  const word = /^[\w$.]+/.exec(sf.text.slice(start))?.[0] ?? "";
  const category = d.severity === "error" ? tsx.DiagnosticCategory.Error : d.severity === "warning" ? tsx.DiagnosticCategory.Warning : tsx.DiagnosticCategory.Suggestion;
  const messageText = formatFinding({ code: d.code, severity: d.severity, message: d.message, hint: d.hint });
  return { file: sf, start, length: Math.max(1, word.length), messageText, category, code: Number(d.code.slice(4)), source: SOURCE };
}

/** The options `akts check` would use for this project, or the error that stops it. */
function projectOptions(tsx: typeof ts, info: ts.server.PluginCreateInfo): { options: FindOptions } | { error: AktsError } {
  const projectName = info.project.getProjectName();
  try {
    const own = validateOptions(info.config ?? {}, { file: projectName, key: "compilerOptions.plugins" });
    if (!projectName.endsWith(".json")) return { options: { ...own, projectDir: info.project.getCurrentDirectory() } };
    const config = readProjectConfig(tsx, projectName);
    const projectDir = own.projectDir ? path.resolve(path.dirname(projectName), own.projectDir) : config.projectDir;
    return { options: { ...config.options, ...own, projectDir } };
  } catch (err) {
    if (err instanceof AktsError) return { error: err };
    throw err;
  }
}

function init(modules: { typescript: typeof ts }): ts.server.PluginModule {
  const tsx = modules.typescript;

  function create(info: ts.server.PluginCreateInfo): ts.LanguageService {
    const ls = info.languageService;
    const logger = info.project.projectService.logger;
    const config = projectOptions(tsx, info);
    if ("error" in config) logger.info(`akts: ${formatError(config.error)}`);
    // Both diagnostic requests of a file share one analysis per program.
    const cache = new WeakMap<ts.Program, Map<string, ts.DiagnosticWithLocation[]>>();

    const findings = (fileName: string): ts.DiagnosticWithLocation[] => {
      const program = ls.getProgram();
      const sf = program?.getSourceFile(fileName);
      if (!program || !sf || sf.isDeclarationFile) return [];
      const byFile = cache.get(program) ?? new Map<string, ts.DiagnosticWithLocation[]>();
      cache.set(program, byFile);
      let found = byFile.get(fileName);
      if (!found) {
        if ("error" in config) {
          const e = config.error;
          found = [{ file: sf, start: 0, length: 0, messageText: formatError(e), category: tsx.DiagnosticCategory.Error, code: Number(e.code.slice(4)), source: SOURCE }];
        } else {
          found = analyze(program, sf, config.options);
        }
        byFile.set(fileName, found);
      }
      return found;
    };

    // A bug in akts must not take the editor's own diagnostics down with it: it is logged instead.
    const analyze = (program: ts.Program, sf: ts.SourceFile, options: FindOptions): ts.DiagnosticWithLocation[] => {
      try {
        return analyzeFile(tsx, program, sf, options).diagnostics.map((d) => toTs(tsx, sf, d));
      } catch (err) {
        logger.info(`akts: analysis of ${sf.fileName} failed: ${err instanceof Error ? err.stack : String(err)}`);
        return [];
      }
    };

    const proxy: ts.LanguageService = Object.create(null);
    for (const key of Object.keys(ls) as (keyof ts.LanguageService)[]) {
      const member = ls[key];
      (proxy as unknown as Record<string, unknown>)[key] = typeof member === "function" ? (member as Function).bind(ls) : member;
    }
    const isSuggestion = (d: ts.Diagnostic) => d.category === tsx.DiagnosticCategory.Suggestion;
    proxy.getSemanticDiagnostics = (fileName) => [...ls.getSemanticDiagnostics(fileName), ...findings(fileName).filter((d) => !isSuggestion(d))];
    proxy.getSuggestionDiagnostics = (fileName) => [...ls.getSuggestionDiagnostics(fileName), ...findings(fileName).filter(isSuggestion)];
    return proxy;
  }

  return { create };
}

export = init;
