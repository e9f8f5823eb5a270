/**
 * The stub contract (docs/stub-contract.md): what rewritten code names and the one string it hands the stub. The
 * compiler writes it and the runtime reads it, so both import it from here, as both import errors/.
 */

/** The namespace rewritten code imports the stub module as. */
export const STUB_NAMESPACE = "__akts";
/** The file's site table: rewritten calls are its methods, naming their site by its index. */
export const SITE_TABLE = `${STUB_NAMESPACE}_sites`;
/** The module specifier rewritten code imports the stub from, unless the `runtime` option says otherwise. */
export const DEFAULT_RUNTIME = "akts/stub";

/** Why a call is an activity site (the `reason` of `akts check --format json`). */
export const SITE_REASONS = ["external", "fetch", "marked", "nondeterministic"] as const;
export type SiteReason = (typeof SITE_REASONS)[number];

/** One row of a site table: a site's 1-based position, reason and callee label. */
export interface SiteRow {
  readonly line: number;
  readonly column: number;
  readonly reason: SiteReason;
  /** The callee as written, layout compacted: it holds no line break. */
  readonly callee: string;
}

/** A file's site table: `line:column reason callee` per site, one per line. */
export function formatSiteTable(rows: readonly SiteRow[]): string {
  return rows.map((s) => `${s.line}:${s.column} ${s.reason} ${s.callee}`).join("\n");
}

const TABLE_ROW = new RegExp(`^(\\d+):(\\d+) (${SITE_REASONS.join("|")}) (.+)$`);

/** The rows of a site table, in order; `file` names the table in the error a malformed row gets. */
export function parseSiteTable(file: string, table: string): SiteRow[] {
  return table.split("\n").map((row, i) => {
    const m = TABLE_ROW.exec(row);
    if (!m) throw new TypeError(`akts: row ${i + 1} of the site table of ${file} is not "line:column reason callee": ${JSON.stringify(row)}`);
    return { line: Number(m[1]), column: Number(m[2]), reason: m[3] as SiteReason, callee: m[4] };
  });
}
