/** The tests `npm run mutate` runs against the mutants of one group of modules (scripts/mutation-groups.mjs). */
import { defineConfig } from "vitest/config";
import { GROUPS } from "./scripts/mutation-groups.mjs";

const group = GROUPS[process.env.AKTS_MUTATE_GROUP as keyof typeof GROUPS];

export default defineConfig({
  test: {
    include: group.tests,
    // A PostgreSQL server started once for the run rather than for every test run (test/pg-global-setup.ts).
    globalSetup: "globalSetup" in group ? group.globalSetup : [],
    // Each mutant is switched on at run time, so the modules need not be loaded again for every test run
    // (typescript alone took seconds): the mutation run's main cost.
    isolate: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
