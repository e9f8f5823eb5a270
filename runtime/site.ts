/** A call site the compiler rewrote. See docs/stub-contract.md. */
import { parseSiteTable, type SiteReason } from "../stub-contract";

export type { SiteReason } from "../stub-contract";

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

/**
 * The sites of one compiled file, in order, from its table (stub-contract's format). One string per file instead of
 * a `site()` call per site: the compiled file is shorter, and faster to emit and print.
 */
export function sites(file: string, table: string): Site[] {
  return parseSiteTable(file, table).map((r) => site(file, r.line, r.column, r.callee, r.reason));
}

/** `slack.chat.postMessage at program.ts:14:9`, the form every message uses. */
export function describeSite(s: Pick<Site, "callee" | "id">): string {
  return `${s.callee} at ${s.id}`;
}

/**
 * The callee as V8 prints it in "x is not a function": the site label is the source text, so TypeScript's `!` and casts in
 * parentheses are dropped, and so are parentheses and quotes around a member name (`(c["m"])` is `c.m`).
 */
export function nativeCallee(label: string): string {
  let text = label.replace(/!(?=[.?[(]|$)/g, "");
  while (enclosed(text)) text = text.slice(1, -1).replace(/^<[^>]*>/, "").replace(/ (?:as|satisfies)\b.*$/, "");
  return text.replace(/\[(["'`])([A-Za-z_$][\w$]*)\1\]/g, ".$2");
}

/** `(…)` as a whole, not `(a)(b)`. */
function enclosed(text: string): boolean {
  if (!text.startsWith("(")) return false;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === "(") depth++;
    else if (text[i] === ")" && --depth === 0) return i === text.length - 1;
  }
  return false;
}
