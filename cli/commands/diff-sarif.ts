/** `akts diff --format sarif`: breaking changes and diverging sessions as SARIF 2.1.0 results, for code scanning in CI. */
import { sarifLog, type SarifResult } from "../../compiler/sarif";
import type { Code } from "../../errors/codes";
import type { DiffReport } from "./diff";

/** A result at `file:line:column` (a file name may hold colons: the last two parts are the position). */
function result(ruleId: Code, message: string, at: string | undefined): SarifResult {
  const m = at === undefined ? null : /^(.*):(\d+):(\d+)$/.exec(at);
  return m ? { ruleId, message, file: m[1], line: Number(m[2]), column: Number(m[3]) } : { ruleId, message };
}

export function diffSarif(report: DiffReport, version: string): object {
  return sarifLog(
    [
      ...report.changes
        .filter((c) => c.verdict !== "safe")
        .map((c) => result(c.verdict === "breaking" ? "AKTS5010" : "AKTS5011", c.guard ? `${c.message} (guard it: ${c.guard})` : c.message, c.new ?? c.old)),
      ...(report.sessions ?? [])
        .filter((s) => s.verdict === "diverges")
        .map((s) => result("AKTS5012", `session ${s.session_id}: ${s.message}`, / code called .* at (\S+:\d+:\d+)/.exec(s.message ?? "")?.[1])),
    ],
    version,
  );
}
