/**
 * `npm run mutate`: mutation testing of the runtime core (docs/testing.md). Each mutant is run against the tests
 * that cover it (per-test coverage), one test runner at a time beside other work on a small machine; results are
 * kept in reports/ so a run after a change retests only the mutants it touched (incremental).
 */
export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.mts", related: false },
  coverageAnalysis: "perTest",
  mutate: [
    "runtime/api.ts",
    "runtime/replay.ts",
    "runtime/session-state.ts",
    "runtime/stub.ts",
    "runtime/codec.ts",
    "runtime/journal*.ts",
    "runtime/lazy-record.ts",
    "runtime/crc.ts",
    // The store's lease and fencing code (the rest of the store is I/O plumbing).
    "runtime/store/holder.ts",
    "runtime/store/file-store.ts:100-110",
    "runtime/store/file-store.ts:221-300",
    "runtime/store/file-store.ts:419-495",
  ],
  ignorePatterns: ["bench/.work", "test/.tmp", "test/semantics/.out", "reports"],
  concurrency: 2,
  timeoutMS: 20_000,
  incremental: true,
  incrementalFile: "reports/stryker-incremental.json",
  reporters: ["clear-text", "progress-append-only", "html", "json"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  jsonReporter: { fileName: "reports/mutation/mutation.json" },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: ".stryker-tmp",
};
