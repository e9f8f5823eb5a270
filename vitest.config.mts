import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    // Most tests wait on child processes (the CLI, a server, npm, PostgreSQL) rather than compute: more test files
    // than cores run at once. Vitest's default, one fewer than the cores, runs them one by one on 2 cores.
    maxWorkers: 4,
  },
});
