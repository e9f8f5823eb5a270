/** The compiler's public surface. Pure: source in, findings and rewritten output out. */
export { findActivities, relativeFile, type ActivityCall, type FindOptions, type SiteNode } from "./activities";
export { createRewriteTransformer, rewriteSourceFile, DEFAULT_RUNTIME, type RewriteOptions } from "./rewrite";
export { validateOptions } from "./options";
export type { AktsCompilerOptions, AnalysisResult, Diagnostic, SiteInfo, SiteReason } from "./types";
export { analyzeFile, analyzeProgram } from "./analyze";
