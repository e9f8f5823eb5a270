/**
 * `akts check [-p tsconfig.json] [--manifest autokitteh.yaml] [--format text|json|sarif] [--watch]`: the activity
 * sites and findings of a project. Exit 1 when there is an error (TypeScript's own errors included), else 0.
 * `--watch` re-reports on every save from an incremental program, for editors and TypeScript versions that cannot
 * load the editor plugin.
 */
import * as path from "node:path";
import type * as ts from "typescript";
import { analyzeProgram, byPosition } from "../../compiler";
import { toSarif } from "../../compiler/sarif";
import { CODES, AktsError, formatFinding } from "../../errors";
import type { AnalysisResult, Diagnostic } from "../../compiler/types";
import { parseArgs } from "../args";
import { loadProject, readProjectConfig, typescriptErrors, type ProjectConfig } from "../../integrations/project";
import { aktsVersion } from "../version";
import { loadTypeScript, typeScriptNoteFor } from "../typescript";

const FORMATS = ["text", "json", "sarif"] as const;
type Format = (typeof FORMATS)[number];
const isFormat = (f: string): f is Format => (FORMATS as readonly string[]).includes(f);

function manifestFindings(manifestPath: string, projectDir: string): Diagnostic[] {
  // Loaded only with --manifest: the YAML and cron parsers are not needed otherwise.
  const { loadManifest } = require("../../runtime/manifest") as typeof import("../../runtime/manifest");
  const manifest = loadManifest(manifestPath);
  return manifest.triggers
    .filter((t) => t.durable && t.sync)
    .map((t) => {
      const loc = t.syncLoc ?? t.loc;
      return {
        code: "AKTS1007",
        severity: CODES.AKTS1007.severity,
        file: path.relative(projectDir, manifest.path).replace(/\\/g, "/"),
        line: loc.line ?? 1,
        column: loc.column ?? 1,
        message: `trigger '${t.name}' is durable and is_sync: true: a replay can outlast the HTTP caller's wait`,
        hint: "use is_durable: false for HTTP APIs, or answer asynchronously",
      } satisfies Diagnostic;
    });
}

interface CheckRequest {
  readonly tsconfig: string;
  readonly manifest?: string;
  readonly format: Format;
  readonly watch: boolean;
}

function parseRequest(argv: string[]): CheckRequest {
  const args = parseArgs("check", argv, {
    options: { project: ["-p", "--project"], manifest: ["--manifest", "-m"], format: ["--format", "-f"] },
    flags: { watch: ["--watch", "-w"] },
  });
  const format = args.options.format ?? "text";
  if (!isFormat(format)) throw new AktsError("AKTS9001", `unknown --format '${format}' (use ${FORMATS.join(", ")})`);
  if (args.positional.length > 0) throw new AktsError("AKTS9001", `unexpected argument '${args.positional[0]}'`);
  if (args.flags.watch && format !== "text") throw new AktsError("AKTS9001", "--watch reports as text: leave out --format");
  return { tsconfig: args.options.project ?? "tsconfig.json", manifest: args.options.manifest, format, watch: args.flags.watch };
}

/** TypeScript's errors, the akts findings and the manifest's, in position order. */
function checkProgram(tsx: typeof ts, program: ts.Program, config: ProjectConfig, manifest: string | undefined): AnalysisResult {
  // TypeScript's own check first: it fills the checker's caches (resolved symbols, signatures, flow types) the
  // analysis then reads. Asked first, the analysis's queries compute much of that outside the caches and the
  // full check redoes it (about 2 s more CPU on the 500-file benchmark project).
  const tsErrors = typescriptErrors(tsx, program, config.projectDir);
  const analysis = analyzeProgram(tsx, program, { ...config.options, projectDir: config.projectDir });
  const extra = [...tsErrors, ...(manifest ? manifestFindings(manifest, config.projectDir) : [])];
  return { sites: analysis.sites, diagnostics: [...extra, ...analysis.diagnostics].sort(byPosition) };
}

const hasError = (result: AnalysisResult) => result.diagnostics.some((d) => d.severity === "error");

/**
 * Exit codes: 0 no error finding, 1 an error finding or a broken input, 2 a usage error. `createHost` makes the
 * program's compiler host: a caller that checks many projects in one process can pass one that shares the
 * declaration files they all load.
 */
export async function run(argv: string[], createHost?: (options: ts.CompilerOptions) => ts.CompilerHost): Promise<number> {
  const request = parseRequest(argv);
  const note = typeScriptNoteFor(request.tsconfig);
  if (note) process.stderr.write(`akts check: ${note}\n`);
  const tsx = loadTypeScript("akts check");
  if (request.watch) return watch(tsx, request);
  const project = loadProject(tsx, request.tsconfig, {}, createHost);
  const result = checkProgram(tsx, project.program, project, request.manifest);
  process.stdout.write(render(result, request.format));
  return hasError(result) ? 1 : 0;
}

/** Re-checks on every change of the project's files until the process is interrupted. */
function watch(tsx: typeof ts, request: CheckRequest): Promise<number> {
  const config = readProjectConfig(tsx, request.tsconfig);
  const host = tsx.createWatchCompilerHost(
    config.configPath,
    {},
    tsx.sys,
    tsx.createSemanticDiagnosticsBuilderProgram,
    () => {}, // TypeScript's errors are reported with the findings, as AKTS9003.
    () => {},
  );
  host.afterProgramCreate = (builder) => {
    const result = checkProgram(tsx, builder.getProgram(), config, request.manifest);
    const time = new Date().toLocaleTimeString();
    process.stdout.write(`[${time}] ${render(result, "text")}[${time}] watching for changes (Ctrl-C stops)\n`);
  };
  tsx.createWatchProgram(host);
  return new Promise(() => {});
}

function render(result: AnalysisResult, format: Format): string {
  switch (format) {
    case "json":
      return (
        JSON.stringify(
          {
            sites: result.sites.map(({ file, line, column, callee, reason }) => ({ file, line, column, callee, reason })),
            diagnostics: result.diagnostics.map(({ code, severity, file, line, column, message }) => ({ code, severity, file, line, column, message })),
          },
          null,
          2,
        ) + "\n"
      );
    case "sarif":
      return JSON.stringify(toSarif(result, aktsVersion()), null, 2) + "\n";
    case "text": {
      const lines = result.sites.map((s) => `${s.file}:${s.line}:${s.column}: activity (${s.reason}) ${s.callee}`);
      for (const d of result.diagnostics) lines.push(formatFinding({ ...d, location: { file: d.file, line: d.line, column: d.column } }));
      const errors = result.diagnostics.filter((d) => d.severity === "error").length;
      lines.push(`${result.sites.length} activity sites, ${result.diagnostics.length} findings (${errors} errors)`);
      return lines.join("\n") + "\n";
    }
  }
}
