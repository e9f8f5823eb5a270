/** A call site the compiler rewrote. See docs/stub-contract.md. */
export type SiteReason = "external" | "fetch" | "marked" | "nondeterministic";

export interface Site {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly callee: string;
  readonly reason: SiteReason;
  /** `file:line:column`, compared with `callee` on replay. */
  readonly id: string;
}

export function site(file: string, line: number, column: number, callee: string, reason: SiteReason): Site {
  return Object.freeze({ file, line, column, callee, reason, id: `${file}:${line}:${column}` });
}

/** `slack.chat.postMessage at program.ts:14:9`, the form every message uses. */
export function describeSite(s: Pick<Site, "callee" | "id">): string {
  return `${s.callee} at ${s.id}`;
}
