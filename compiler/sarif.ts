/** SARIF 2.1.0 for `akts check --format sarif` and `akts diff --format sarif` (code-scanning tools read it). */
import { CODES, type Code } from "../errors/codes";
import type { AnalysisResult } from "./types";

export const SARIF_LEVEL = { error: "error", warning: "warning", info: "note" } as const;

export interface SarifResult {
  readonly ruleId: Code;
  readonly message: string;
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

/** A SARIF log of one run of akts: a rule per code that has a result, each result at its location, if it has one. */
export function sarifLog(results: readonly SarifResult[], version: string): object {
  const codes = [...new Set(results.map((r) => r.ruleId))].sort();
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "akts",
            version,
            rules: codes.map((code) => ({ id: code, shortDescription: { text: CODES[code].title }, defaultConfiguration: { level: SARIF_LEVEL[CODES[code].severity] } })),
          },
        },
        results: results.map((r) => ({
          ruleId: r.ruleId,
          level: SARIF_LEVEL[CODES[r.ruleId].severity],
          message: { text: r.message },
          locations: r.file === undefined ? [] : [{ physicalLocation: { artifactLocation: { uri: r.file }, region: { startLine: r.line, startColumn: r.column } } }],
        })),
      },
    ],
  };
}

export function toSarif(result: AnalysisResult, version: string): object {
  return sarifLog(
    result.diagnostics.map((d) => ({ ruleId: d.code, message: d.hint ? `${d.message} (${d.hint})` : d.message, file: d.file, line: d.line, column: d.column })),
    version,
  );
}
