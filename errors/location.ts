/** Where a finding or error points: a source position, a manifest key, or a byte offset in a journal. */
export interface Location {
  /** Path as shown to the user (relative to the project folder where one is known). */
  readonly file: string;
  /** 1-based line and column of a source or manifest position. */
  readonly line?: number;
  readonly column?: number;
  /** Manifest key path, e.g. `project.triggers[2].call`. */
  readonly key?: string;
  /** Byte offset inside a journal file. */
  readonly offset?: number;
}

export function formatLocation(loc: Location): string {
  let text = loc.file;
  if (loc.line !== undefined) text += `:${loc.line}${loc.column !== undefined ? `:${loc.column}` : ""}`;
  if (loc.offset !== undefined) text += `@${loc.offset}`;
  if (loc.key !== undefined) text += ` (${loc.key})`;
  return text;
}
