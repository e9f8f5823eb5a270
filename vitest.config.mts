import * as path from "node:path";
import { configDefaults, defineConfig } from "vitest/config";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * The files that took longest in a full run on 2 cores, longest first (docs/testing.md). Vitest starts the files
 * it has timed before longest first, but a fresh clone has no timings, and by file size a short file that installs
 * packages from the registry would start last and leave the other workers idle at the end.
 */
const LONGEST = [
  "install", "crash", "store-layout", "sdk-cli", "versioning", "bounds", "transformer-tspc", "pg-crash", "compile-cache", "sweep", "cancel",
  "retries", "versioning-serve", "run-refuses-errors", "segment-log", "check-cli", "first-hour-cli", "language-service", "faults-pg", "serve",
  "sdk-shapes-crash", "pg-store", "bundle", "bounds-shared",
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.indexOf(path.basename(f.moduleId, ".test.ts"));
      return i === -1 ? LONGEST.length : i;
    };
    // Array.prototype.sort is stable: Vitest's own order holds among the rest.
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

/**
 * Files that start no process and share no state between files: they run in reused workers (isolate: false), which
 * import Vitest, TypeScript and the compiler once per worker rather than once per file (25% less CPU for these
 * files, docs/testing.md). A file that spawns, serves, or sets process-wide state stays out.
 */
const UNIT = [
  "babel-findings", "babel-parity", "babel", "codec", "compiler-activities", "compiler-imports", "compiler-rewrite", "crc", "diagnostics",
  "json-depth", "lazy-record", "manifest", "outcome-api", "semantics", "session-state", "site-table", "stub", "timeline", "runtime-engine",
].map((name) => `test/${name}.test.ts`);

/** Not tests of this suite: the projects tests write under test/.tmp/ (`akts init` writes a handler test). */
const EXCLUDE = [...configDefaults.exclude, "test/.tmp/**"];

export default defineConfig({
  test: {
    exclude: EXCLUDE,
    projects: [
      { extends: true, test: { name: "unit", include: UNIT, isolate: false } },
      { extends: true, test: { name: "processes", include: ["test/**/*.test.ts"], exclude: [...EXCLUDE, ...UNIT] } },
    ],
    // Room for files running side by side (below): a test that spawns the CLI shares the cores with the others.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    setupFiles: ["test/remove-temp-dirs.ts"],
    // Most tests wait on child processes (the CLI, a server, npm, PostgreSQL) rather than compute: more test files
    // than cores run at once. Vitest's default, one fewer than the cores, runs them one by one on 2 cores; with 3,
    // the cores of a quiet 2-core machine still idled (docs/testing.md).
    maxWorkers: 4,
    sequence: { sequencer: LongestFirst },
  },
});
