/**
 * The compiler's public surface. Pure: source in, findings and rewritten output out; the TypeScript namespace is a
 * parameter (`tsx`), so ts-patch and tsserver can hand over their own instance (5.9 or 6.x).
 *
 * - `findActivities(tsx, checker, sf, { projectDir, ...options }, program?)`: the activity sites of one file, in source
 *   order (`ActivityCall`: the node, its `SiteInfo`, and for merged chains / indirect calls how to rewrite them).
 *   `program` is optional; it only sharpens the test for TypeScript's own lib files.
 * - `createRewriteTransformer(tsx, program, { projectDir, ...options })`: a `before` transformer that rewrites each
 *   site into stub calls (docs/stub-contract.md).
 * - `validateOptions(raw, where, locateKey?)`: the plugin options, checked; unknown keys are an AKTS9002 error.
 * - `analyzeFile` / `analyzeProgram`: sites and determinism/serialization findings (what `akts check` reports);
 *   `byPosition` is their order.
 */
export { relativeFile } from "./project-files";
export { findActivities, type ActivityCall, type FindOptions, type SiteNode } from "./typescript/activities";
export { createRewriteTransformer, rewriteSourceFile, type RewriteOptions } from "./typescript/rewrite";
export { DEFAULT_RUNTIME } from "../stub-contract";
export type { IndirectCall } from "./typescript/resolve";
export { validateOptions } from "./options";
export type { AktsCompilerOptions, AnalysisResult, Diagnostic, SiteInfo, SiteReason } from "./types";
export { analyzeFile, analyzeProgram, byPosition } from "./typescript/analyze";
export { fingerprint, type ReplayShape, type FunctionShape, type Step } from "./replay-shape";
export { replayShape } from "./typescript/replay-shape";
export { diffShapes, type ShapeChange, type Verdict } from "./shape-diff";
