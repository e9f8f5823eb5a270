/** SARIF 2.1.0 for `akts check --format sarif` (code-scanning tools read it). */
import { CODES, type Code } from "../errors/codes";
import type { AnalysisResult } from "./types";

const LEVEL = { error: "error", warning: "warning", info: "note" } as const;

export function toSarif(result: AnalysisResult, version: string): object {
  const codes = [...new Set(result.diagnostics.map((d) => d.code))].sort() as Code[];
  return {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "akts",
            version,
            rules: codes.map((code) => ({ id: code, shortDescription: { text: CODES[code].title }, defaultConfiguration: { level: LEVEL[CODES[code].severity] } })),
          },
        },
        results: result.diagnostics.map((d) => ({
          ruleId: d.code,
          level: LEVEL[d.severity],
          message: { text: d.hint ? `${d.message} (${d.hint})` : d.message },
          locations: [{ physicalLocation: { artifactLocation: { uri: d.file }, region: { startLine: d.line, startColumn: d.column } } }],
        })),
      },
    ],
  };
}
