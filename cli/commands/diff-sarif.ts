/** `akts diff --format sarif`: breaking changes and diverging sessions as SARIF 2.1.0 results, for code scanning in CI. */
import { CODES, type Code } from "../../errors/codes";
import type { DiffReport } from "./diff";

const LEVEL = { error: "error", warning: "warning", info: "note" } as const;

/** `file:line:column` → a SARIF location (a file name may hold colons: the last two parts are the position). */
function location(at: string | undefined): object[] {
  const m = at === undefined ? null : /^(.*):(\d+):(\d+)$/.exec(at);
  return m ? [{ physicalLocation: { artifactLocation: { uri: m[1] }, region: { startLine: Number(m[2]), startColumn: Number(m[3]) } } }] : [];
}

export function diffSarif(report: DiffReport, version: string): object {
  const results: { ruleId: Code; message: string; at?: string }[] = [
    ...report.changes
      .filter((c) => c.verdict !== "safe")
      .map((c) => ({ ruleId: (c.verdict === "breaking" ? "AKTS5010" : "AKTS5011") as Code, message: c.guard ? `${c.message} (guard it: ${c.guard})` : c.message, at: c.new ?? c.old })),
    ...(report.sessions ?? [])
      .filter((s) => s.verdict === "diverges")
      .map((s) => ({ ruleId: "AKTS5012" as Code, message: `session ${s.session_id}: ${s.message}`, at: / code called .* at (\S+:\d+:\d+)/.exec(s.message ?? "")?.[1] })),
  ];
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
            rules: codes.map((code) => ({ id: code, shortDescription: { text: CODES[code].title }, defaultConfiguration: { level: LEVEL[CODES[code].severity] } })),
          },
        },
        results: results.map((r) => ({ ruleId: r.ruleId, level: LEVEL[CODES[r.ruleId].severity], message: { text: r.message }, locations: location(r.at) })),
      },
    ],
  };
}
