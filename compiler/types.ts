/** Shapes shared by the compiler's front ends and passes. Pure data: no TypeScript or Babel objects. */
import type { Code, Severity } from "../errors/codes";
import type { SiteReason } from "../stub-contract";

export type { SiteReason } from "../stub-contract";

/** A call the rewrite turns into a stub call. Positions are 1-based, at the start of the call expression. */
export interface SiteInfo {
  /** Path relative to the project folder, `/` separators. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** The callee as written, whitespace removed: `slack.chat.postMessage`, `fetch`, `Date.now`, `new Date`. */
  readonly callee: string;
  readonly reason: SiteReason;
}

/** A determinism or serialization finding, located in a source file. */
export interface Diagnostic {
  readonly code: Code;
  readonly severity: Severity;
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly message: string;
  readonly hint?: string;
}

/** What analyzing a project (or one file) produces. Sorted by file, line, column. */
export interface AnalysisResult {
  readonly sites: SiteInfo[];
  readonly diagnostics: Diagnostic[];
}

/** Options of the plugin (tsconfig `plugins` entry), the CLI and the Babel plugin. Unknown keys are an error. */
export interface AktsCompilerOptions {
  /** Module specifier rewritten code imports the stub from. Default `"akts/stub"`. */
  readonly runtime?: string;
  /** Specifier that `import ... from "akts"` is rewritten to (so handler and runner share one runtime). */
  readonly aktsModule?: string;
  /** Extra pure externals (`module:export`, `*` wildcard): never activities. */
  readonly allow?: readonly string[];
  /** Externals that are always activities. */
  readonly deny?: readonly string[];
  /** The project folder that site paths are relative to. Default: the tsconfig's folder. */
  readonly projectDir?: string;
}
