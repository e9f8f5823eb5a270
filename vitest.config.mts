import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Room for files running side by side (below): a test that spawns the CLI shares the cores with the others.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: "forks",
    // Most tests wait on child processes (the CLI, a server, npm, PostgreSQL) rather than compute: more test files
    // than cores run at once. Vitest's default, one fewer than the cores, runs them one by one on 2 cores.
    maxWorkers: 3,
  },
});
