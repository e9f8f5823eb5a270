/**
 * The tests `npm run mutate` (stryker.config.mjs) runs against each mutant: those that exercise the runtime core in
 * their own process. Tests that drive the CLI run dist/, which a mutant of the sources never reaches.
 */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: [
      "test/runtime-engine.test.ts",
      "test/runtime-replay.test.ts",
      "test/site-table.test.ts",
      "test/codec.test.ts",
      "test/journal.test.ts",
      "test/lazy-record.test.ts",
      "test/crc.test.ts",
      "test/file-store.test.ts",
      "test/batch-log.test.ts",
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
