/** How the compiler names a place in messages. */
import type { SiteInfo } from "./types";

export function describeSiteLocation(s: Pick<SiteInfo, "file" | "line" | "column">): string {
  return `${s.file}:${s.line}:${s.column}`;
}
