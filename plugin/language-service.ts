/**
 * The editor plugin: `{ "name": "akts/language-service" }` in compilerOptions.plugins. It adds the findings of
 * `akts check` (the same analyzeFile) to the editor's diagnostics: errors and warnings as semantic diagnostics,
 * infos as suggestions.
 */
import type * as ts from "typescript";
import * as path from "node:path";
import { analyzeFile, validateOptions, type AktsCompilerOptions, type Diagnostic } from "../compiler";
import { AktsError, formatError } from "../errors";

const SOURCE = "akts";

function toTs(tsx: typeof ts, sf: ts.SourceFile, d: Diagnostic): ts.Diagnostic {
  const start = sf.getPositionOfLineAndCharacter(d.line - 1, d.column - 1);
  const word = /^[\w$.]+/.exec(sf.text.slice(start))?.[0] ?? "";
  return {
    file: sf,
    start,
    length: Math.max(1, word.length),
    messageText: `${d.code}: ${d.message}${d.hint ? ` (${d.hint})` : ""}`,
    category: d.severity === "error" ? tsx.DiagnosticCategory.Error : d.severity === "warning" ? tsx.DiagnosticCategory.Warning : tsx.DiagnosticCategory.Suggestion,
    code: Number(d.code.slice(4)),
    source: SOURCE,
  };
}

function init(modules: { typescript: typeof ts }): ts.server.PluginModule {
  const tsx = modules.typescript;

  function create(info: ts.server.PluginCreateInfo): ts.LanguageService {
    const ls = info.languageService;
    const projectName = info.project.getProjectName();
    const projectDir = projectName.endsWith(".json") ? path.dirname(projectName) : info.project.getCurrentDirectory();
    const { name: _name, ...raw } = (info.config ?? {}) as Record<string, unknown>;
    let options: AktsCompilerOptions = {};
    let configError: string | undefined;
    try {
      options = validateOptions(raw, { file: projectName, key: "compilerOptions.plugins" });
    } catch (err) {
      if (!(err instanceof AktsError)) throw err;
      configError = formatError(err);
      info.project.projectService.logger.info(`akts: ${configError}`);
    }

    const findings = (fileName: string): { sf: ts.SourceFile; diagnostics: Diagnostic[] } | undefined => {
      const program = ls.getProgram();
      const sf = program?.getSourceFile(fileName);
      if (!program || !sf || sf.isDeclarationFile) return undefined;
      return { sf, diagnostics: analyzeFile(tsx, program, sf, { ...options, projectDir: options.projectDir ? path.resolve(projectDir, options.projectDir) : projectDir }).diagnostics };
    };

    const proxy: ts.LanguageService = Object.create(null);
    for (const key of Object.keys(ls) as (keyof ts.LanguageService)[]) {
      const member = ls[key];
      (proxy as unknown as Record<string, unknown>)[key] = typeof member === "function" ? (member as Function).bind(ls) : member;
    }
    proxy.getSemanticDiagnostics = (fileName) => {
      const prior = ls.getSemanticDiagnostics(fileName);
      const found = findings(fileName);
      if (!found) return prior;
      const ours = found.diagnostics.filter((d) => d.severity !== "info").map((d) => toTs(tsx, found.sf, d));
      if (configError) ours.unshift({ file: found.sf, start: 0, length: 0, messageText: configError, category: tsx.DiagnosticCategory.Error, code: 9002, source: SOURCE });
      return [...prior, ...ours];
    };
    proxy.getSuggestionDiagnostics = (fileName) => {
      const prior = ls.getSuggestionDiagnostics(fileName);
      const found = findings(fileName);
      if (!found) return prior;
      return [...prior, ...found.diagnostics.filter((d) => d.severity === "info").map((d) => toTs(tsx, found.sf, d) as ts.DiagnosticWithLocation)];
    };
    return proxy;
  }

  return { create };
}

export = init;
