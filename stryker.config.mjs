/**
 * `npm run mutate [-- group ...]` (scripts/mutate.mjs): mutation testing of the runtime core, one Stryker run per
 * group of modules (scripts/mutation-groups.mjs, docs/testing.md), named by AKTS_MUTATE_GROUP. A group's mutants
 * are run against its unit-level tests (vitest.mutate.config.mts), and each against only the tests that cover it
 * (per-test coverage). One test runner, beside other work on a small machine; results are kept in reports/ so a
 * run after a change retests only what it touched.
 */
import { GROUPS } from "./scripts/mutation-groups.mjs";

const group = process.env.AKTS_MUTATE_GROUP;
if (!GROUPS[group]) throw new Error(`AKTS_MUTATE_GROUP must be one of ${Object.keys(GROUPS).join(", ")}: run npm run mutate`);

export default {
  testRunner: "vitest",
  vitest: { configFile: "vitest.mutate.config.mts", related: false },
  coverageAnalysis: "perTest",
  // Module-level code runs once, at import: its mutants could only be tested by re-running every test, which is
  // hours on this suite. They are left out of the score (docs/testing.md).
  ignoreStatic: true,
  mutate: GROUPS[group].mutate,
  ignorePatterns: ["bench/.work", "test/.tmp", "test/semantics/.out", "reports", ".stryker-tmp"],
  concurrency: 1,
  timeoutMS: 10_000,
  // The first run of a group's tests, with coverage measured per test, took over Stryker's 5 minutes beside other work.
  dryRunTimeoutMinutes: 20,
  incremental: true,
  incrementalFile: `reports/mutation/${group}-incremental.json`,
  // event-recorder writes each mutant's result as it is tested (reports/mutation/<group>-events/).
  reporters: ["clear-text", "progress-append-only", "html", "json", "event-recorder"],
  htmlReporter: { fileName: `reports/mutation/${group}.html` },
  jsonReporter: { fileName: `reports/mutation/${group}.json` },
  eventReporter: { baseDir: `reports/mutation/${group}-events` },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: `.stryker-tmp/${group}`,
};
